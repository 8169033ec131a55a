"""`python -m crlx.train --env NAME ...`: tyro CLI -> Config -> `crlx.trainer.train`.

Flags take `--flag value` or `--flag=value`; nested fields are `--loss.energy l2`,
booleans take a value (`--loss.auto_entropy False`). Exit code 0 on success, 2 on a bad
config, a run dir in use, a non-finite training metric or a bad checkpoint, with the reason on
stderr; 130 / 143 when SIGINT / SIGTERM stopped the run (after a checkpoint: the last line says
how to resume).

    python -m crlx.train --config jaxgcrl --num_envs 128          # a shipped preset by name, then flags
    python -m crlx.train --config my_preset.yaml                  # or a YAML file
    python -m crlx.train --resume runs/ant-infonce-l2-s0-20261122-101500-123-a1b2c3  # continue a run
    python -m crlx.train --resume RUN_DIR --total_env_steps 20000000   # train a finished run further
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
from pathlib import Path
from typing import NamedTuple

from crlx.checkpoint import CheckpointError
from crlx.config import Config, ConfigError, value_sources
from crlx.interrupt import Interrupted
from crlx.trainer import NonFiniteError, train

PROG = "python -m crlx.train"


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
    """A YAML (or JSON) preset, a file or a shipped preset's name (see preset_path): a nested mapping
    of Config fields, applied over `base`."""
    path = preset_path(path)
    return Config.from_dict(_read_mapping(path, "--config"), base=base, source=str(path))


def preset_dirs() -> list[Path]:
    """Where shipped presets live: crlx/configs in an installed wheel, configs/ in a checkout."""
    package = Path(__file__).resolve().parent
    return [d for d in (package / "configs", package.parents[1] / "configs") if d.is_dir()]


def preset_names() -> list[str]:
    return sorted({p.stem for d in preset_dirs() for p in d.glob("*.yaml")})


def preset_path(value: str | Path) -> Path:
    """`--config VALUE` as a file: VALUE itself when it is a file, else the shipped preset it names
    (`jaxgcrl`, `jaxgcrl.yaml` or `configs/jaxgcrl.yaml`, found wherever crlx is installed)."""
    file = Path(value)
    if file.is_file():
        return file
    if file.parent in (Path("."), Path("configs")):
        name = file.name if file.suffix in (".yaml", ".yml", ".json") else f"{file.name}.yaml"
        for folder in preset_dirs():
            if (folder / name).is_file():
                return folder / name
    raise ConfigError(f"--config: no such file {str(file)!r}, nor a preset of that name; crlx's presets: "
                      f"{', '.join(preset_names())}.")


def extended(saved: Config, total_env_steps: int, run: Path) -> Config:
    """The config of run `run` trained on to `total_env_steps`: more epochs of the same size, so that
    its checkpoints and metrics continue (total_env_steps may round up to whole epochs)."""
    if total_env_steps <= saved.planned_env_steps:
        raise ConfigError(
            f"--total_env_steps {total_env_steps:,}: --resume {run} already plans {saved.planned_env_steps:,} env "
            "steps; pass more to extend it, or drop the flag to finish it as planned."
        )
    epochs = math.ceil(total_env_steps / saved.env_steps_per_epoch)
    cfg = saved.replace(total_env_steps=total_env_steps, num_epochs=epochs)
    if cfg.iterations_per_epoch != saved.iterations_per_epoch:
        cfg = saved.replace(total_env_steps=epochs * saved.env_steps_per_epoch, num_epochs=epochs)
    return cfg


class Command(NamedTuple):
    cfg: Config
    resume: Path | None
    sources: dict[str, str]  # dotted field -> "crlx", "env", "config", "resume" or "flag" (see value_sources)


def parse_command(argv: list[str] | None = None) -> Command:
    """tyro CLI over Config: `--num_envs 128`, `--num_envs=128`, `--loss.energy l2`, bools take values.

    Precedence, lowest first: crlx's Config defaults < the env's training defaults
    (crlx.envs.training_defaults) < the run scale (`--scale`) < `--config FILE` < `--resume RUN_DIR`'s
    config.json < other flags. The env (and the scale) is the one the flags name, else the config
    file's, else the saved run's, else crlx's default.
    `--config` takes a file or a shipped preset's name (preset_path). With --resume, flags that change
    the saved config are refused, except --total_env_steps above the run's plan, which extends it.
    """
    import tyro

    argv = list(sys.argv[1:] if argv is None else argv)
    config_file, argv = _pop_option(argv, "config")
    resume, argv = _pop_option(argv, "resume")
    data = {}
    if config_file is not None:
        config_file = str(preset_path(config_file))
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
        prog=PROG,
        use_underscores=True,
        config=(tyro.conf.FlagConversionOff,),
        description=(
            "Train contrastive RL (CRL) on a goal-conditioned env. Precedence, lowest first: crlx's defaults, "
            "the env's training defaults, the run scale (--scale; auto: sized for the device JAX finds), "
            "--config FILE (a YAML preset), --resume RUN_DIR (continue that run "
            "from its latest checkpoint, with its saved config), then these flags."
        ),
    )
    if resume is not None:
        changed = _changed_fields(base, cfg)
        if "total_env_steps" in changed:  # extends the run
            changed.remove("total_env_steps")
            cfg = extended(cfg.replace(total_env_steps=base.total_env_steps), cfg.total_env_steps, Path(resume))
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


def _yaml_loader():
    """yaml.SafeLoader that also reads 1e-5 as a float (YAML 1.1 wants 1.0e-5; JSON and YAML 1.2 do not)."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    exponent = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", exponent, list("-+0123456789"))
    return Loader


def _read_mapping(path: str | Path, flag: str) -> dict:
    """A YAML or JSON (.json) file holding a mapping of Config fields; a syntax error is a ConfigError
    naming the file, line and column."""
    import json

    import yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{flag}: no such file {str(file)!r}")
    try:
        text = file.read_text()
        if file.suffix == ".json":
            data = json.loads(text) or {}
        else:
            data = yaml.load(text, Loader=_yaml_loader()) or {}
    except json.JSONDecodeError as err:
        raise ConfigError(f"{flag}: {file}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}.") from None
    except yaml.YAMLError as err:  # a syntax error: the file, line and column where the parser stopped
        mark = getattr(err, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(file)
        problem = getattr(err, "problem", None) or str(err).strip().splitlines()[0]
        context, start = getattr(err, "context", None), getattr(err, "context_mark", None)
        if context and start is not None:
            problem += f" ({context} at line {start.line + 1}, column {start.column + 1})"
        raise ConfigError(f"{flag}: {where}: not valid YAML: {problem}.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{flag}: cannot read {str(file)!r}: {err}.") from None
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
    """The CLI: 0 done, 2 an error (one line on stderr), 130 / 143 stopped by SIGINT / SIGTERM."""
    try:
        cfg, resume, sources = parse_command(argv)
        result = train(cfg, resume=resume, sources=sources)
    except Interrupted as stopped:
        print(f"crlx: {stopped}", file=sys.stderr)
        return stopped.exit_code
    except KeyboardInterrupt:  # a second Ctrl-C, or one before training could catch it
        print("crlx: stopped by Ctrl-C at once, without a new checkpoint (earlier ones are kept).", file=sys.stderr)
        return 130
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
