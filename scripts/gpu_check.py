"""crlx on a GPU in one command, online or offline, in at most ~9 minutes of phases.

    python scripts/gpu_check.py [--wheels DIR] [--out gpu_check] [--budget_s 540] [--only a b ...]
    python scripts/gpu_check.py --download_wheels DIR [--python_version 3.12]   # on a networked machine

Environment: the JAX this interpreter finds is used when it sees a GPU; crlx runs from src/ (no
build step), and only the packages crlx needs that are missing are installed, without their
dependencies (so a preinstalled CUDA JAX is never replaced), into OUT/site: from `--wheels DIR`
when given (no network), else from the package index. With no JAX that sees a GPU and no
`--wheels`, a venv OUT/venv gets `pip install -e ".[dev,cuda]"` and the check runs in it.
`--download_wheels DIR` fills DIR on a networked machine with the wheels such an offline machine
lacks beside a JAX + CUDA image (mujoco, mujoco-mjx, brax and the rest, ~54 MiB; metaworld for the
Meta-World scenes; mujoco-warp and warp-lang with `--warp`), for the target's Python version.

Phases, in priority order, one subprocess on the GPU at a time, each time-boxed (a phase never
runs past the budget left); after each phase OUT/gpu_check.json and OUT/gpu_check.md are written,
so a check cut off early still returns every phase before the cut:
  a  versions, devices, the GPU smoke tests
  b  `python -m crlx.train --env ant` to 10M env steps (its device scale) with its learning curve,
     deterministic and sampled-action evaluation
  c  training throughput on ant at 256 / 1024 / 4096 envs: JaxGCRL's schedule (ant's default) and
     crlx's light schedule (1 sampled transition per env step), 1 and 4 seeds
  d  Meta-World env steps/s (mw_push_back at 1024 and 4096 envs; scripts/metaworld_speed.py when present)
  e  ant at configs/jaxgcrl.yaml with 1024 envs and JaxGCRL's ratio (4000 updates) to 10M, seed 1
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = {
    "a": ("versions, devices, smoke tests", 75),
    "b": ("ant, crlx's default command, 10M env steps", 180),
    "c": ("ant training throughput", 100),
    "d": ("Meta-World env steps/s", 120),
    "e": ("ant, configs/jaxgcrl.yaml at 1024 envs, 10M env steps", 150),
}
"""phase -> (title, seconds at most)"""
SMOKE_TESTS = ["tests/test_energy.py", "tests/test_contrastive.py", "tests/test_buffer.py", "tests/test_xla_flags.py"]
OFFLINE_WHEELS = ["mujoco", "mujoco-core", "mujoco-mjx", "brax", "jaxopt", "trimesh", "glfw", "tyro",
                  "docstring-parser", "typeguard", "ml-collections", "tqdm", "pyyaml", "metaworld"]
"""what a JAX + CUDA image (jax, flax, optax, orbax-checkpoint, numpy, scipy, matplotlib, pytest)
lacks for crlx; versions: those installed where --download_wheels runs"""
WARP_WHEELS = ["mujoco-warp", "warp-lang"]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64"]


def download_wheels(out: Path, python_version: str, warp: bool) -> None:
    """pip download --no-deps of OFFLINE_WHEELS (+ WARP_WHEELS) at this machine's installed versions."""
    from importlib import metadata

    out.mkdir(parents=True, exist_ok=True)
    for name in OFFLINE_WHEELS + (WARP_WHEELS if warp else []):
        try:
            spec = f"{name}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            spec = name
        platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", python_version, "--implementation", "cp", *platforms, "-d", str(out),
                        spec], check=True)
        print(f"downloaded {spec}")


