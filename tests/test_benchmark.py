"""scripts/benchmark.py run as a user runs it, on a tiny point-mass config: exit status, table, JSON."""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import sys
from pathlib import Path

import jax

import crlx
from tests.conftest import subprocess_env
from tests.test_cli import TINY_SIZE_FLAGS

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "benchmark.py"

REPEATS = 3
SAMPLE_REPEATS = 3

NUMBERS = [  # every one a positive finite float in the JSON
    "rollout.compile_s", "rollout.time_s", "rollout.median_s", "rollout.env_steps_per_s",
    "update.compile_s", "update.time_s", "update.median_s", "update.updates_per_s",
    "fused.compile_s", "fused.time_s", "fused.median_s", "fused.env_steps_per_s", "fused.updates_per_s",
    "rollout.cpu_time_s", "update.cpu_time_s", "fused.cpu_time_s",
    "fused_over_parts", "fused_over_parts_median", "fused_over_parts_cpu",
    "sampling.compile_s", "sampling.fill_compile_s", "sampling.long_over_short", "sampling.long_over_short_cpu",
    "sampling.short.cpu_time_s", "sampling.long.cpu_time_s",
    "sampling.short.time_s", "sampling.short.median_s", "sampling.short.us_per_call", "sampling.short.samples_per_s",
    "sampling.long.time_s", "sampling.long.median_s", "sampling.long.us_per_call", "sampling.long.samples_per_s",
    "init.compile_s", "init.run_s", "prefill.compile_s", "prefill.run_s",
    "memory.host_peak_rss_mb",
    "env_steps_per_s", "updates_per_s", "epoch_s", "compile_s", "prefill_s_incl_compile", "wall_s",
]


def lookup(result: dict, path: str):
    node = result
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"missing field {path!r}"
        node = node[part]
    return node


def test_benchmark_script_writes_consistent_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [
        sys.executable, str(SCRIPT), "--env", "point_mass", "--num_envs", "8",
        "--iterations_per_epoch", "2", "--epochs", str(REPEATS),
        "--sample_capacity", "1000", "--sample_calls", "50", "--sample_repeats", str(SAMPLE_REPEATS),
        "--json", str(out), "--", *TINY_SIZE_FLAGS,
    ]
    env = subprocess_env()
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    table = ("(a) rollout", "(b) update", "(c) fused epoch", "fused / (rollout + update)", "long / short",
             "host peak RSS")
    for text in table:
        assert text in proc.stdout, (text, proc.stdout)

    r = json.loads(out.read_text())
    for path in NUMBERS:
        value = lookup(r, path)
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (path, value)

    # the config reached crlx's parser and the work per timed call follows from it
    assert (r["env"], r["num_envs"], r["unroll_length"], r["batch_size"]) == ("point_mass", 8, 10, 32)
    assert r["config"]["critic"]["repr_dim"] == 8 and r["config"]["buffer"]["max_replay_size"] == 100
    assert r["iterations_per_epoch"] == 2 and r["repeats"] == REPEATS
    assert r["work_per_call"] == {"env_steps": 2 * 8 * 10, "updates": 2 * 2}
    assert r["prefill"]["env_steps"] == 8 * 10  # ceil(10 / 10) iterations of 8 x 10 steps

    # best and median come from the recorded repeats; rates and ratios from the recorded times
    for part, repeats in (("rollout", REPEATS), ("update", REPEATS), ("fused", REPEATS),
                          ("sampling.short", SAMPLE_REPEATS), ("sampling.long", SAMPLE_REPEATS)):
        res = lookup(r, part)
        assert len(res["times_s"]) == repeats and all(t > 0 for t in res["times_s"]), part
        assert res["time_s"] == min(res["times_s"]) and math.isclose(res["median_s"], statistics.median(res["times_s"]))
        assert len(res["cpu_times_s"]) == repeats and res["cpu_time_s"] == min(res["cpu_times_s"]), part
    work, rel = r["work_per_call"], 1e-9
    assert math.isclose(r["rollout"]["env_steps_per_s"], work["env_steps"] / r["rollout"]["time_s"], rel_tol=rel)
    assert math.isclose(r["update"]["updates_per_s"], work["updates"] / r["update"]["time_s"], rel_tol=rel)
    assert math.isclose(r["fused"]["env_steps_per_s"], work["env_steps"] / r["fused"]["time_s"], rel_tol=rel)
    assert math.isclose(r["fused"]["updates_per_s"], work["updates"] / r["fused"]["time_s"], rel_tol=rel)
    ratio = r["fused"]["time_s"] / (r["rollout"]["time_s"] + r["update"]["time_s"])
    assert math.isclose(r["fused_over_parts"], ratio, rel_tol=rel)
    ratio_median = r["fused"]["median_s"] / (r["rollout"]["median_s"] + r["update"]["median_s"])
    assert math.isclose(r["fused_over_parts_median"], ratio_median, rel_tol=rel)
    rounds = zip(r["fused"]["times_s"], r["rollout"]["times_s"], r["update"]["times_s"])
    assert r["fused_over_parts_rounds"] == [f / (a + b) for f, a, b in rounds]
    ratio_cpu = r["fused"]["cpu_time_s"] / (r["rollout"]["cpu_time_s"] + r["update"]["cpu_time_s"])
    assert math.isclose(r["fused_over_parts_cpu"], ratio_cpu, rel_tol=rel)
    assert r["epoch_s"] == r["fused"]["time_s"] and r["compile_s"] == r["fused"]["compile_s"]

    s = r["sampling"]
    assert (s["capacity"], s["num_envs"], s["batch_size"], s["calls"]) == (1000, 8, 32, 50)
    assert (s["short"]["episode_length"], s["long"]["episode_length"]) == (100, 1000)
    assert math.isclose(s["long_over_short"], s["long"]["time_s"] / s["short"]["time_s"], rel_tol=rel)
    assert math.isclose(s["long_over_short_cpu"], s["long"]["cpu_time_s"] / s["short"]["cpu_time_s"], rel_tol=rel)
    for name in ("short", "long"):
        assert math.isclose(s[name]["us_per_call"], 1e6 * s[name]["time_s"] / 50, rel_tol=rel)

    mem = r["memory"]
    assert set(mem["host_peak_rss_mb_after"]) >= {"prefill", "compile fused", "timed parts", "sampling"}
    assert mem["host_peak_rss_mb"] >= max(mem["host_peak_rss_mb_after"].values()) > 0
    peak = mem["device_peak_bytes_in_use"]
    if jax.devices()[0].memory_stats() is None:  # CPU: the device reports no memory
        assert peak is None
    else:
        assert isinstance(peak, int) and peak > 0

    assert r["device"] == str(jax.devices()[0]) and r["platform"] == jax.devices()[0].platform
    assert r["jax"] == jax.__version__ and r["crlx"] == crlx.__version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", r["date"]) and r["started_utc"].startswith(r["date"])
