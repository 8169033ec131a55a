"""`python -m crlx.train --env NAME ...`: tyro CLI -> Config -> `crlx.trainer.train`.

Flags take `--flag value` or `--flag=value`; nested fields are `--loss.energy l2`,
booleans take a value (`--loss.auto_entropy False`). Exit code 0 on success, 2 on a bad
config, a non-finite training metric or a bad checkpoint, with the reason on stderr.

    python -m crlx.train --config configs/ant.yaml --num_envs 128     # preset, then flags
    python -m crlx.train --resume runs/ant-infonce-l2-s0-20261122-101500  # continue a run
"""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path

from crlx.checkpoint import CheckpointError
from crlx.config import Config, ConfigError
from crlx.trainer import NonFiniteError, train


def _pop_option(argv: list[str], name: str) -> tuple[str | None, list[str]]:
    """Remove `--name VALUE` or `--name=VALUE` from argv; returns (VALUE or None, rest)."""
    rest, value, i = [], None, 0
    while i < len(argv):
        arg = argv[i]
        if arg == f"--{name}":
            if i + 1 >= len(argv):
                raise ConfigError(f"--{name} needs a value")
            value, i = argv[i + 1], i + 2
            continue
        if arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return value, rest


def load_config_file(path: str | Path, base: Config | None = None) -> Config:
    """A YAML (or JSON) preset: nested mapping of Config fields, applied over `base`."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"--config: no such file {str(file)!r}")
    data = yaml.safe_load(file.read_text()) or {}
    return Config.from_dict(data, base=base, source=str(file))


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    """tyro CLI over Config: `--num_envs 128`, `--num_envs=128`, `--loss.energy l2`, bools take values.

    Precedence: Config defaults < `--config FILE` < `--resume RUN_DIR`'s config.json < other flags.
    """
    import tyro

    argv = list(sys.argv[1:] if argv is None else argv)
    config_file, argv = _pop_option(argv, "config")
    resume, argv = _pop_option(argv, "resume")
    base = Config()
    if config_file is not None:
        base = load_config_file(config_file, base)
    if resume is not None:
        saved = Path(resume) / "config.json"
        if not saved.is_file():
            raise ConfigError(f"--resume: {str(saved)!r} not found; pass the directory of an earlier run.")
        base = load_config_file(saved, base)
    cfg = tyro.cli(
        Config,
        args=argv,
        default=base,
        use_underscores=True,
        config=(tyro.conf.FlagConversionOff,),
        description=(
            "Train contrastive RL (CRL) on a goal-conditioned env. Also: --config FILE (a YAML preset, "
            "overridden by the flags) and --resume RUN_DIR (continue that run from its latest checkpoint)."
        ),
    )
    if resume is not None:
        changed = _changed_fields(base, cfg)
        if changed:
            raise ConfigError(
                f"--resume continues {resume} with its saved config; these flags would change it: {changed}. "
                "Start a new run instead, or drop them."
            )
    return cfg, None if resume is None else Path(resume)


def _changed_fields(a, b, prefix: str = "") -> list[str]:
    """Dotted names of the fields that differ between configs a and b (host-side ones excepted)."""
    out = []
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(x):
            out += _changed_fields(x, y, f"{prefix}{f.name}.")
        elif x != y and f"{prefix}{f.name}" not in ("log.progress", "wandb.mode"):
            out.append(f"{prefix}{f.name}")
    return out


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, resume = parse_args(argv)
        result = train(cfg, resume=resume)
    except (ConfigError, NonFiniteError, CheckpointError) as err:
        print(f"crlx: error: {err}", file=sys.stderr)
        return 2
    last = result.history[-1]
    print(
        f"crlx: done: {last['env_steps']} env steps, eval/success={last['eval/success']:.3f}, "
        f"run dir {result.run_dir}"
    )
    return 0


class _CallableModule(types.ModuleType):
    """Importing this module rebinds the attribute `crlx.train` to it; calling it still trains,
    so `crlx.train(cfg)` means `crlx.trainer.train(cfg)` whether or not the CLI was imported."""

    def __call__(self, cfg: Config, resume: str | Path | None = None):
        return train(cfg, resume=resume)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    sys.exit(main())
