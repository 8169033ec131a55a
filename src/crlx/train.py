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
from typing import NamedTuple

from crlx.checkpoint import CheckpointError
from crlx.config import Config, ConfigError, value_sources
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
    return Config.from_dict(_read_mapping(path, "--config"), base=base, source=str(path))


class Command(NamedTuple):
    cfg: Config
    resume: Path | None
    sources: dict[str, str]  # dotted field -> "crlx", "env", "config", "resume" or "flag" (see value_sources)


def parse_command(argv: list[str] | None = None) -> Command:
    """tyro CLI over Config: `--num_envs 128`, `--num_envs=128`, `--loss.energy l2`, bools take values.

    Precedence, lowest first: crlx's Config defaults < the env's training defaults
    (crlx.envs.training_defaults) < `--config FILE` < `--resume RUN_DIR`'s config.json < other flags.
    The env is the one the flags name, else the config file's, else the saved run's, else crlx's default.
    """
    import tyro

    argv = list(sys.argv[1:] if argv is None else argv)
    config_file, argv = _pop_option(argv, "config")
    resume, argv = _pop_option(argv, "resume")
    data = {}
    if config_file is not None:
        data = _read_mapping(config_file, "--config")
    saved = {}
    if resume is not None:
        path = Path(resume) / "config.json"
        if not path.is_file():
            raise ConfigError(f"--resume: {str(path)!r} not found; pass the directory of an earlier run.")
        saved = _read_mapping(path, "--resume")
    env = _peek_option(argv, "env") or saved.get("env") or data.get("env") or Config.env
    if not isinstance(env, str):
        raise ConfigError(f"env must be a registered env name, got {env!r}.")
    from crlx.envs import ENVS, unknown_env_message

    if env not in ENVS:
        raise ConfigError(unknown_env_message(env))
    scale = _peek_option(argv, "scale") or saved.get("scale") or data.get("scale") or Config.scale
    base = Config.for_env(env, scale=scale)
    layers = {}
    if config_file is not None:
        base = layers["config"] = Config.from_dict(data, base=base, source=str(config_file))
    if resume is not None:
        base = layers["resume"] = Config.from_dict(saved, base=base, source=str(Path(resume) / "config.json"))
    cfg = tyro.cli(
        Config,
        args=argv,
        default=base,
        use_underscores=True,
        config=(tyro.conf.FlagConversionOff,),
        description=(
            "Train contrastive RL (CRL) on a goal-conditioned env. Precedence, lowest first: crlx's defaults, "
            "the env's training defaults, --config FILE (a YAML preset), --resume RUN_DIR (continue that run "
            "from its latest checkpoint, with its saved config), then these flags."
        ),
    )
    if resume is not None:
        changed = _changed_fields(base, cfg)
        if changed:
            raise ConfigError(
                f"--resume continues {resume} with its saved config; these flags would change it: {changed}. "
                "Start a new run instead, or drop them."
            )
    return Command(cfg, None if resume is None else Path(resume), value_sources(cfg, layers, last="flag"))


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    """(config, resume dir) of a command line; see parse_command."""
    command = parse_command(argv)
    return command.cfg, command.resume


def _peek_option(argv: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in argv (the last one), without removing it."""
    value, _ = _pop_option(list(argv), name)
    return value


def _read_mapping(path: str | Path, flag: str) -> dict:
    """A YAML or JSON file holding a mapping of Config fields."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{flag}: no such file {str(file)!r}")
    data = yaml.safe_load(file.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{flag}: {str(file)!r} must hold a mapping of config fields, got {type(data).__name__}.")
    return data


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
        cfg, resume, sources = parse_command(argv)
        result = train(cfg, resume=resume, sources=sources)
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

    def __call__(self, cfg: Config, resume: str | Path | None = None, sources: dict[str, str] | None = None):
        return train(cfg, resume=resume, sources=sources)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    sys.exit(main())
