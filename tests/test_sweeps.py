"""wandb sweep files in configs/sweeps/: they parse, name real Config fields with valid values, and
the command a wandb agent builds from them trains (tiny budget); scripts/sweep_local.py runs a grid."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import crlx
from crlx.sweep import agent_argv, grid, load_sweep, swept
from tests.conftest import subprocess_env
from tests.test_cli import TINY_FLAGS

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted((ROOT / "configs" / "sweeps").glob("*.yaml"))

# tests/test_cli.py's TINY_FLAGS in the `--key=value` form the agent uses; appended after the
# agent's argv, so they override the sweep's budget (the last occurrence of a flag wins).
def flag_pairs(flags: list[str]) -> dict[str, str]:
    """{'num_envs': '8', ...} from CLI flags written as `--key=value` or `--key value`."""
    pairs, rest = {}, list(flags)
    while rest:
        key = rest.pop(0).removeprefix("--")
        if "=" in key:
            key, value = key.split("=", 1)
        else:
            value = rest.pop(0)
        pairs[key] = value
    return pairs


TINY = {**flag_pairs(TINY_FLAGS), "wandb.mode": "disabled"}


def tiny_flags(skip=()) -> list[str]:
    return [f"--{k}={v}" for k, v in TINY.items() if k not in skip]


def field_paths(obj, prefix: str = "") -> set[str]:
    """Dotted paths of the leaf fields of a (nested) Config instance."""
    out = set()
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out |= field_paths(value, f"{prefix}{f.name}.")
        else:
            out.add(f"{prefix}{f.name}")
    return out


def get_path(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def apply(cfg, params: dict):
    """Config with dotted-path overrides, e.g. {"loss.energy": "l2"}."""
    for path, value in params.items():
        head, _, rest = path.partition(".")
        if rest:
            cfg = dataclasses.replace(cfg, **{head: apply(getattr(cfg, head), {rest: value})})
        else:
            cfg = dataclasses.replace(cfg, **{head: value})
    return cfg


def test_sweep_files_exist():
    assert {p.name for p in SWEEPS} >= {"losses_energies.yaml", "network_scale.yaml"}


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_sweep_file_is_a_valid_grid_over_config_fields(path):
    sweep = load_sweep(path)
    assert sweep["method"] == "grid" and sweep["project"] == "crlx"
    assert sweep["metric"] == {"name": "eval/success", "goal": "maximize"}
    assert sweep["command"] == ["${env}", "python", "-m", "crlx.train", "${args}"]
    params = sweep["parameters"]
    fields = field_paths(crlx.Config())
    unknown = sorted(set(params) - fields)
    assert not unknown, f"not Config fields: {unknown}"
    assert swept(sweep) and "seed" in swept(sweep)

    # every value, applied on top of the first grid point, gives a valid Config
    first = grid(sweep)[0]
    for name in swept(sweep):
        for value in params[name]["values"]:
            cfg = apply(crlx.Config(), {**first, name: value})
            cfg.validate()
    # YAML gave each value the field's own type (int, not str or float; bool, not str)
    for name, spec in params.items():
        default = get_path(crlx.Config(), name)
        for value in spec.get("values", [spec.get("value")]):
            if isinstance(default, float):
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (name, value)
            elif default is not None:
                assert type(value) is type(default), (name, value)
    # the agent passes every parameter as --name=value
    argv = agent_argv(sweep, first)
    assert argv[:4] == ["/usr/bin/env", "python", "-m", "crlx.train"] or os.name == "nt"
    assert len(argv) == 4 + len(params) and all(a.startswith("--") and "=" in a for a in argv[4:])
    for name, value in first.items():
        assert f"--{name}={value}" in argv  # str(True) == "True", which crlx.train's bools take


def test_losses_energies_covers_every_loss_and_energy():
    sweep = load_sweep(ROOT / "configs" / "sweeps" / "losses_energies.yaml")
    params = sweep["parameters"]
    assert set(params["loss.contrastive"]["values"]) == set(crlx.LOSSES)
    assert set(params["loss.energy"]["values"]) == set(crlx.ENERGIES)
    assert params["seed"]["values"] == [0, 1, 2]
    points = grid(sweep)
    assert len(points) == len(crlx.LOSSES) * len(crlx.ENERGIES) * 3
    assert len({(p["loss.contrastive"], p["loss.energy"], p["seed"]) for p in points}) == len(points)
    assert all(p["env"] == params["env"]["value"] for p in points)
    assert "--loss.auto_entropy=True" in agent_argv(sweep, points[0])
    # every loss x energy pair validates with the sweep's constants (e.g. mrn needs an even repr_dim)
    for p in points:
        if p["seed"] == 0:
            apply(crlx.Config(), p).validate()


def test_network_scale_sweeps_width_and_depth():
    sweep = load_sweep(ROOT / "configs" / "sweeps" / "network_scale.yaml")
    assert {"critic.width", "actor.width", "critic.depth", "actor.depth", "seed"} <= set(swept(sweep))
    for p in grid(sweep):
        assert p["critic.depth"] % p["critic.block_size"] == 0 and p["actor.depth"] % p["actor.block_size"] == 0


def test_agent_argv_macros():
    sweep = {"program": "train.py", "parameters": {}}
    params = {"a.b": 1, "flag": False, "on": True, "name": "x"}
    assert agent_argv(sweep, params) == ["/usr/bin/env", "python", "train.py", "--a.b=1", "--flag=False",
                                         "--on=True", "--name=x"] or os.name == "nt"
    sweep["command"] = ["${interpreter}", "${program}", "${args_no_boolean_flags}", "${envvar:CRLX_T}"]
    assert agent_argv(sweep, params, python="/py", environ={"CRLX_T": "v"}) == [
        "/py", "train.py", "--a.b=1", "--on", "--name=x", "v"]
    sweep["command"] = ["${env}", "python", "-m", "m", "${args_no_hyphens}", "${nonsense}"]
    assert agent_argv(sweep, {"k": 2}, python="/py") == ["/py", "-m", "m", "k=2"]
    sweep["command"] = ["python", "${args_json_file}"]
    with pytest.raises(ValueError, match="args_json_file"):
        agent_argv(sweep, {"k": 2})


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_agent_argv_matches_wandb(path):
    """Same flag lists as wandb's own builder (an internal function: skipped if it moves)."""
    utils = pytest.importorskip("wandb.sdk.launch.sweeps.utils")
    build = getattr(utils, "create_sweep_command_args", None)
    if build is None:
        pytest.skip("wandb moved create_sweep_command_args")
    sweep = load_sweep(path)
    point = grid(sweep)[-1]
    theirs = build({"args": {k: {"value": v} for k, v in point.items()}})
    for macro in ("args", "args_no_boolean_flags", "args_no_hyphens", "args_no_equals", "args_json"):
        mine = agent_argv({"command": ["${%s}" % macro]}, point)
        assert mine == theirs[macro], macro


