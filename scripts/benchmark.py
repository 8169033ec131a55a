"""Throughput of the fused training epoch: env steps/s and updates/s, compile time excluded.

    python scripts/benchmark.py --env ant --num_envs 128 --epochs 3 [--json out.json] [-- any crlx.train flags]

Runs prefill, compiles the epoch once (timed separately), then times `--epochs` epochs.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax

import crlx
from crlx.agent import make_agent
from crlx.train import parse_args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="ant")
    parser.add_argument("--num_envs", type=int, default=128)
    parser.add_argument("--iterations_per_epoch", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after the compile")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args, rest = parser.parse_known_args()
    rest = [a for a in rest if a != "--"]
    base, _ = parse_args(["--env", args.env, "--num_envs", str(args.num_envs), *rest])
    steps = args.iterations_per_epoch * base.env_steps_per_iteration
    cfg = base.replace(total_env_steps=steps * args.epochs, num_epochs=args.epochs)
    assert cfg.iterations_per_epoch == args.iterations_per_epoch

    agent = make_agent(cfg)
    t0 = time.perf_counter()
    state = jax.block_until_ready(agent.prefill(agent.init(jax.random.PRNGKey(cfg.seed))))
    prefill_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    epoch = agent.train_epoch.lower(state).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        state, metrics = epoch(state)
    jax.block_until_ready(metrics)
    seconds = time.perf_counter() - t0
    updates = args.epochs * cfg.iterations_per_epoch * cfg.updates_per_iteration
    result = {
        "env": cfg.env,
        "backend": agent.env.spec.backend,
        "num_envs": cfg.num_envs,
        "unroll_length": cfg.unroll_length,
        "batch_size": cfg.batch_size,
        "updates_per_iteration": cfg.updates_per_iteration,
        "critic_width_depth": [cfg.critic.width, cfg.critic.depth],
        "env_steps_per_s": args.epochs * steps / seconds,
        "updates_per_s": updates / seconds,
        "epoch_s": seconds / args.epochs,
        "compile_s": compile_s,
        "prefill_s_incl_compile": prefill_s,
        "device": str(jax.devices()[0]),
        "jax": jax.__version__,
        "crlx": crlx.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
