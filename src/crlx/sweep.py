"""wandb sweep files without a wandb server: load a sweep YAML, expand its grid, and build the
command line that `wandb agent` would run for one grid point.

    sweep = load_sweep("configs/sweeps/losses_energies.yaml")
    points = grid(sweep)                      # [{"env": "reacher", ..., "loss.contrastive": "infonce", ...}, ...]
    argv = agent_argv(sweep, points[0])       # ["/usr/bin/env", "python", "-m", "crlx.train", "--env=reacher", ...]

Parameter names are dotted Config field paths (`loss.energy`, `critic.width`); with the command
macro `${args}` the agent passes each as `--loss.energy=l2`, which is exactly the crlx.train CLI.
`scripts/sweep_local.py` runs a whole grid sequentially on one machine.

Everything here is a pure function of its arguments (plus `os.environ` for `${envvar:NAME}`,
as in wandb); nothing imports jax or wandb.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# wandb's default when a sweep has no `command` (wandb/wandb_agent.py, Agent.DEFAULT_SWEEP_COMMAND).
DEFAULT_COMMAND = ["${env}", "${interpreter}", "${program}", "${args}"]
METHODS = ("grid", "random", "bayes")
_ENVVAR = re.compile(r"\$\{envvar:([A-Z0-9_]*)\}")


def load_sweep(path: str | Path) -> dict:
    """Read a wandb sweep YAML (with `yaml.safe_load`, as `wandb sweep` does) and check its shape.

    Returns the mapping unchanged. Raises ValueError naming the file when it is not a mapping, its
    `method` is not one of grid/random/bayes, `parameters` is missing or empty, or a parameter is
    neither `{value: X}` nor `{values: [...]}` (with a non-empty list) nor a distribution spec.
    """
    import yaml

    path = Path(path)
    sweep = yaml.safe_load(path.read_text())
    if not isinstance(sweep, dict):
        raise ValueError(f"{path}: a sweep file must be a YAML mapping, got {type(sweep).__name__}")
    if sweep.get("method") not in METHODS:
        raise ValueError(f"{path}: method must be one of {METHODS}, got {sweep.get('method')!r}")
    params = sweep.get("parameters")
    if not isinstance(params, dict) or not params:
        raise ValueError(f"{path}: `parameters` must be a non-empty mapping of name -> spec")
    for name, spec in params.items():
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: parameter {name!r} must be a mapping such as {{value: 1}}, got {spec!r}")
        if "values" in spec and (not isinstance(spec["values"], list) or not spec["values"]):
            raise ValueError(f"{path}: parameter {name!r}: `values` must be a non-empty list")
        if not ({"value", "values", "distribution", "min", "max", "parameters"} & spec.keys()):
            raise ValueError(f"{path}: parameter {name!r} has neither `value` nor `values`")
    command = sweep.get("command", DEFAULT_COMMAND)
    if not isinstance(command, list) or not all(isinstance(c, (str, int, float)) for c in command):
        raise ValueError(f"{path}: `command` must be a list of strings")
    return sweep


def grid(sweep: Mapping[str, Any]) -> list[dict]:
    """All grid points of a sweep: the cartesian product of every `values` list, each point also
    holding every `value` constant (the agent passes constants to each run too).

    Keys keep the YAML's parameter order; the product varies the last `values` parameter fastest.
    wandb's server may visit the points in another order; the set is the same. Raises ValueError
    for a parameter that a grid cannot enumerate (a distribution or nested `parameters`).
    """
    names, choices = [], []
    for name, spec in sweep["parameters"].items():
        if "values" in spec:
            choices.append(list(spec["values"]))
        elif "value" in spec:
            choices.append([spec["value"]])
        else:
            raise ValueError(
                f"parameter {name!r}: a grid needs `value` or `values`, got {sorted(spec)}; "
                "use flat dotted names (loss.energy) rather than nested `parameters`"
            )
        names.append(name)
    return [dict(zip(names, combo)) for combo in itertools.product(*choices)]


def swept(sweep: Mapping[str, Any]) -> list[str]:
    """Names of the parameters that take several values (`values`), in YAML order."""
    return [name for name, spec in sweep["parameters"].items() if "values" in spec]


def _flag_forms(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """The argument lists wandb builds for one run (wandb/sdk/launch/sweeps/utils.py,
    create_sweep_command_args): values are formatted with str(), so True -> `True`, None -> `None`."""
    forms: dict[str, list[str]] = {
        "args": [],
        "args_no_equals": [],
        "args_no_hyphens": [],
        "args_no_boolean_flags": [],
        "args_append_hydra": [],
        "args_override_hydra": [],
    }
    for name, value in params.items():
        flag = f"{name}={value}"
        forms["args"].append("--" + flag)
        forms["args_no_equals"] += [f"--{name}", str(value)]
        forms["args_no_hyphens"].append(flag)
        forms["args_append_hydra"].append("+" + flag)
        forms["args_override_hydra"].append("++" + flag)
        if isinstance(value, bool):
            if value:  # a false boolean is left out entirely
                forms["args_no_boolean_flags"].append("--" + name)
        else:
            forms["args_no_boolean_flags"].append("--" + flag)
    forms["args_json"] = [json.dumps(dict(params))]
    return forms


def agent_argv(
    sweep: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    python: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The argv `wandb agent` runs for one point `params` of `sweep` (its `command`, or wandb's
    default `${env} ${interpreter} ${program} ${args}`).

    Macros, as in wandb/wandb_agent.py: a token that is exactly `${name}` is replaced by a list:
    `${env}` -> `/usr/bin/env` (nothing on Windows), `${interpreter}` -> `python`, `${program}` ->
    the sweep's `program`, `${args}` -> `--name=value` per parameter (booleans as `--flag=True` /
    `--flag=False`, which is what crlx.train expects), `${args_no_boolean_flags}` -> `--flag` for
    true and nothing for false booleans, `${args_no_hyphens}`, `${args_no_equals}`, `${args_json}`,
    `${args_append_hydra}`, `${args_override_hydra}`; an unknown `${name}` expands to nothing, like
    in wandb. `${envvar:NAME}` inside any token becomes `environ[NAME]` (NAME itself when unset).
    `${args_json_file}` needs a file the agent writes and raises ValueError here.

    With `python` set (e.g. sys.executable), the argv runs in that interpreter instead of whatever
    `python` is on PATH: `${env}` expands to nothing, and `${interpreter}` as well as a literal
    `python`/`python3` token become `python`.
    """
    environ = os.environ if environ is None else environ
    command = [str(c) for c in (sweep.get("command") or DEFAULT_COMMAND)]
    command = [_ENVVAR.sub(lambda m: environ.get(m.group(1), m.group(1)), c) for c in command]
    macros = _flag_forms(params)
    macros["env"] = [] if python is not None or platform.system() == "Windows" else ["/usr/bin/env"]
    macros["interpreter"] = [python or "python"]
    macros["program"] = [str(sweep["program"])] if sweep.get("program") else []
    argv: list[str] = []
    for token in command:
        if token.startswith("${") and token.endswith("}"):
            name = token[2:-1]
            if name == "args_json_file":
                raise ValueError("${args_json_file} needs the file wandb agent writes; use ${args} instead")
            argv += macros.get(name, [])
        elif python is not None and token in ("python", "python3"):
            argv.append(python)
        else:
            argv.append(token)
    return argv