class Check:
    """The results so far, written to OUT/gpu_check.json and .md after every phase."""

    def __init__(self, out: Path, budget_s: float):
        self.out, self.budget_s, self.start = out, budget_s, time.monotonic()
        self.result = {"date": datetime.date.today().isoformat(), "phases": {}}
        self.env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false", WANDB_MODE="disabled", MPLBACKEND="Agg",
                        PYTHONPATH=os.pathsep.join(filter(None, [str(out / "site"), str(ROOT / "src"), str(ROOT),
                                                                 os.environ.get("PYTHONPATH")])))
        self.python = sys.executable

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.start)

    def run(self, cmd: list[str], limit: float, log: str) -> tuple[int, float]:
        """Run cmd (cwd ROOT) for at most `limit` seconds, output to OUT/<log>; (exit code, seconds)."""
        t0 = time.monotonic()
        with open(self.out / log, "w") as f:
            try:
                code = subprocess.run(cmd, cwd=ROOT, env=self.env, stdout=f, stderr=subprocess.STDOUT,
                                      timeout=max(1.0, limit)).returncode
            except subprocess.TimeoutExpired:
                code = 124
        return code, time.monotonic() - t0

    def save(self) -> None:
        (self.out / "gpu_check.json").write_text(json.dumps(self.result, indent=1))
        (self.out / "gpu_check.md").write_text(summary(self.result))


def missing_requirements() -> list[str]:
    """crlx's dependencies (pyproject) that no installed distribution satisfies, in a subprocess-free check."""
    import tomllib
    from importlib import metadata

    try:
        from packaging.requirements import Requirement
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    missing = []
    for text in deps:
        req = Requirement(text)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            missing.append(text)
            continue
        if not req.specifier.contains(version, prereleases=True):
            missing.append(text)
    return missing


def probe(python: str, env: dict) -> dict | None:
    """{"jax", "jaxlib", "backend", "devices"} of `python`'s JAX, or None without JAX."""
    code = ("import json, jax, jaxlib; print(json.dumps({'jax': jax.__version__, 'jaxlib': jaxlib.__version__, "
            "'backend': jax.default_backend(), 'devices': [str(d) for d in jax.devices()]}))")
    out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    if out.returncode:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(check: Check, wheels: Path | None, allow_cpu: bool = False) -> None:
    """A JAX that sees a GPU, and crlx's missing dependencies in OUT/site (see the module docstring)."""
    found = probe(check.python, check.env)
    if found is not None and found["backend"] == "cpu" and allow_cpu:
        pass
    elif found is None or found["backend"] == "cpu":
        if wheels is not None:
            raise SystemExit(f"gpu_check: this Python's JAX {'is missing' if found is None else 'sees no GPU'}; "
                             "install JAX with CUDA (pip install 'jax[cuda13]') or run where one is.")
        venv = check.out / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", "-e", ".[dev,cuda]"], cwd=ROOT, check=True)
        check.python = python
        found = probe(python, check.env)
        if found is None or found["backend"] == "cpu":
            raise SystemExit(f"gpu_check: JAX in {venv} sees no GPU: {found}")
    missing = missing_requirements() if check.python == sys.executable else []
    installed = []
    if missing:
        site = check.out / "site"
        source = ["--no-index", "--find-links", str(wheels)] if wheels is not None else []
        if wheels is not None:  # the whole folder: it holds exactly what the image lacks
            targets = [str(p) for p in sorted(wheels.glob("*.whl"))]
        else:
            targets = missing + [name for name in OFFLINE_WHEELS if not _installed(name)]
        subprocess.run([check.python, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target",
                        str(site), *source, *targets], check=True)
        installed = targets
    check.result["environment"] = {**found, "python": check.python, "missing_before": missing,
                                   "installed_into_site": [Path(t).name for t in installed]}


def phase_a(check: Check, limit: float) -> dict:
    versions = subprocess.run(
        [check.python, "-c", "import json, importlib.metadata as m; print(json.dumps({n: m.version(n) for n in "
         "('jax', 'jaxlib', 'flax', 'optax', 'mujoco', 'mujoco-mjx', 'brax')}))"],
        env=check.env, capture_output=True, text=True).stdout.strip()
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip() if _has("nvidia-smi") else ""
    code, seconds = check.run([check.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SMOKE_TESTS,
                               "-k", "not learns"], limit, "a_smoke.log")
    tail = (check.out / "a_smoke.log").read_text().strip().splitlines()[-1:]
    return {"versions": json.loads(versions or "{}"), "gpu": smi, "smoke_exit": code, "smoke_s": round(seconds, 1),
            "smoke_summary": tail[0] if tail else ""}