def test_grid_and_load_errors(tmp_path):
    assert grid({"parameters": {"a": {"values": [1, 2]}, "b": {"value": "c"}, "d": {"values": [3, 4]}}}) == [
        {"a": 1, "b": "c", "d": 3}, {"a": 1, "b": "c", "d": 4}, {"a": 2, "b": "c", "d": 3}, {"a": 2, "b": "c", "d": 4}]
    with pytest.raises(ValueError, match="lr"):
        grid({"parameters": {"lr": {"distribution": "uniform", "min": 0.0, "max": 1.0}}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("method: grid\nparameters:\n  seed: 3\n")
    with pytest.raises(ValueError, match="seed"):
        load_sweep(bad)
    bad.write_text("method: hyperband\nparameters: {seed: {value: 1}}\n")
    with pytest.raises(ValueError, match="method"):
        load_sweep(bad)


class Launched:
    """A subprocess started in the background, its output in files (no pipe to fill up)."""

    def __init__(self, cmd: list[str], cwd: Path):
        self.cmd, self.cwd = cmd, cwd
        self.out, self.err = (cwd / "stdout.txt").open("w"), (cwd / "stderr.txt").open("w")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=subprocess_env(), stdout=self.out, stderr=self.err, text=True)

    def wait(self, timeout: float = 600) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=timeout)
        self.out.close(), self.err.close()
        return code, (self.cwd / "stdout.txt").read_text(), (self.cwd / "stderr.txt").read_text()


