"""Throughput of crlx's training step and of its parts, in one process and one run.

    python scripts/benchmark.py --env ant --num_envs 128 [--iterations_per_epoch 2] [--epochs 3] \
        [--json out.json] [-- any crlx.train flags, e.g. --buffer.min_replay_size 62]

For one env and config (flags after `--` go to crlx's own CLI parser) it measures:

  (a) rollout   a jitted lax.scan of iterations_per_epoch calls of `agent.collect` with the
                actor (no learning, no buffer insert): env steps/s
  (b) update    a jitted lax.scan of iterations_per_epoch * updates_per_iteration calls of
                `agent.update` on a buffer filled by prefill: updates/s
  (c) fused     `agent.train_epoch` (one epoch of the compiled `agent.program` = the work of (a) plus (b), plus buffer inserts):
                env steps/s and updates/s
  ratio         fused_time / (rollout_time + update_time) for the same work (1.0 = no overhead)
  sampling      a jitted lax.scan of `--sample_calls` calls of `buffer.sample` (batch_size) on two
                synthetic buffers that differ only in episode length (100 vs 1000 steps), and the
                ratio long / short (1.0 = sampling cost flat in episode length)
  memory        host peak RSS (getrusage) and, where the device reports it, peak device bytes
  compile       lower + compile time of every jitted part

Every jitted part is compiled once with .lower().compile() (timed), called once as a warm-up
(not timed), then timed `--epochs` times with block_until_ready. (a), (b) and (c) are timed in
interleaved rounds (a, b, c, a, b, c, ...) so that they see the same background load; the
reported time of a part is the best (minimum) over its repeats, the median is given too. One
TrainState is threaded through (b) and (c) (both donate it), so the update benchmark's buffer
holds the prefill plus the epochs timed before it.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import gc
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import sys
import time

import jax
import jax.numpy as jnp

import crlx
from crlx import buffer as replay
from crlx.agent import make_agent
from crlx.config import ConfigError
from crlx.train import parse_args
from crlx.types import Transition


# ---- measuring helpers --------------------------------------------------------------------------


def host_peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def device_memory() -> dict:
    """peak_bytes_in_use / bytes_limit of the first device where it reports them (GPU), else None."""
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # backends without memory stats may raise instead of returning None
        stats = None
    stats = stats or {}
    return {
        "device_peak_bytes_in_use": stats.get("peak_bytes_in_use"),
        "device_bytes_limit": stats.get("bytes_limit"),
    }


def compile_timed(jitted, *args):
    """(compiled executable, seconds for lower + compile)."""
    t0 = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    return compiled, time.perf_counter() - t0


def run_timed(fn, *args):
    """(output, wall seconds, process CPU seconds) of one call, waiting for the result; no gc inside.

    CPU seconds count every thread of this process; other processes on a shared machine steal
    wall time but not (much) CPU time, so their ratio shows how busy the machine was.
    """
    gc.collect()
    gc.disable()
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    finally:
        gc.enable()
    return out, seconds, cpu_seconds


def summary(times: list[float], cpu_times: list[float]) -> dict:
    """time_s is the best (minimum) of the repeats: background load only ever adds time."""
    return {
        "time_s": min(times),
        "median_s": statistics.median(times),
        "times_s": times,
        "cpu_time_s": min(cpu_times),
        "cpu_times_s": cpu_times,
    }


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# ---- the benchmarked functions ------------------------------------------------------------------


def make_rollout(agent):
    """(actor_params, env_state, key) -> (env_state, key, metrics): iterations_per_epoch collects."""
    cfg = agent.cfg

    def rollout(actor_params, env_state, key):
        def body(carry, _):
            env_state, key = carry
            key, k_collect = jax.random.split(key)
            env_state, _traj, metrics = agent.collect(actor_params, env_state, k_collect, False)
            return (env_state, key), metrics

        (env_state, key), metrics = jax.lax.scan(body, (env_state, key), None, length=cfg.iterations_per_epoch)
        return env_state, key, jax.tree.map(jnp.mean, metrics)

    return jax.jit(rollout, donate_argnums=1)


def make_updates(agent):
    """(train_state, key) -> (train_state, key, metrics): iterations_per_epoch * updates_per_iteration updates."""
    cfg = agent.cfg
    num_updates = cfg.iterations_per_epoch * cfg.updates_per_iteration

    def updates(ts, key):
        key, k_updates = jax.random.split(key)
        ts, metrics = jax.lax.scan(agent.update, ts, jax.random.split(k_updates, num_updates))
        return ts, key, jax.tree.map(jnp.mean, metrics)

    return jax.jit(updates, donate_argnums=0)


def make_synthetic_buffer(agent, capacity: int):
    """(key, episode_length) -> a full BufferState of random states whose episodes last episode_length steps.

    Every env's episode boundaries are shifted by a random offset, as in a running env batch.
    """
    cfg, env = agent.cfg, agent.env

    def fill(key, episode_length):
        k_state, k_action, k_offset = jax.random.split(key, 3)
        shape = (capacity, cfg.num_envs)
        states = jax.random.normal(k_state, (*shape, env.state_dim))
        actions = jax.random.uniform(k_action, (*shape, env.action_size), minval=-1.0, maxval=1.0)
        offset = jax.random.randint(k_offset, (cfg.num_envs,), 0, episode_length)
        t = jnp.arange(capacity, dtype=jnp.int32)[:, None]
        done = ((t + offset[None, :] + 1) % episode_length == 0).astype(jnp.float32)
        buf = replay.init(capacity, cfg.num_envs, env.state_dim, env.action_size)
        return replay.insert(buf, Transition(state=states, action=actions, done=done))

    return jax.jit(fill)


def make_sample_many(agent, calls: int):
    """(buffer, key) -> checksum: `calls` samples of batch_size with the run's goal settings."""
    cfg = agent.cfg
    sample = functools.partial(
        replay.sample,
        batch_size=cfg.batch_size,
        goal_fn=agent.env.achieved_goal,
        strategy=cfg.buffer.goal_strategy,
        discount=cfg.discount,
        random_goal_prob=cfg.buffer.random_goal_prob,
    )

    def sample_many(buf, key):
        def body(total, k):
            batch = sample(buf, k)  # summed so that XLA cannot drop the gathers
            return total + batch.state.sum() + batch.action.sum() + batch.goal.sum(), None

        return jax.lax.scan(body, jnp.zeros((), jnp.float32), jax.random.split(key, calls))[0]

    return jax.jit(sample_many)