def train_phase(check: Check, limit: float, name: str, flags: list[str]) -> dict:
    runs = check.out / "runs"
    cmd = [check.python, "-m", "crlx.train", *flags, "--total_env_steps", "10000000", "--num_epochs", "20",
           "--eval_sampled", "True", "--log.run_dir", str(runs), "--log.run_name", name, "--log.progress", "False",
           "--checkpoint.every", "0"]
    code, seconds = check.run(cmd, limit, f"{name}.log")
    rows = []
    metrics = runs / name / "metrics.jsonl"
    if metrics.is_file():
        rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    keys = ("env_steps", "eval/success", "eval/success_sampled", "critic/accuracy", "perf/wall_s",
            "perf/env_steps_per_s", "perf/compile_s")
    config = runs / name / "config.json"
    scale = json.loads(config.read_text())["config"] if config.is_file() else {}
    return {"command": " ".join(cmd[1:]), "exit": code, "seconds": round(seconds, 1),
            "scale": {k: scale.get(k) for k in ("scale", "num_envs", "updates_per_iteration", "num_eval_envs")},
            "curve": [{k: r[k] for k in keys if k in r} for r in rows]}


def phase_c(check: Check, limit: float) -> dict:
    out, deadline = {}, time.monotonic() + limit
    cases = [(envs, schedule, seeds) for envs in (1024, 256, 4096) for schedule in ("jaxgcrl", "light")
             for seeds in (1, 4) if not (envs == 4096 and seeds == 4)]
    for envs, schedule, seeds in cases:
        left = deadline - time.monotonic()
        if left < 10:
            break
        updates = envs * (1000 if schedule == "jaxgcrl" else 62) // 256
        name = f"ant_{envs}_{schedule}_{seeds}seeds"
        cmd = [check.python, "scripts/benchmark.py", "--env", "ant", "--num_envs", str(envs), "--epochs", "2",
               "--iterations_per_epoch", "2", "--sample_calls", "50", "--sample_repeats", "1",
               "--json", str(check.out / f"{name}.json"), "--", "--updates_per_iteration", str(updates),
               "--num_seeds", str(seeds), "--scale", "cpu"]
        code, seconds = check.run(cmd, left, f"c_{name}.log")
        entry = {"exit": code, "seconds": round(seconds, 1)}
        if code == 0 and (check.out / f"{name}.json").is_file():
            fused = json.loads((check.out / f"{name}.json").read_text())["fused"]
            entry.update({k: fused.get(k) for k in ("env_steps_per_s", "updates_per_s", "compile_s")})
        out[name] = entry
    return out


def phase_d(check: Check, limit: float) -> dict:
    speed = ROOT / "scripts" / "metaworld_speed.py"
    if speed.is_file():
        code, seconds = check.run([check.python, str(speed), "--json", str(check.out / "metaworld_speed.json")],
                                  limit, "d_metaworld.log")
        data = json.loads((check.out / "metaworld_speed.json").read_text()) if (
            check.out / "metaworld_speed.json").is_file() else {}
        return {"exit": code, "seconds": round(seconds, 1), "results": data}
    out, deadline = {}, time.monotonic() + limit
    for envs in (1024, 4096):
        left = deadline - time.monotonic()
        code, seconds = check.run([check.python, "scripts/env_table.py", "--envs", "mw_push_back", "--num_envs",
                                   str(envs), "--steps", "100"], left, f"d_mw_push_back_{envs}.log")
        rows = [line for line in (check.out / f"d_mw_push_back_{envs}.log").read_text().splitlines()
                if line.startswith("| `mw_push_back`")]
        out[f"mw_push_back_{envs}"] = {"exit": code, "seconds": round(seconds, 1),
                                       "env_steps_per_s": rows[0].split("|")[-2].strip() if rows else None}
    return out


