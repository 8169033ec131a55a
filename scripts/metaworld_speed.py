"""Meta-World ports, MJX's JAX implementation against MuJoCo Warp: compile times and env steps/s.

    python scripts/metaworld_speed.py [--envs mw_push_back mw_push mw_hammer] [--num_envs 1024 4096] \
        [--backends warp mjx] [--steps 100] [--train_num_envs 1024] [--budget_s 300] [--json out.json]

Needs the warp extra beside Meta-World's scene files (README, "Meta-World on MuJoCo Warp"). For
each env, backend and number of envs it measures, one process alone on the machine:

  reset     lower + compile of jit(vmap(env.reset)) and one call   } at the first size measured
  step      lower + compile of jit(vmap(env.step)) (the env step:  } of each env and backend
            5 physics steps and kinematics)
  rollout   `--steps` steps of uniform random actions through crlx's training wrapper (episode
            limit, auto-reset with fresh goals) in one jitted lax.scan: lower + compile, the first
            call (on warp it loads, or on a fresh machine compiles, MuJoCo Warp's kernels), then
            env steps/s = num_envs * steps / best of 2 calls
  train     (for `--train_num_envs`) `crlx.train` with the env's card and that many envs: its
            compile and prefill seconds and the env steps/s of its training epochs after the first
            (perf/env_steps_per_s: collect, buffer insert and the CRL updates; evaluation excluded)

Measurements run in order of importance (warp first, then the JAX implementation, rollouts before
training runs) and stop being started once `--budget_s` seconds have passed: the rest is reported
as skipped. Each result is printed as a JSON line when it is measured and written to `--json` as it
grows, so a run cut short keeps what it measured. At the end: the JSON and a markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import tempfile
import time

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("CRLX_COMPILATION_CACHE", "0")  # compile times of a fresh machine, not of a cache hit

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import crlx  # noqa: E402,F401  (XLA flags before the first computation)
from crlx.envs import make_env, wrap_for_training  # noqa: E402


def versions() -> dict:
    out = {}
    for name in ("jax", "jaxlib", "mujoco", "mujoco-mjx", "warp-lang", "metaworld", "brax"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def timed(fn, *args):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - t0


def compiled(fn, *args):
    """(executable, wall seconds of lower + compile); CPU seconds of this process go to CPU_SECONDS."""
    t0, c0 = time.perf_counter(), time.process_time()
    executable = jax.jit(fn).lower(*args).compile()
    CPU_SECONDS[getattr(fn, "__name__", "fn")] = time.process_time() - c0
    return executable, time.perf_counter() - t0


CPU_SECONDS: dict[str, float] = {}
"""process CPU seconds of the last compile of each function name (a shared machine steals wall time, not these)"""


def measure_physics(name: str, backend: str, num_envs: int, steps: int, parts: bool) -> dict:
    """Compile time of a random-action rollout and its env steps/s; with `parts`, also the
    compile times of the batched reset and step alone."""
    t0 = time.perf_counter()
    env = make_env(name, backend=backend)
    row = {"env": name, "backend": backend, "num_envs": num_envs, "kind": "random actions",
           "build_s": time.perf_counter() - t0}
    if parts:
        keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
        reset, row["compile_reset_s"] = compiled(jax.vmap(env.reset), keys)
        state, row["first_reset_s"] = timed(reset, keys)
        actions = jnp.zeros((num_envs, env.action_size))
        _, row["compile_step_s"] = compiled(jax.vmap(env.step), state, actions)

    training = wrap_for_training(env)

    def rollout(key):
        state = training.reset(jax.random.split(key, num_envs))

        def body(state, k):
            action = jax.random.uniform(k, (num_envs, env.action_size), minval=-1.0, maxval=1.0)
            state = training.step(state, action)
            return state, state.metrics["success"].mean()

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1]

    run, row["compile_rollout_s"] = compiled(rollout, jax.random.PRNGKey(0))
    row["compile_rollout_cpu_s"] = CPU_SECONDS["rollout"]
    _, row["first_rollout_s"] = timed(run, jax.random.PRNGKey(1))
    c0 = time.process_time()
    best = min(timed(run, jax.random.PRNGKey(seed))[1] for seed in (2, 3))
    row["rollout_s"], row["rollout_cpu_s"] = best, (time.process_time() - c0) / 2
    row["env_steps_per_s"] = num_envs * steps / best
    return row


def measure_training(name: str, backend: str, num_envs: int, flags: list[str]) -> dict:
    """crlx.train with the env's card at `num_envs` envs: compile, prefill, training env steps/s."""
    from crlx.train import parse_args

    unroll = 62
    with tempfile.TemporaryDirectory() as run_dir:
        cfg, _ = parse_args(["--env", name, "--backend", backend, "--num_envs", str(num_envs), "--scale", "cpu",
                             "--unroll_length", str(unroll), "--num_epochs", "3",
                             "--total_env_steps", str(3 * 2 * num_envs * unroll),
                             "--buffer.min_replay_size", str(unroll), "--num_eval_envs", "64",
                             "--log.run_dir", run_dir, "--log.progress", "False", "--log.plots", "False", *flags])
        t0, c0 = time.perf_counter(), time.process_time()
        result = crlx.train(cfg)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = result.history
    first = next(r for r in rows if "perf/compile_s" in r)
    epochs = [r["perf/env_steps_per_s"] for r in rows if "perf/env_steps_per_s" in r]
    return {"env": name, "backend": backend, "num_envs": num_envs, "kind": "CRL training",
            "compile_train_s": first["perf/compile_s"], "prefill_s": first.get("perf/prefill_s"),
            "env_steps_per_s": max(epochs[1:] or epochs), "epochs_env_steps_per_s": epochs, "wall_s": wall, "cpu_s": cpu,
            "updates_per_iteration": cfg.updates_per_iteration, "batch_size": cfg.batch_size}


