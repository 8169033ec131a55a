"""Train a named list of envs over seeds and write docs/LEARNING.md and docs/learning/*.png.

    python scripts/learning_suite.py --tier cpu [--cpu 0,1] [--seeds 3] [--only ant reacher]
    python scripts/learning_suite.py --tier gpu --seeds 1 --slice_s 540   # one GPU slice; repeat to go on
    python scripts/learning_suite.py --tier cpu --only mw_reach mw_push --python .venv-metaworld/bin/python
    python scripts/learning_suite.py --tier cpu --report_only    # docs/LEARNING.md from the stored figures

Each entry (env, config file or None, env-step budget) runs as one subprocess
`python -m crlx.train --env ENV [--config FILE] --total_env_steps N --num_seeds S --log.run_dir DIR`
(pinned with `taskset -c CPUS` when --cpu is given). Afterwards, per entry: eval/success at fixed
fractions of the env steps run (whole epochs, so at least the budget; mean and min-max over seeds), wall time, critic/accuracy and
critic/erank_phi / critic/erank_psi at the end, and a random-policy baseline measured the same
way as eval/success (uniform actions on the eval wrapper, any step within the threshold).
Figures: eval/success against env steps and against wall seconds, mean and min-max band over seeds.
Each entry's figures are kept in docs/learning/<tier>-<env>-<config>.json, so runs of a few entries
(--only) add to docs/LEARNING.md instead of replacing it; docs/learning/NOTES.md (diagnoses) is
appended to it.

Slices (`--slice_s S`, for time-limited GPU sessions): entries already measured are skipped (unless
--redo), the others run one at a time until S seconds are spent; an entry still running at the end
of the slice is stopped and recorded as cut at the env steps it reached (marked in the table), so
several short sessions build the table. The gpu tier evaluates sampled actions too and stands each
row beside the published figure where one exists (PUBLISHED).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CPU_SIZE = ("--num_envs", "64", "--num_eval_envs", "32", "--num_epochs", "20")
"""a CPU-sized run of an MJX / brax env: fewer envs, fewer and smaller evaluations"""
MW_CPU_SIZE = ("--num_envs", "64", "--num_eval_envs", "16", "--num_epochs", "8")
"""Meta-World on MJX on CPU: a budget of 60k runs 8 epochs of 2 iterations of 64 x 62 (63.5k env steps
per seed); 2 seeds took 60 minutes, evaluations included, after about 20 minutes of compile and
prefill (mw_reach and mw_push, 2026-12-03)"""
GPU_EVAL = ("--eval_sampled", "True")
"""the gpu tier also evaluates sampled actions (JaxGCRL's published ant curves did)"""
PUBLISHED = {
    "ant": "JaxGCRL 0.64 @10M (1024 envs, sampled-action eval, 2024 code)",
    "arm_reach": "JaxGCRL 1.0 @20M (its Panda arm)",
    "arm_push_easy": "JaxGCRL 0.94 @30M (its Panda arm); scaling-crl time at goal 308 (depth 4) / 762 (depth 64)",
    "ant_big_maze": "scaling-crl time at goal 61 (depth 4) / 441 (depth 64)",
    "humanoid": "scaling-crl time at goal 12.6 / 649",
    "humanoid_u_maze": "scaling-crl time at goal 3.2 / 159",
}
"""published figures to stand beside a gpu-tier row (success: episode_success_any; scaling-crl: steps
of 1000 at the goal, compare 1000 x eval/time_near_goal)"""
TIERS = {
    "cpu": [
        ("point_u_maze", None, 2_000_000, ()), ("point_big_maze", None, 2_000_000, ()),
        ("point_hardest_maze", None, 2_000_000, ()),
        ("simple_u_maze", None, 1_000_000, CPU_SIZE), ("reacher", "configs/cpu.yaml", 640_000, ()),
        ("pusher_easy", None, 1_000_000, CPU_SIZE), ("arm_reach", None, 200_000, CPU_SIZE),
        ("arm_push_easy", None, 300_000, CPU_SIZE), ("ant", None, 3_600_000, ("--num_epochs", "14")),
        ("ant_u_maze", None, 3_000_000, CPU_SIZE), ("humanoid", None, 500_000, CPU_SIZE),
        ("mw_reach", None, 60_000, MW_CPU_SIZE), ("mw_push", None, 60_000, MW_CPU_SIZE),
    ],
    "gpu": [
        ("ant", None, 10_000_000, GPU_EVAL), ("arm_reach", None, 20_000_000, GPU_EVAL),
        ("arm_push_easy", None, 30_000_000, GPU_EVAL), ("mw_reach", None, 10_000_000, GPU_EVAL),
        ("mw_push", None, 10_000_000, GPU_EVAL), ("mw_push_back", None, 10_000_000, GPU_EVAL),
        ("pusher_easy", None, 10_000_000, GPU_EVAL), ("simple_big_maze", None, 10_000_000, GPU_EVAL),
        ("ant_u_maze", None, 10_000_000, GPU_EVAL), ("ant_big_maze", None, 10_000_000, GPU_EVAL),
        ("humanoid", None, 10_000_000, GPU_EVAL), ("humanoid_u_maze", None, 10_000_000, GPU_EVAL),
    ],
}
"""(env, --config file or None for crlx's defaults and the env's training defaults, total env steps,
extra flags)"""
MARKS = (0.25, 0.5, 0.75, 1.0)
"""eval/success is reported at these fractions of the budget"""
RANDOM_BASELINE = """
import json, sys, jax
from crlx.envs import make_env
from crlx.evaluate import make_evaluate
length = int(sys.argv[2]) if len(sys.argv) > 2 and int(sys.argv[2]) else None
env = make_env(sys.argv[1], **({"episode_length": length} if length else {}))
evaluate = make_evaluate(env, None, 128, actions="uniform")  # crlx's evaluation, uniform actions, 128 episodes
print(json.dumps(float(evaluate(None, jax.random.PRNGKey(0))["eval/success"])))
"""


def command(args, env: str, config: str | None, steps: int, flags: tuple, run_dir: Path) -> list[str]:
    cmd = [args.python, "-m", "crlx.train", "--env", env, "--total_env_steps", str(steps), *flags,
           "--num_seeds", str(args.seeds), "--log.run_dir", str(run_dir.parent), "--log.run_name", run_dir.name,
           "--log.progress", "False", "--checkpoint.every", "0"]
    if config:
        cmd += ["--config", str(ROOT / config)]
    return (["taskset", "-c", args.cpu] if args.cpu else []) + cmd


def seed_rows(run_dir: Path) -> list[list[dict]]:
    dirs = sorted(run_dir.glob("seed_*")) or [run_dir]
    return [[json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines() if line.strip()]
            for d in dirs if (d / "metrics.jsonl").is_file()]


def at(rows: list[dict], key: str, step: float) -> float:
    """`key` in the last row with env_steps <= step (nan if none)."""
    values = [r[key] for r in rows if key in r and r["env_steps"] <= step]
    return float(values[-1]) if values else float("nan")


def band(values: list[float]) -> str:
    v = np.array(values, float)
    if not np.isfinite(v).any():
        return "-"
    return f"{np.nanmean(v):.2f} [{np.nanmin(v):.2f}, {np.nanmax(v):.2f}]"


def plot(name: str, runs: list[list[dict]], out: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.2))
    FigureCanvasAgg(fig)
    for ax, xkey in zip(fig.subplots(1, 2), ("env_steps", "perf/wall_s")):
        curves = [(np.array([r.get(xkey, 0.0) for r in rows if "eval/success" in r], float),  # the 0-step eval: 0 s
                   np.array([r["eval/success"] for r in rows if "eval/success" in r], float)) for rows in runs]
        length = min(len(y) for _, y in curves)
        x = np.nanmean([c[0][:length] for c in curves], axis=0)
        ys = np.array([c[1][:length] for c in curves])
        ax.plot(x, ys.mean(0))
        ax.fill_between(x, ys.min(0), ys.max(0), alpha=0.25)
        ax.set_xlabel("env steps" if xkey == "env_steps" else "wall time (s)")
        ax.set_ylabel("eval/success")
        ax.set_ylim(-0.02, 1.02)
    fig.suptitle(f"{name} ({len(runs)} seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=sorted(TIERS), required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cpu", default=None, help="CPU list for taskset, e.g. 0,1 (default: not pinned)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the runs (e.g. a Meta-World venv)")
    parser.add_argument("--only", nargs="*", default=None, help="run only these envs of the tier")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "learning_suite")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "LEARNING.md")
    parser.add_argument("--slice_s", type=float, default=None,
                        help="run unmeasured entries until this many seconds are spent (see Slices above)")
    parser.add_argument("--redo", action="store_true", help="with --slice_s: measure entries again")
    parser.add_argument("--report_only", action="store_true",
                        help="rewrite --out from the stored docs/learning/*.json and NOTES.md; train nothing")
    args = parser.parse_args()
    if args.report_only:
        write_report(args, args.out.parent / "learning")
        return
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be >= 1, got {args.seeds}")
    entries = [e for e in TIERS[args.tier] if args.only is None or e[0] in args.only]
    if not entries:
        raise SystemExit(f"--only {args.only}: none of them is in the {args.tier} tier {[e[0] for e in TIERS[args.tier]]}")
    figures = args.out.parent / "learning"
    figures.mkdir(parents=True, exist_ok=True)
    deadline = None if args.slice_s is None else time.monotonic() + args.slice_s
    for env, config, steps, flags in entries:
        tag = f"{env}-{Path(config).stem if config else 'crlx'}"
        if deadline is not None and not args.redo and (figures / f"{args.tier}-{tag}.json").is_file():
            continue  # measured in an earlier slice
        if deadline is not None and deadline - time.monotonic() < 60:
            print(f"slice spent: {tag} and later entries wait for the next slice")
            break
        run_dir = args.runs / args.tier / tag
        cmd = command(args, env, config, steps, flags, run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)  # measured afresh
        try:
            subprocess.run(cmd, cwd=ROOT, check=True,
                           timeout=None if deadline is None else deadline - time.monotonic())
            cut = False
        except subprocess.TimeoutExpired:
            cut = True  # the slice ended mid-run: record what it reached
        runs = [rows for rows in seed_rows(run_dir) if rows]
        if not runs:
            print(f"{tag}: no evaluation before the slice ended")
            break
        reached = max(r["env_steps"] for rows in runs for r in rows)
        planned = reached if cut else max(reached, steps)  # whole epochs: >= the budget
        baseline = subprocess.run((["taskset", "-c", args.cpu] if args.cpu else []) + [args.python, "-c", RANDOM_BASELINE, env,
                                  str(episode_length(config))], cwd=ROOT, check=True, capture_output=True,
                                  text=True).stdout.strip().splitlines()[-1]
        result = {
            "env": env, "config": config or "crlx + env defaults", "budget": steps, "seeds": len(runs),
            "command": " ".join(cmd[cmd.index("-m"):]), "date": str(datetime.date.today()),
            "device": device_name(args.python), "random": float(baseline),
            "cut_at": reached if cut else None,
            "success": [band([at(rows, "eval/success", m * planned) for rows in runs]) for m in MARKS],
            "success_sampled": band([at(rows, "eval/success_sampled", planned) for rows in runs]),
            "time_at_goal": band([1000 * at(rows, "eval/time_near_goal", planned) for rows in runs]),
            "goal_moved": band([at(rows, "train/goal_moved", planned) for rows in runs]),
            "published": PUBLISHED.get(env, ""),
            "wall_s": band([at(rows, "perf/wall_s", planned) for rows in runs]),
            "accuracy": band([at(rows, "critic/accuracy", planned) for rows in runs]),
            "erank": f"{band([at(r, 'critic/erank_phi', planned) for r in runs])} / "
                     f"{band([at(r, 'critic/erank_psi', planned) for r in runs])}",
        }
        (figures / f"{args.tier}-{tag}.json").write_text(json.dumps(result, indent=1))
        plot(tag, runs, figures / f"{args.tier}-{tag}.png")
        write_report(args, figures)
        if cut:
            break


