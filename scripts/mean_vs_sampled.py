"""A trained actor evaluated two ways: tanh(mean) actions (crlx's and JaxGCRL's evaluation) and sampled
actions (the training rollouts' policy), on the same fresh episodes.

    python scripts/mean_vs_sampled.py --episodes 128 -- --env point_hardest_maze --total_env_steps 2000000 --num_seeds 2

Trains the run that crlx.train's arguments (after --) describe, then evaluates its final actor over
`--episodes` episodes per seed in each mode with the same reset keys. Prints, per seed and mode,
eval/success, eval/min_dist, eval/final_dist and eval/episode_steps (steps before a termination),
and writes them to <run dir>/mean_vs_sampled.json. It tells a policy whose mean has not learned from
one whose mean fails where its samples succeed (e.g. steering into a wall, or falling over).
"""

from __future__ import annotations

import argparse
import json

import jax
import numpy as np

import crlx
from crlx import preflight
from crlx.evaluate import make_evaluate
from crlx.networks import Actor
from crlx.train import parse_args

KEYS = ("eval/success", "eval/min_dist", "eval/final_dist", "eval/episode_steps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=128, help="fresh episodes per seed and mode")
    parser.add_argument("train_args", nargs="+", help="crlx.train's arguments, after --")
    args = parser.parse_args()
    if args.episodes < 1:
        raise SystemExit(f"--episodes must be >= 1, got {args.episodes}")
    cfg, resume = parse_args(args.train_args)
    if resume is not None:
        raise SystemExit("--resume: this script trains a fresh run; pass the run's flags instead.")
    result = crlx.train(cfg)
    env = preflight.prepare(cfg)
    actor = Actor(cfg.actor, env.action_size)
    seeds = [cfg.seed + i for i in range(cfg.num_seeds)]
    keys = jax.numpy.stack([jax.random.PRNGKey(10_000 + s) for s in seeds])
    if not cfg.seeds_batched:
        keys = keys[0]
    out = {"command": args.train_args, "episodes": args.episodes, "env_steps": result.history[-1]["env_steps"]}
    for mode in ("mean", "sampled"):
        evaluate = make_evaluate(env, actor, args.episodes, cfg.seeds_batched, actions=mode)
        metrics = jax.device_get(evaluate(result.params["actor"], keys))
        out[mode] = {k: np.atleast_1d(metrics[k]).tolist() for k in KEYS}
        for i, s in enumerate(seeds):
            print(f"seed {s} {mode:>7}: " + ", ".join(f"{k.split('/')[1]} {out[mode][k][i]:.3f}" for k in KEYS),
                  flush=True)
    (result.run_dir / "mean_vs_sampled.json").write_text(json.dumps(out, indent=1))
    print(f"wrote {result.run_dir / 'mean_vs_sampled.json'}")


if __name__ == "__main__":
    main()
