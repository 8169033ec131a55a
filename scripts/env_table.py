"""Measure every registered env and print the docs/ENVIRONMENTS.md table.

    python scripts/env_table.py [--num_envs 128] [--steps 200] [--envs ant reacher ...]

`--steps 0` prints the rows without measuring ("not measured").

Throughput: `steps` jitted env steps (lax.scan) of num_envs envs under uniform random actions,
wrapped for training (episode limit + auto-reset with fresh goals), best of 3 after a compile.
"""

from __future__ import annotations

import argparse
import time

import jax

from crlx.envs import ENVS, MW_ENVS, make_env, wrap_for_training

GOALS = {
    "point_mass": "position xy",
    "reacher": "fingertip xyz (disk, radius 0.2 m)",
    "cheetah": "root x (5 m, fixed)",
    "ant": "torso xy (circle, radius 10 m)",
    "ant_random_start": "torso xy (circle, radius 10 m; start 10 m from the goal)",
    "ant_ball": "ball xy, goal on a 5 m circle",
    "ant_push": "torso xy past the block (JaxGCRL's push layout)",
    "ant_ball_maze": "ball xy in a goal cell (big maze)",
    "ant_light_ball": "ball xy (3 m from the ball); or ball xy + torso xy",
    "ant_light_push": "torso xy past a block-plugged corridor",
    "ant_light_ball_maze": "ball xy in a goal cell (U maze)",
    "pusher_easy": "object xyz, goal 0.25-0.55 m along -y",
    "pusher_hard": "object xyz, goal anywhere in a 1 m square",
    "pusher_reacher": "arm tip xyz",
    "planar_pusher_easy": "block xy, 0.1-0.2 m from its start",
    "planar_pusher_hard": "block xy, anywhere in front of the arm",
    "planar_pusher_reacher": "fingertip xy",
    "humanoid": "torso xyz, 1-5 m from the origin at z 1.25",
    "humanoid_light": "torso xyz, 1-5 m away",
    "arm_reach": "hand xyz",
    "arm_push_easy": "cube xyz, 0.06-0.15 m away; or cube xyz + hand offset",
    "arm_push_hard": "cube xyz, >= 0.2 m away; or cube xyz + hand offset",
    "arm_binpick_easy": "cube xyz in the bin (cube starts in the hand)",
    "arm_binpick_hard": "cube xyz in the bin (cube anywhere)",
    "arm_grasp": "cube xyz lifted + both finger openings",
}


def goal_text(name: str) -> str:
    if name in GOALS:
        return GOALS[name]
    if name in MW_ENVS:
        return "the point Meta-World's success rule measures (docs/METAWORLD.md)"
    walker, layout = name.removesuffix("_maze").rsplit("_", 1)  # e.g. "humanoid_light", "big"
    return f"{'position' if walker in ('point', 'simple') else 'torso'} xy in a goal cell ({layout} maze)"


def steps_per_second(name: str, num_envs: int, steps: int) -> tuple[float, float]:
    env = wrap_for_training(make_env(name))
    action_size = env.action_size

    @jax.jit
    def rollout(key):
        state = env.reset(jax.random.split(key, num_envs))

        def body(state, k):
            action = jax.random.uniform(k, (num_envs, action_size), minval=-1.0, maxval=1.0)
            state = env.step(state, action)
            return state, state.metrics["success"].mean()

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1]

    t0 = time.perf_counter()
    jax.block_until_ready(rollout(jax.random.PRNGKey(0)))
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for seed in range(1, 4):
        t0 = time.perf_counter()
        jax.block_until_ready(rollout(jax.random.PRNGKey(seed)))
        best = min(best, time.perf_counter() - t0)
    return num_envs * steps / best, compile_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_envs", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--envs", nargs="*", default=sorted(set(ENVS) - set(MW_ENVS)),
                        help="default: every env but the Meta-World ports (scripts/metaworld_table.py)")
    args = parser.parse_args()
    print(f"| env | obs size | goal (goal_dim) | threshold | episode length | backend | env steps/s at {args.num_envs} envs |")
    print("|---|---|---|---|---|---|---|")
    for name in args.envs:
        env = make_env(name)
        rate = f"{steps_per_second(name, args.num_envs, args.steps)[0]:,.0f}" if args.steps else "not measured"
        print(f"| `{name}` | {env.observation_size} | {goal_text(name)} ({env.goal_dim}) | {env.spec.success_threshold} "
              f"| {env.spec.episode_length} | {env.spec.backend} | {rate} |", flush=True)


if __name__ == "__main__":
    main()
