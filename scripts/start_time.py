"""Seconds from launching `python -m crlx.train` to each start-up phase, over repeated identical runs.

    python scripts/start_time.py --runs 3 --cpu 0 -- --env ant --num_envs 128

The first run fills the persistent compilation cache if it is empty (a cold start); the ones after
it are warm starts. Each run is stopped as soon as crlx prints its "training (" status line. Printed
per run: launch to the first status line (Python imports), to "compiling", to "compiled", to
"prefill done" and to "training (", the run's CPU seconds, and the load average at its end.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = {"building env": "imports", "compiling the training": "compiling", "compiled in": "compiled",
          "prefill done": "prefill done", "training (": "training"}
"""status-line text -> the phase it ends"""


def one_run(cmd: list[str]) -> dict[str, float]:
    """Launch `cmd`; seconds from launch to each PHASES line on its stderr; killed at "training (" ."""
    t0, seen, buf = time.perf_counter(), {}, b""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    while "training" not in seen:
        chunk = proc.stderr.read1(4096)
        if not chunk:
            break
        buf += chunk
        for text, phase in PHASES.items():
            if phase not in seen and text.encode() in buf:
                seen[phase] = time.perf_counter() - t0
    proc.kill()
    proc.wait()
    if "training" not in seen:
        raise SystemExit(f"the run ended before training started:\n{buf.decode(errors='replace')[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seen["cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cpu", default=None, help="CPU list for taskset (default: not pinned)")
    parser.add_argument("train_args", nargs="*", help="crlx.train's arguments, after --")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="crlx_start_time-"))
    cmd = (["taskset", "-c", args.cpu] if args.cpu else []) + [
        sys.executable, "-m", "crlx.train", *args.train_args, "--checkpoint.every", "0",
        "--log.run_dir", str(run_dir)]
    print(" ".join(cmd))
    for i in range(args.runs):
        t = one_run(cmd + ["--log.run_name", f"run_{i}"])
        print(f"run {i}: " + ", ".join(f"{p} {t[p]:.1f} s" for p in PHASES.values() if p in t)
              + f"; cpu {t['cpu']:.1f} s; load average {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
