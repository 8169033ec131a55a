"""Measure the Meta-World ports against Meta-World and print the docs/METAWORLD.md tables.

    python scripts/metaworld_table.py [--tasks push-back reach ...] [--layouts 20] [--num_envs 64]

Needs the metaworld extra. Per task, on `--layouts` layouts (reset vectors Meta-World accepts):
- reset: largest |crlx - Meta-World| over the 39 observation values at reset;
- open loop: Meta-World's expert actions (recorded in Meta-World) replayed for 100 steps, largest
  object distance crlx vs Meta-World (mean over layouts in brackets);
- expert success: Meta-World's scripted policy for 500 steps, success at some step, in
  Meta-World and acting on crlx's observations in crlx;
- env steps/s: scripts/env_table.py's measure (random actions, auto-reset) at `--num_envs` envs.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import jax

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from env_table import steps_per_second  # noqa: E402

from crlx.envs import make_env  # noqa: E402
from crlx.envs.metaworld import TASKS, env_name  # noqa: E402
from crlx.envs.metaworld.oracle import (  # noqa: E402
    closed_loop_success,
    expert_rollouts,
    open_loop_deviation,
    reset_deviation,
    reset_vectors,
)

OPEN_LOOP_STEPS = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--layouts", type=int, default=20)
    parser.add_argument("--num_envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50, help="env steps per throughput rollout; 0 skips it")
    args = parser.parse_args()
    print(f"| env | reset max error | open-loop object error, mm: max (mean) | expert success Meta-World / crlx "
          f"| env steps/s at {args.num_envs} envs |")
    print("|---|---|---|---|---|")
    changes = {}
    for task in args.tasks:
        name = env_name(task)
        env = make_env(name)
        changes[name] = env.scene_changes
        vecs = reset_vectors(env, args.layouts)
        reset, step = jax.jit(jax.vmap(env.reset_to)), jax.jit(jax.vmap(env.step))
        actions, observations, success = expert_rollouts(task, vecs, env.spec.episode_length)
        reference = success.any(axis=1)
        error = reset_deviation(task, reset, vecs)
        window = slice(0, OPEN_LOOP_STEPS)
        deviation = open_loop_deviation(reset, step, vecs, actions[:, window], observations[:, window]) * 1000
        ours = closed_loop_success(task, reset, step, vecs, env.spec.episode_length)
        rate = f"{steps_per_second(name, args.num_envs, args.steps)[0]:,.0f}" if args.steps else "not measured"
        print(f"| `{name}` | {error:.1e} | {deviation.max():.1f} ({deviation.mean():.1f}) "
              f"| {reference.sum()}/{len(vecs)} / {ours.sum()}/{len(vecs)} | {rate} |", flush=True)
    print("\n| env | load-time changes |\n|---|---|")
    for name, applied in changes.items():
        print(f"| `{name}` | {'; '.join(applied)} |")


if __name__ == "__main__":
    main()