def _installed(name: str) -> bool:
    from importlib import metadata

    try:
        metadata.version(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def _has(program: str) -> bool:
    from shutil import which

    return which(program) is not None


def summary(result: dict) -> str:
    """The markdown summary of gpu_check.json."""
    env = result.get("environment", {})
    lines = [f"# crlx GPU check, {result['date']}", "",
             f"jax {env.get('jax')} / jaxlib {env.get('jaxlib')}, devices {env.get('devices')}", ""]
    for key, phase in result["phases"].items():
        lines += [f"## {key}: {PHASES[key][0]} ({phase.get('status')}, {phase.get('seconds', 0):.0f} s)", ""]
        data = phase.get("data", {})
        if key in ("b", "e") and data.get("curve"):
            lines += [f"`{data['command']}` (exit {data['exit']}; {data['scale']})", "",
                      "| env steps | eval/success | sampled | critic/accuracy | wall s | env steps/s |",
                      "|---|---|---|---|---|---|"]
            for r in data["curve"]:
                lines.append(f"| {r.get('env_steps', 0):,} | {r.get('eval/success', float('nan')):.3f} | "
                             f"{r.get('eval/success_sampled', float('nan')):.3f} | "
                             f"{r.get('critic/accuracy', float('nan')):.3f} | {r.get('perf/wall_s', 0):.0f} | "
                             f"{r.get('perf/env_steps_per_s', 0):,.0f} |")
        elif key == "c":
            lines += ["| run | env steps/s (per seed) | updates/s | compile s |", "|---|---|---|---|"]
            for name, r in data.items():
                lines.append(f"| {name} | {r.get('env_steps_per_s') or 0:,.0f} | {r.get('updates_per_s') or 0:,.0f} | "
                             f"{r.get('compile_s') or 0:.1f} |" if r.get("exit") == 0 else f"| {name} | exit {r['exit']} | | |")
        else:
            lines += ["```", json.dumps(data, indent=1)[:4000], "```"]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheels", type=Path, default=None, help="install missing packages from this folder only")
    parser.add_argument("--out", type=Path, default=ROOT / "gpu_check")
    parser.add_argument("--budget_s", type=float, default=540.0, help="all phases together, seconds")
    parser.add_argument("--only", nargs="*", default=list(PHASES), choices=list(PHASES))
    parser.add_argument("--allow_cpu", action="store_true", help="run the phases on a CPU JAX (a rehearsal)")
    parser.add_argument("--download_wheels", type=Path, default=None, help="fill this folder and exit")
    parser.add_argument("--python_version", default="3.12", help="with --download_wheels: the target's Python")
    parser.add_argument("--warp", action="store_true", help="with --download_wheels: add mujoco-warp, warp-lang")
    args = parser.parse_args()
    if args.download_wheels is not None:
        download_wheels(args.download_wheels, args.python_version, args.warp)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    check = Check(args.out, args.budget_s)
    prepare(check, args.wheels, args.allow_cpu)
    check.save()
    steps = {
        "a": lambda limit: phase_a(check, limit),
        "b": lambda limit: train_phase(check, limit, "ant_default", ["--env", "ant"]),
        "c": lambda limit: phase_c(check, limit),
        "d": lambda limit: phase_d(check, limit),
        "e": lambda limit: train_phase(check, limit, "ant_jaxgcrl_1024", [
            "--config", "configs/jaxgcrl.yaml", "--num_envs", "1024", "--updates_per_iteration", "4000", "--seed", "1"]),
    }
    for key in args.only:
        limit = min(PHASES[key][1], check.left())
        if limit < 10:
            check.result["phases"][key] = {"status": "skipped: budget spent"}
            continue
        t0 = time.monotonic()
        try:
            data, status = steps[key](limit), "done"
        except Exception as err:  # a failed phase is recorded; the next one still runs
            data, status = {"error": repr(err)}, "failed"
        check.result["phases"][key] = {"status": status, "seconds": time.monotonic() - t0, "data": data}
        check.save()
        print(f"gpu_check: phase {key} {status} in {time.monotonic() - t0:.0f} s", flush=True)
    print((args.out / "gpu_check.md").read_text())


if __name__ == "__main__":
    main()