def device_name(python: str) -> str:
    """The first JAX device of `python`'s JAX, e.g. 'cuda:0 (NVIDIA H200)' or 'TFRT_CPU_0'."""
    code = "import jax; d = jax.devices()[0]; print(f'{d} ({getattr(d, \"device_kind\", \"\")})')"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else "unknown"


def episode_length(config: str | None) -> int:
    """The episode length a preset sets (0: the env's own)."""
    if not config:
        return 0
    import yaml

    return int((yaml.safe_load((ROOT / config).read_text()) or {}).get("episode_length") or 0)


def write_report(args, figures: Path) -> None:
    """docs/LEARNING.md from every entry measured so far (docs/learning/<tier>-<tag>.json)."""
    import jax

    import crlx

    sections = []
    for tier in TIERS:
        results = [json.loads(p.read_text()) for p in sorted(figures.glob(f"{tier}-*.json"))]
        if not results:
            continue
        lines = [f"## {tier} tier", "", "| env | config | budget | seeds | wall s | random | "
                 + " | ".join(f"success @{m:.0%}" for m in MARKS)
                 + " | sampled | goal moved | time at goal | critic/accuracy | erank phi / psi | published | device, date |",
                 "|---" * (13 + len(MARKS)) + "|"]
        for r in results:
            budget = f"{r['budget']:,}" + (f" (cut at {r['cut_at']:,})" if r.get("cut_at") else "")
            lines.append(f"| `{r['env']}` | {r['config']} | {budget} | {r['seeds']} | {r['wall_s']} | "
                         f"{r['random']:.2f} | " + " | ".join(r["success"])
                         + f" | {r.get('success_sampled', '-')} | {r.get('goal_moved', '-')} | {r.get('time_at_goal', '-')}"
                         f" | {r['accuracy']} | {r['erank']} | {r.get('published', '')} | {r.get('device', '')} {r['date']} |")
        lines += ["", "Commands:", ""] + [f"- `{r['env']}`: `python {r['command']}`" for r in results]
        sections.append("\n".join(lines))
    header = (f"# Learning suite\n\nWritten by `python scripts/learning_suite.py --tier cpu|gpu [--only ENV ...]` on "
              f"{platform.node()} ({platform.processor() or platform.machine()}), jax {jax.__version__}, crlx "
              f"{crlx.__version__}. Values: mean [min, max] over seeds; success @x is eval/success (share of fresh "
              "deterministic episodes that come within the env's threshold at any step) at x of the budget; random "
              "is uniform random actions measured the same way; wall s counts training and evaluations after "
              "compile and prefill. Curves (eval/success vs env steps and vs wall time): docs/learning/.\n\n")
    notes = ROOT / "docs" / "learning" / "NOTES.md"
    body = "\n\n".join(sections) + "\n"
    if notes.is_file():
        body += "\n" + notes.read_text()
    args.out.write_text(header + body)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