def agent_command(path: Path, run_dir: Path) -> list[str]:
    """The exact argv a wandb agent runs for the first grid point, with this interpreter in place of
    `/usr/bin/env python`, plus tiny-budget flags; swept values are kept (critic.width stays as swept)."""
    sweep = load_sweep(path)
    argv = agent_argv(sweep, grid(sweep)[0])
    assert argv[:2] == ["/usr/bin/env", "python"] or os.name == "nt"
    argv = [sys.executable, *argv[argv.index("python") + 1:]]
    assert argv == agent_argv(sweep, grid(sweep)[0], python=sys.executable)
    return [*argv, *tiny_flags(skip=swept(sweep)), f"--log.run_dir={run_dir}", "--log.run_name=agent"]


def sweep_local_command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "scripts" / "sweep_local.py"), str(ROOT / "configs" / "sweeps" / "losses_energies.yaml"),
            "--out", str(out), *extra]


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """Start every training subprocess of this module at once (each is mostly single-threaded
    compiling), so that the module's wall time stays near that of the slowest one."""
    jobs = {}
    for path in SWEEPS:
        work = tmp_path_factory.mktemp(f"agent-{path.stem}")
        jobs[path.stem] = Launched(agent_command(path, work), work)
    work = tmp_path_factory.mktemp("sweep_local")
    jobs["sweep_local"] = Launched(sweep_local_command(work / "out", "--limit", "2", "--", *tiny_flags()), work)
    yield jobs
    for job in jobs.values():
        if job.proc.poll() is None:
            job.proc.kill()
            job.wait()


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_agent_command_of_first_grid_point_trains(path, launched):
    job = launched[path.stem]
    code, _, err = job.wait()
    assert code == 0, err[-3000:]
    rows = [json.loads(line) for line in (job.cwd / "agent" / "metrics.jsonl").read_text().splitlines()]
    assert rows and "eval/success" in rows[-1] and rows[-1]["env_steps"] == 320
    config = json.loads((job.cwd / "agent" / "config.json").read_text())
    sweep = load_sweep(path)
    first = grid(sweep)[0]
    for name in swept(sweep):
        assert get_path_dict(config, name) == first[name], name
    assert config["env"] == "point_mass" and config["wandb"]["mode"] == "disabled"


def get_path_dict(tree: dict, path: str):
    for part in path.split("."):
        tree = tree[part]
    return tree


def test_sweep_local_runs_two_points(launched, tmp_path):
    job = launched["sweep_local"]
    code, stdout, err = job.wait()
    assert code == 0, stdout[-2000:] + err[-3000:]
    out = job.cwd / "out"
    with (out / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and [r["status"] for r in rows] == ["0", "0"]
    assert [r["seed"] for r in rows] == ["0", "1"] and {r["loss.contrastive"] for r in rows} == {"infonce"}
    for r in rows:
        assert 0.0 <= float(r["eval/success"]) <= 1.0 and float(r["perf/env_steps_per_s"]) > 0
        assert r["eval/final_dist"] and r["critic/accuracy"] and r["env_steps"] == "320"
        assert (out / "runs" / r["run"] / "metrics.jsonl").is_file()
        assert (out / "logs" / f"{r['run']}.log").is_file()
    md = (out / "summary.md").read_text().strip().splitlines()
    assert len(md) == 2 + 2 and "eval/success" in md[0] and "status" in md[0]
    assert all(line.rstrip(" |").endswith("0") for line in md[2:])
    # --dry-run prints one command per point and runs nothing
    dry = subprocess.run(sweep_local_command(tmp_path / "dry", "--limit", "3", "--dry-run"),
                         env=subprocess_env(), capture_output=True, text=True, timeout=120)
    commands = [line for line in dry.stdout.splitlines() if " -m crlx.train " in line]
    assert dry.returncode == 0 and len(commands) == 3 and not (tmp_path / "dry").exists()
    assert all("--wandb.mode=disabled" in c and "--log.run_name=00" in c for c in commands)
