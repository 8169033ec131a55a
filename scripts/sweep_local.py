"""Run a wandb grid sweep on this machine, one run after another, without a wandb server.

    python scripts/sweep_local.py configs/sweeps/losses_energies.yaml --limit 4 \
        -- --total_env_steps=320 --env=point_mass

Each grid point runs the argv `wandb agent` would build (crlx.sweep.agent_argv) in this Python
interpreter, followed by `--wandb.mode=disabled` (see --wandb-mode), the flags after `--`, and
`--log.run_dir=OUT/runs --log.run_name=NNN-...` (always last, so the summary finds the run).
Each run's output goes to OUT/logs/NAME.log. After the runs, OUT/summary.md and OUT/summary.csv
list the swept parameters, the final eval/success, eval/final_dist, critic/accuracy and
perf/env_steps_per_s of each run (last value in its metrics.jsonl) and its exit status.
Exit status: 0 when every run exited 0, else 1. Rerunning into the same OUT replaces the runs
of the same names.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _sweep_module():
    """crlx.sweep from this checkout, loaded by file path: `import crlx` would start jax (and print
    import noise) for nothing, as sweep.py imports neither. Falls back to an installed crlx."""
    import importlib.util

    path = SRC / "crlx" / "sweep.py"
    if not path.is_file():
        import crlx.sweep

        return crlx.sweep
    spec = importlib.util.spec_from_file_location("_crlx_sweep", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_sweep = _sweep_module()
agent_argv, grid, load_sweep, swept = _sweep.agent_argv, _sweep.grid, _sweep.load_sweep, _sweep.swept

METRICS = ["eval/success", "eval/final_dist", "critic/accuracy", "perf/env_steps_per_s"]


def run_name(index: int, params: dict, names: list[str]) -> str:
    """`007-loss.contrastive=infonce-loss.energy=l2-seed=1`: index plus the swept values, filesystem-safe."""
    parts = [f"{index:03d}"]
    for name in names:
        parts.append(f"{name}={params[name]}")
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(parts))


def final_metrics(metrics_file: Path) -> dict:
    """Last logged value of each of METRICS in a metrics.jsonl (missing file or key -> absent)."""
    out: dict = {}
    if not metrics_file.is_file():
        return out
    for line in metrics_file.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        out.update({k: row[k] for k in METRICS if k in row})
        if "env_steps" in row:
            out["env_steps"] = row["env_steps"]
    return out


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def write_summary(out: Path, names: list[str], rows: list[dict]) -> None:
    """OUT/summary.csv (full precision) and OUT/summary.md (a markdown table)."""
    columns = ["run", *names, "env_steps", *METRICS, "status"]
    with (out / "summary.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c)) for c in columns) + " |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, overrides = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Flags after `--` are appended to every run's crlx.train command."
    )
    parser.add_argument("sweep", help="wandb sweep YAML (method grid), e.g. configs/sweeps/losses_energies.yaml")
    parser.add_argument("--limit", type=int, default=None, help="run only the first N grid points")
    parser.add_argument("--out", default=None, help="output folder (default runs/sweeps/<yaml name>-<time>)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    parser.add_argument(
        "--wandb-mode", default="disabled", choices=["disabled", "offline", "online"],
        help="--wandb.mode passed to every run (default disabled; a --wandb.mode after `--` wins)",
    )
    args = parser.parse_args(argv)

    sweep = load_sweep(args.sweep)
    points = grid(sweep)
    if args.limit is not None:
        points = points[: max(0, args.limit)]
    names = swept(sweep)
    stem = Path(args.sweep).stem
    out = Path(args.out) if args.out else Path("runs") / "sweeps" / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    runs_dir, logs_dir = out / "runs", out / "logs"

    child_env = dict(os.environ)
    if (SRC / "crlx").is_dir():
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in [str(SRC), os.environ.get("PYTHONPATH", "")] if p)

    jobs = []
    for i, params in enumerate(points):
        name = run_name(i, params, names)
        cmd = [
            *agent_argv(sweep, params, python=sys.executable),
            f"--wandb.mode={args.wandb_mode}",
            *overrides,
            f"--log.run_dir={runs_dir}",
            f"--log.run_name={name}",
        ]
        jobs.append((name, params, cmd))

    if args.dry_run:
        for _, _, cmd in jobs:
            print(shlex.join(cmd))
        return 0

    logs_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (name, params, cmd) in enumerate(jobs, 1):
        print(f"[{k}/{len(jobs)}] {name}", flush=True)
        shutil.rmtree(runs_dir / name, ignore_errors=True)  # metrics.jsonl is appended to, never mixed
        t0 = time.perf_counter()
        with (logs_dir / f"{name}.log").open("w") as log:
            log.write(shlex.join(cmd) + "\n\n")
            log.flush()
            status = subprocess.run(cmd, env=child_env, stdout=log, stderr=subprocess.STDOUT).returncode
        metrics = final_metrics(runs_dir / name / "metrics.jsonl")
        row = {"run": name, **{n: params[n] for n in names}, **metrics, "status": status}
        rows.append(row)
        print(
            f"    status {status}, {time.perf_counter() - t0:.0f} s, eval/success={fmt(metrics.get('eval/success'))}",
            flush=True,
        )
        write_summary(out, names, rows)  # kept current, so an interrupted sweep still has a table
    write_summary(out, names, rows)
    print(f"summary: {out / 'summary.md'}")
    return 0 if all(r["status"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
