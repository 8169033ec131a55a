"""crlx and JaxGCRL 0.2.8 side by side on one machine: start-up and throughput at JaxGCRL's schedule.

    python scripts/vs_jaxgcrl.py --jaxgcrl /path/to/jaxgcrl-venv/bin/jaxgcrl --num_envs 128 \
        --minutes 8 --rounds 2 --out runs/vs_jaxgcrl

Each round starts both libraries at the same time, each pinned to its own core (taskset), then swaps
the cores in the next round. Both run JaxGCRL's CRL on ant with the same schedule and networks:
num_envs envs x 62 steps per iteration, num_envs * 1000 / 256 updates of 256 per iteration
(configs/jaxgcrl.yaml in crlx), 2 x 256 plain networks, episodes of 1001 steps, the same number of
iterations per evaluation and the same number of eval envs. Every output line of both processes is
time-stamped on arrival. Reported per library and round:

  first progress   seconds from process start to the start of training: crlx's status line
                   "training" (after compile and prefill; crlx evaluates the initial policy after the
                   first epoch); JaxGCRL's log line "starting training" (after its prefill, before its
                   training epoch compiles, so this favours JaxGCRL)
  first step       seconds to the first training progress shown: crlx's training bar first counting
                   env steps (after the first epoch, before the evaluation runs); JaxGCRL's first
                   "step: N" log line (after its first epoch and evaluation)
  first epoch      seconds to the end of the first epoch and its evaluation: crlx's progress bar
                   showing the first eval/success, JaxGCRL's first "step: N" log line
  env steps/s      training env steps per second of wall time between consecutive evaluations after
                   the first two (so compile is excluded), evaluation included
  cpu / wall       process CPU seconds over wall seconds (1.0 = one busy core)

crlx starts with an empty compilation cache (a fresh CRLX_CACHE_DIR) in every round; with
--warm_start a further crlx-only run reuses the last round's cache and reports its first progress.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ITERATIONS_PER_EVAL = 4


def commands(args, out: Path, name: str) -> dict[str, list[str]]:
    updates = args.num_envs * 1000 // 256
    evals = args.evals
    crlx_steps = evals * ITERATIONS_PER_EVAL * args.num_envs * 62
    crlx = [sys.executable, "-m", "crlx.train", "--config", str(ROOT / "configs" / "jaxgcrl.yaml"),
            "--num_envs", str(args.num_envs), "--updates_per_iteration", str(updates),
            "--num_eval_envs", str(args.num_eval_envs), "--total_env_steps", str(crlx_steps),
            "--num_epochs", str(evals), "--checkpoint.every", "0", "--log.plots", "False",
            "--log.run_dir", str(out), "--log.run_name", f"crlx-{name}"]
    # JaxGCRL counts the prefill (min_replay_size x num_envs) in total_env_steps
    jax_steps = crlx_steps + 1000 * args.num_envs
    (out / f"jaxgcrl-{name}-ckpt").mkdir(parents=True, exist_ok=True)  # JaxGCRL writes there, creates nothing
    jaxgcrl = [args.jaxgcrl, "--env", "ant", "--num-envs", str(args.num_envs), "--num-eval-envs",
               str(args.num_eval_envs), "--total-env-steps", str(jax_steps), "--num-evals", str(evals),
               "--episode-length", "1001", "--no-log-wandb", "--visualization-interval", "1000000",
               "--checkpoint-logdir", str(out / f"jaxgcrl-{name}-ckpt"), "--exp-name", f"jaxgcrl-{name}", "crl"]
    return {"crlx": crlx, "jaxgcrl": jaxgcrl}


def run_pinned(cmd: list[str], core: int, seconds: float, env: dict, cwd: Path) -> dict:
    """Start cmd on `core`; collect (time since start, line) for every output line until it ends or
    `seconds` pass; then stop it. Returns the lines and the process's CPU time."""
    start = time.perf_counter()
    proc = subprocess.Popen(["taskset", "-c", str(core), *cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd, text=True, bufsize=1)
    lines: list[tuple[float, str]] = []

    def read():
        for raw in proc.stdout:
            for part in raw.replace("\r", "\n").splitlines():
                lines.append((time.perf_counter() - start, part))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass
    cpu = _cpu_seconds(proc.pid)
    wall = time.perf_counter() - start
    proc.kill()
    proc.wait()
    reader.join(timeout=5)
    return {"lines": lines, "wall_s": wall, "cpu_s": cpu, "returncode": proc.returncode}


def _cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) of the process tree under pid, from /proc."""
    total, found = 0.0, False
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
        if int(entry.name) == pid or ppid == pid:
            total += (utime + stime) / tick
            found = True
    return total if found else None


def first_time(lines, pattern: str) -> float | None:
    return next((t for t, line in lines if re.search(pattern, line)), None)


def crlx_rates(out: Path, name: str) -> list[float]:
    """Env steps per wall second between consecutive evaluations (eval included), after the first two."""
    rows = [json.loads(line) for line in (out / f"crlx-{name}" / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "perf/wall_s" in r]
    return [(b["env_steps"] - a["env_steps"]) / (b["perf/wall_s"] - a["perf/wall_s"]) for a, b in zip(rows[1:], rows[2:])]


def jaxgcrl_rates(lines) -> list[float]:
    """The same from JaxGCRL's "step: N" log lines (the first line of each N), time-stamped on arrival."""
    marks, seen = [], set()
    for t, line in lines:
        m = re.search(r"step: (\d+)", line)
        if m and int(m.group(1)) not in seen:
            seen.add(int(m.group(1)))
            marks.append((t, int(m.group(1))))
    return [(s1 - s0) / (t1 - t0) for (t0, s0), (t1, s1) in zip(marks[1:], marks[2:]) if t1 > t0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jaxgcrl", required=True, help="the jaxgcrl console script of a JaxGCRL 0.2.8 venv")
    parser.add_argument("--num_envs", type=int, default=128)
    parser.add_argument("--num_eval_envs", type=int, default=128)
    parser.add_argument("--evals", type=int, default=50, help="evaluations planned (each after 4 iterations)")
    parser.add_argument("--minutes", type=float, default=8.0, help="wall time per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warm_start", action="store_true")
    parser.add_argument("--out", default="runs/vs_jaxgcrl")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = {"args": vars(args), "loadavg_start": os.getloadavg(), "rounds": []}
    cache = None
    for index in range(args.rounds):
        cache = tempfile.mkdtemp(prefix="crlx-cache-")
        shutil.rmtree(out / f"crlx-r{index}", ignore_errors=True)  # a fresh run, not one appended to a rerun's
        cmds = commands(args, out, f"r{index}")
        cores = {"crlx": index % 2, "jaxgcrl": 1 - index % 2}
        envs = {"crlx": {**os.environ, "CRLX_CACHE_DIR": cache, "WANDB_MODE": "disabled"},
                "jaxgcrl": {**os.environ, "WANDB_MODE": "disabled"}}
        runs = {}
        threads = [threading.Thread(target=lambda n=n: runs.__setitem__(
            n, run_pinned(cmds[n], cores[n], 60 * args.minutes, envs[n], out))) for n in cmds]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        row = {"cores": cores, "loadavg_end": os.getloadavg()}
        for n, run in runs.items():
            rates = crlx_rates(out, f"r{index}") if n == "crlx" else jaxgcrl_rates(run["lines"])
            start_marker = r"crlx \[.*\] training\b" if n == "crlx" else r"starting training"
            epoch_marker = r"success=" if n == "crlx" else r"step: \d+"
            step_marker = r"^(?!prefill)\S+: +\d+%\|.*\| *[1-9][\d.]*[kM]?/" if n == "crlx" else epoch_marker
            row[n] = {"first_progress_s": first_time(run["lines"], start_marker),
                      "first_step_s": first_time(run["lines"], step_marker),
                      "first_epoch_s": first_time(run["lines"], epoch_marker), "env_steps_per_s": rates,
                      "median_env_steps_per_s": statistics.median(rates) if rates else None,
                      "wall_s": run["wall_s"], "cpu_s": run["cpu_s"]}
            (out / f"{n}-r{index}.log").write_text("".join(f"{t:8.2f} {line}\n" for t, line in run["lines"]))
        a, b = row["crlx"]["median_env_steps_per_s"], row["jaxgcrl"]["median_env_steps_per_s"]
        row["throughput_ratio"] = a / b if a and b else None
        results["rounds"].append(row)
        print(json.dumps(row, indent=1), flush=True)
    if args.warm_start and cache is not None:
        cmd = commands(args, out, "warm")["crlx"]
        run = run_pinned(cmd, 0, 60 * min(args.minutes, 3.0), {**os.environ, "CRLX_CACHE_DIR": cache}, out)
        results["warm_start"] = {"first_progress_s": first_time(run["lines"], r"crlx \[.*\] training\b")}
        (out / "crlx-warm.log").write_text("".join(f"{t:8.2f} {line}\n" for t, line in run["lines"]))
        print(json.dumps(results["warm_start"]), flush=True)
    (out / "vs_jaxgcrl.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