# ---- the run ------------------------------------------------------------------------------------


def parse(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--env", default="ant")
    parser.add_argument("--num_envs", type=int, default=128)
    parser.add_argument("--iterations_per_epoch", type=int, default=2, help="iterations in one timed call")
    parser.add_argument(
        "--epochs", type=int, default=5, help="timed repeats (interleaved rounds) of every part, after one warm-up call"
    )
    parser.add_argument("--sample_capacity", type=int, default=2000, help="steps per env of the synthetic buffers")
    parser.add_argument("--sample_calls", type=int, default=2000, help="buffer.sample calls in one timed call")
    parser.add_argument("--sample_repeats", type=int, default=5, help="timed repeats of the sampling benchmark")
    parser.add_argument(
        "--episode_lengths", type=int, nargs=2, default=[100, 1000], metavar=("SHORT", "LONG"),
        help="episode lengths of the two synthetic buffers",
    )
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args, rest = parser.parse_known_args(argv)
    for name in ("iterations_per_epoch", "epochs", "sample_capacity", "sample_calls", "sample_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if min(args.episode_lengths) < 1:
        parser.error("--episode_lengths must be >= 1")
    rest = [a for a in rest if a != "--"]
    return args, rest


def benchmark(args, rest: list[str]) -> dict:
    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    base, _ = parse_args(["--env", args.env, "--num_envs", str(args.num_envs), *rest])
    steps = args.iterations_per_epoch * base.env_steps_per_iteration
    cfg = base.replace(total_env_steps=steps * args.epochs, num_epochs=args.epochs)
    assert cfg.iterations_per_epoch == args.iterations_per_epoch
    num_updates = cfg.iterations_per_epoch * cfg.updates_per_iteration
    rss_after: dict[str, float] = {}

    agent = make_agent(cfg)
    key = jax.random.PRNGKey(cfg.seed)
    init, init_compile_s = compile_timed(agent.init, key)
    state, init_run_s, _ = run_timed(init, key)
    program, prefill_compile_s = compile_timed(agent.program, state, *agent.epoch_args)  # prefill and epochs
    state, prefill_run_s, _ = run_timed(lambda ts: agent.prefill(ts, step=lambda t: agent.prefill_step(t, program)), state)
    rss_after["prefill"] = host_peak_rss_mb()

    # (a), (b), (c): compile, warm up, then interleaved timed rounds.
    k_rollout, k_update = jax.random.split(jax.random.fold_in(key, 1))
    # The rollout's own copies: (b) and (c) donate `state`; the rollout keeps this fixed policy.
    env_state = jax.tree.map(jnp.array, state.env_state)
    actor_params = jax.tree.map(jnp.array, state.actor_params)
    rollout, rollout_compile_s = compile_timed(make_rollout(agent), actor_params, env_state, k_rollout)
    rss_after["compile rollout"] = host_peak_rss_mb()
    updates, update_compile_s = compile_timed(make_updates(agent), state, k_update)
    rss_after["compile update"] = host_peak_rss_mb()
    epoch, fused_compile_s = functools.partial(agent.train_epoch, program=program), prefill_compile_s
    rss_after["compile fused"] = host_peak_rss_mb()

    env_state, k_rollout, _ = jax.block_until_ready(rollout(actor_params, env_state, k_rollout))
    state, k_update, _ = jax.block_until_ready(updates(state, k_update))
    state, _ = jax.block_until_ready(epoch(state))
    times: dict[str, list[float]] = {"rollout": [], "update": [], "fused": []}
    cpu_times: dict[str, list[float]] = {"rollout": [], "update": [], "fused": []}
    for _ in range(args.epochs):
        (env_state, k_rollout, _), seconds, cpu_seconds = run_timed(rollout, actor_params, env_state, k_rollout)
        times["rollout"].append(seconds)
        cpu_times["rollout"].append(cpu_seconds)
        (state, k_update, _), seconds, cpu_seconds = run_timed(updates, state, k_update)
        times["update"].append(seconds)
        cpu_times["update"].append(cpu_seconds)
        (state, _), seconds, cpu_seconds = run_timed(epoch, state)
        times["fused"].append(seconds)
        cpu_times["fused"].append(cpu_seconds)
    rss_after["timed parts"] = host_peak_rss_mb()
    del state, env_state, actor_params

    # Buffer sampling vs episode length: two synthetic buffers identical but for their done flags.
    short_len, long_len = args.episode_lengths
    fill, fill_compile_s = compile_timed(make_synthetic_buffer(agent, args.sample_capacity), key, jnp.int32(short_len))
    k_fill = jax.random.fold_in(key, 2)  # the same states, actions and offsets in both buffers
    buffers = {}
    for name, length in (("short", short_len), ("long", long_len)):
        buffers[name] = jax.block_until_ready(fill(k_fill, jnp.int32(length)))
    k_sample = jax.random.fold_in(key, 3)
    sample_many = make_sample_many(agent, args.sample_calls)
    sample_many, sample_compile_s = compile_timed(sample_many, buffers["short"], k_sample)
    for name in buffers:
        jax.block_until_ready(sample_many(buffers[name], k_sample))
    sample_times: dict[str, list[float]] = {"short": [], "long": []}
    sample_cpu_times: dict[str, list[float]] = {"short": [], "long": []}
    for _ in range(args.sample_repeats):
        for name in buffers:  # same keys for both buffers: the same (env, t) draws
            _, seconds, cpu_seconds = run_timed(sample_many, buffers[name], k_sample)
            sample_times[name].append(seconds)
            sample_cpu_times[name].append(cpu_seconds)
    rss_after["sampling"] = host_peak_rss_mb()
    del buffers

    # ---- results ----
    rollout_res = {"compile_s": rollout_compile_s, **summary(times["rollout"], cpu_times["rollout"])}
    rollout_res["env_steps_per_s"] = steps / rollout_res["time_s"]
    update_res = {"compile_s": update_compile_s, **summary(times["update"], cpu_times["update"])}
    update_res["updates_per_s"] = num_updates / update_res["time_s"]
    fused_res = {"compile_s": fused_compile_s, **summary(times["fused"], cpu_times["fused"])}
    fused_res["env_steps_per_s"] = steps / fused_res["time_s"]
    fused_res["updates_per_s"] = num_updates / fused_res["time_s"]

    def over_parts(fused: float, rollout: float, update: float) -> float:
        return fused / (rollout + update)

    ratio = over_parts(fused_res["time_s"], rollout_res["time_s"], update_res["time_s"])
    ratio_median = over_parts(fused_res["median_s"], rollout_res["median_s"], update_res["median_s"])
    ratio_rounds = [over_parts(*r) for r in zip(times["fused"], times["rollout"], times["update"])]
    ratio_cpu = over_parts(fused_res["cpu_time_s"], rollout_res["cpu_time_s"], update_res["cpu_time_s"])

    sampling = {
        "capacity": args.sample_capacity,
        "num_envs": cfg.num_envs,
        "batch_size": cfg.batch_size,
        "calls": args.sample_calls,
        "repeats": args.sample_repeats,
        "goal_strategy": cfg.buffer.goal_strategy,
        "fill_compile_s": fill_compile_s,
        "compile_s": sample_compile_s,
    }
    for name, length in (("short", short_len), ("long", long_len)):
        res = {"episode_length": length, **summary(sample_times[name], sample_cpu_times[name])}
        res["us_per_call"] = 1e6 * res["time_s"] / args.sample_calls
        res["samples_per_s"] = args.sample_calls * cfg.batch_size / res["time_s"]
        sampling[name] = res
    sampling["long_over_short"] = sampling["long"]["time_s"] / sampling["short"]["time_s"]
    sampling["long_over_short_cpu"] = sampling["long"]["cpu_time_s"] / sampling["short"]["cpu_time_s"]

    device = jax.devices()[0]
    return {
        "env": cfg.env,
        "backend": agent.env.spec.backend,
        "num_envs": cfg.num_envs,
        "unroll_length": cfg.unroll_length,
        "batch_size": cfg.batch_size,
        "updates_per_iteration": cfg.updates_per_iteration,
        "iterations_per_epoch": cfg.iterations_per_epoch,
        "critic_width_depth": [cfg.critic.width, cfg.critic.depth],
        "actor_width_depth": [cfg.actor.width, cfg.actor.depth],
        "crlx_flags": rest,
        "config": cfg.to_dict(),
        "work_per_call": {"env_steps": steps, "updates": num_updates},
        "repeats": args.epochs,
        "timing": "time_s = best of `repeats` timed wall-clock calls after one warm-up call (block_until_ready); "
        "rollout, update and fused timed in interleaved rounds; median_s and every time in times_s too; "
        "cpu_time_s = best process CPU time (all threads) of a call; fused_over_parts = fused.time_s / "
        "(rollout.time_s + update.time_s); _median from the medians, _rounds per round, _cpu from cpu_time_s",
        "rollout": rollout_res,
        "update": update_res,
        "fused": fused_res,
        "fused_over_parts": ratio,
        "fused_over_parts_median": ratio_median,
        "fused_over_parts_rounds": ratio_rounds,
        "fused_over_parts_cpu": ratio_cpu,
        "sampling": sampling,
        "init": {"compile_s": init_compile_s, "run_s": init_run_s},
        "prefill": {
            "compile_s": prefill_compile_s,
            "run_s": prefill_run_s,
            "env_steps": cfg.prefill_iterations * cfg.env_steps_per_iteration,
        },
        "memory": {"host_peak_rss_mb": host_peak_rss_mb(), "host_peak_rss_mb_after": rss_after, **device_memory()},
        # the keys of the earlier fused-only script, now from the best fused epoch
        "env_steps_per_s": fused_res["env_steps_per_s"],
        "updates_per_s": fused_res["updates_per_s"],
        "epoch_s": fused_res["time_s"],
        "compile_s": fused_compile_s,
        "prefill_s_incl_compile": prefill_compile_s + prefill_run_s,
        "device": str(device),
        "device_kind": device.device_kind,
        "platform": device.platform,
        "device_count": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "load_avg_start": list(load_start),
        "load_avg_end": list(os.getloadavg()),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "jax": jax.__version__,
        "jaxlib": package_version("jaxlib"),
        "crlx": crlx.__version__,
        "versions": {
            name: package_version(name) for name in ("flax", "optax", "brax", "mujoco", "mujoco-mjx", "numpy")
        },
        "python": platform.python_version(),
        "date": started.strftime("%Y-%m-%d"),
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_s": (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(),
    }


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def report(r: dict) -> str:
    """The human-readable table."""
    work = r["work_per_call"]
    lines = [
        f"crlx benchmark: {r['env']} ({r['backend']}), {r['num_envs']} envs, unroll {r['unroll_length']}, "
        f"batch {r['batch_size']}, {r['updates_per_iteration']} updates/iteration, "
        f"{r['iterations_per_epoch']} iterations per call = {work['env_steps']:,} env steps + "
        f"{work['updates']:,} updates",
        f"device {r['device']} ({r['device_kind']}), jax {r['jax']}, crlx {r['crlx']}, python {r['python']}, "
        f"{r['started_utc']}, {r['cpu_count']} CPUs, "
        f"load avg {r['load_avg_start'][0]:.2f} -> {r['load_avg_end'][0]:.2f}"
        + (f", XLA_FLAGS={r['xla_flags']}" if r["xla_flags"] else ""),
        f"times: best of {r['repeats']} wall-clock calls after one warm-up call (median in brackets), in "
        "interleaved rounds; cpu s = best process CPU time of a call (all threads)",
        "",
        f"{'part':<22}{'compile s':>10}{'best s':>10}{'(median)':>11}{'cpu s':>9}{'env steps/s':>14}{'updates/s':>12}",
    ]
    rows = (
        ("(a) rollout", r["rollout"], r["rollout"].get("env_steps_per_s"), None),
        ("(b) update", r["update"], None, r["update"].get("updates_per_s")),
        ("(c) fused epoch", r["fused"], r["fused"]["env_steps_per_s"], r["fused"]["updates_per_s"]),
    )
    for name, res, env_rate, upd_rate in rows:
        lines.append(
            f"{name:<22}{res['compile_s']:>10.2f}{res['time_s']:>10.4g}{'(' + format(res['median_s'], '.4g') + ')':>11}"
            f"{res['cpu_time_s']:>9.4g}{fmt_rate(env_rate):>14}{fmt_rate(upd_rate):>12}"
        )
    lines += [
        "",
        f"fused / (rollout + update) = {r['fused']['time_s']:.4g} / ({r['rollout']['time_s']:.4g} + "
        f"{r['update']['time_s']:.4g}) = {r['fused_over_parts']:.3f}   (goal <= 1.15)",
        f"  same ratio from the medians {r['fused_over_parts_median']:.3f}, from CPU times "
        f"{r['fused_over_parts_cpu']:.3f}, per round " + ", ".join(f"{x:.3f}" for x in r["fused_over_parts_rounds"]),
        "",
    ]
    s = r["sampling"]
    lines.append(
        f"buffer.sample: synthetic buffer {s['capacity']:,} steps x {s['num_envs']} envs, batch {s['batch_size']}, "
        f"{s['calls']:,} calls per timing, best of {s['repeats']}; compile {s['compile_s']:.2f} s "
        f"(buffer fill {s['fill_compile_s']:.2f} s)"
    )
    for name in ("short", "long"):
        res = s[name]
        lines.append(
            f"  episode length {res['episode_length']:>5}: {res['time_s']:.4g} s (median {res['median_s']:.4g}) "
            f"= {res['us_per_call']:.1f} us/call, {res['samples_per_s']:,.0f} samples/s"
        )
    lines += [
        f"  long / short = {s['long_over_short']:.3f}   (goal ~1.0; from CPU times {s['long_over_short_cpu']:.3f})",
        "",
        f"init: compile {r['init']['compile_s']:.2f} s, run {r['init']['run_s']:.3f} s; "
        f"prefill: compile {r['prefill']['compile_s']:.2f} s, run {r['prefill']['run_s']:.3f} s "
        f"({r['prefill']['env_steps']:,} env steps)",
    ]
    m = r["memory"]
    device_peak = m["device_peak_bytes_in_use"]
    lines.append(
        f"memory: host peak RSS {m['host_peak_rss_mb']:,.0f} MiB ("
        + ", ".join(f"after {k}: {v:,.0f}" for k, v in m["host_peak_rss_mb_after"].items())
        + "); device peak in use: "
        + (f"{device_peak / 2**20:,.0f} MiB" if device_peak is not None else "not reported by this device")
    )
    lines.append(f"total wall time {r['wall_s']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args, rest = parse(argv)
    try:
        result = benchmark(args, rest)
    except ConfigError as err:
        print(f"benchmark: error: {err}", file=sys.stderr)
        return 2
    print(report(result), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