def plan(args) -> list[tuple]:
    """(kind, env, backend, num_envs) in order of importance: the first env at the first size on
    every backend and its training run on the first backend, then every backend's random-action
    rollouts, then the training runs."""
    first = args.envs[0]
    jobs = [("physics", first, backend, n) for backend in args.backends for n in args.num_envs[:1]]
    jobs += [("train", first, args.backends[0], n) for n in args.train_num_envs]
    jobs += [("physics", name, backend, n) for backend in args.backends for name in args.envs for n in args.num_envs]
    jobs += [("train", name, backend, n) for backend in args.backends for name in args.envs for n in args.train_num_envs]
    return list(dict.fromkeys(jobs))


def table(rows: list[dict]) -> str:
    lines = ["| env | backend | envs | measured | env steps/s | compile s (reset / step / rollout or train) | first call s | prefill s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "skipped" in r or "error" in r:
            lines.append(f"| {r['env']} | {r['backend']} | {r['num_envs']} | {r['kind']} | "
                         f"{r.get('skipped') or r.get('error')} | | | |")
            continue
        if r["kind"] == "random actions":
            parts = [r.get("compile_reset_s"), r.get("compile_step_s"), r["compile_rollout_s"]]
            compile_s = " / ".join("-" if v is None else f"{v:.1f}" for v in parts)
            first, prefill = f"{r['first_rollout_s']:.1f}", ""
        else:
            compile_s, first = f"train {r['compile_train_s']:.1f}", ""
            prefill = "" if r.get("prefill_s") is None else f"{r['prefill_s']:.1f}"
        lines.append(f"| {r['env']} | {r['backend']} | {r['num_envs']} | {r['kind']} | {r['env_steps_per_s']:,.0f} | "
                     f"{compile_s} | {first} | {prefill} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["mw_push_back", "mw_push", "mw_hammer"])
    parser.add_argument("--num_envs", nargs="*", type=int, default=[1024, 4096],
                        help="envs of the random-action rollouts (none: no rollouts)")
    parser.add_argument("--backends", nargs="+", default=["warp", "mjx"], choices=["warp", "mjx"])
    parser.add_argument("--steps", type=int, default=100, help="env steps per timed random-action rollout")
    parser.add_argument("--train_num_envs", nargs="*", type=int, default=[1024],
                        help="envs of the CRL training runs (none: no training runs)")
    parser.add_argument("--train_flags", nargs=argparse.REMAINDER, default=[],
                        help="last: crlx.train flags for the training runs, e.g. --train_flags --num_eval_envs 4 "
                             "--episode_length 50 (a CPU's run)")
    parser.add_argument("--budget_s", type=float, default=300.0,
                        help="start no measurement after this many seconds; the rest is reported as skipped")
    parser.add_argument("--json", default=None, help="write the results here (also while measuring)")
    args = parser.parse_args(argv)

    report = {"date": datetime.date.today().isoformat(), "device": str(jax.devices()[0]),
              "device_kind": jax.devices()[0].device_kind, "platform": platform.platform(),
              "cpu_count": os.cpu_count(), "versions": versions(), "args": vars(args), "results": []}
    start, measured = time.perf_counter(), set()
    for kind, name, backend, n in plan(args):
        base = {"env": name, "backend": backend, "num_envs": n, "kind": "random actions" if kind == "physics" else "CRL training"}
        if time.perf_counter() - start > args.budget_s:
            row = {**base, "skipped": f"budget of {args.budget_s:.0f} s spent"}
        else:
            try:
                if kind == "physics":
                    row = measure_physics(name, backend, n, args.steps, parts=(name, backend) not in measured)
                    measured.add((name, backend))
                else:
                    row = measure_training(name, backend, n, args.train_flags)
            except Exception as err:  # one failed measurement (e.g. out of memory) must not lose the others
                row = {**base, "error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}
        row["elapsed_s"] = time.perf_counter() - start
        report["results"].append(row)
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    print(table(report["results"]))
    return report


if __name__ == "__main__":
    main()
