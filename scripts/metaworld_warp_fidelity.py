"""The ports on MuJoCo 4 (JAX and warp backends) against Meta-World itself, across two environments.

Meta-World 3.1.1's envs run only on its pinned MuJoCo 3.3, and `backend="warp"` needs MuJoCo 4, so
the reference is recorded in the metaworld environment and compared in the warp environment:

    # in the metaworld environment (pip install -e ".[dev,metaworld]")
    python scripts/metaworld_warp_fidelity.py record --out mw_reference.npz [--tasks push faucet-close push-back]
    # in the warp environment (pip install -e ".[dev,warp]"; pip install --no-deps metaworld==3.1.1)
    python scripts/metaworld_warp_fidelity.py compare --reference mw_reference.npz [--backends mjx warp]

`record` runs Meta-World's scripted expert in Meta-World from `--layouts` layouts (the reset vectors
the fidelity tests use: seed 0) and stores its actions, observations and success. `compare` replays
the first `--steps` actions on each backend of the port and prints, per task and backend, the largest
object and hand distance to Meta-World's (mm) and, with both backends, between them ("warp vs mjx"),
as JSON and a markdown table.
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np

import crlx  # noqa: F401  (XLA flags before the first computation)
from crlx.envs import make_env
from crlx.envs.metaworld import env_name
from crlx.envs.metaworld.env import MW_OBS_INDICES


def record(args) -> None:
    from crlx.envs.metaworld.oracle import expert_rollouts, reset_vectors

    arrays = {}
    for task in args.tasks:
        env = make_env(env_name(task))
        vecs = reset_vectors(env, args.layouts)
        actions, observations, success = expert_rollouts(task, vecs, env.spec.episode_length)
        arrays.update({f"{task}/reset_vecs": vecs, f"{task}/actions": actions, f"{task}/observations": observations,
                       f"{task}/success": success})
        print(f"{task}: Meta-World's expert succeeds on {int(success.any(axis=1).sum())}/{len(vecs)} layouts", flush=True)
    np.savez_compressed(args.out, **arrays)


def compare(args) -> None:
    reference = np.load(args.reference)
    tasks = sorted({key.split("/")[0] for key in reference.files})
    rows = []
    for task in tasks:
        vecs, actions = reference[f"{task}/reset_vecs"], reference[f"{task}/actions"][:, : args.steps]
        observed = reference[f"{task}/observations"][:, : args.steps]
        replays = {}
        for backend in args.backends:
            env = make_env(env_name(task), backend=backend)
            reset, step = jax.jit(jax.vmap(env.reset_to)), jax.jit(jax.vmap(env.step))
            state = reset(jnp.asarray(vecs))
            worst = {"hand": 0.0, "object": 0.0}
            replays[backend] = []
            for t in range(actions.shape[1]):
                state = step(state, jnp.asarray(actions[:, t]))
                ours = np.asarray(state.obs)[:, MW_OBS_INDICES]
                replays[backend].append(ours)
                worst["hand"] = max(worst["hand"], float(np.linalg.norm(ours[:, 0:3] - observed[:, t, 0:3], axis=-1).max()))
                for part in (slice(4, 7), slice(11, 14)):
                    worst["object"] = max(worst["object"], float(np.linalg.norm(ours[:, part] - observed[:, t, part], axis=-1).max()))
            rows.append({"env": env_name(task), "backend": backend, "layouts": len(vecs), "steps": int(actions.shape[1]),
                         "object_mm": 1000 * worst["object"], "hand_mm": 1000 * worst["hand"],
                         "metaworld_expert_success": int(reference[f"{task}/success"].any(axis=1).sum())})
            print(json.dumps(rows[-1]), flush=True)
        if {"mjx", "warp"} <= set(replays):
            warp, mjx = np.stack(replays["warp"], 1), np.stack(replays["mjx"], 1)  # (N, T, 39)
            apart = {label: 1000 * float(np.linalg.norm(warp[..., part] - mjx[..., part], axis=-1).max())
                     for label, part in (("hand", slice(0, 3)), ("object", slice(4, 7)), ("object 2", slice(11, 14)))}
            rows.append({"env": env_name(task), "backend": "warp vs mjx", "layouts": len(vecs), "steps": int(actions.shape[1]),
                         "object_mm": max(apart["object"], apart["object 2"]), "hand_mm": apart["hand"]})
            print(json.dumps(rows[-1]), flush=True)
    print("| env | backend (against) | object, mm (max) | hand, mm (max) | layouts x steps |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| `{r['env']}` | {r['backend']} | {r['object_mm']:.1f} | {r['hand_mm']:.1f} | {r['layouts']} x {r['steps']} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="in the metaworld environment: Meta-World's expert episodes")
    rec.add_argument("--out", required=True)
    rec.add_argument("--tasks", nargs="+", default=["push", "faucet-close", "push-back"])
    rec.add_argument("--layouts", type=int, default=10)
    cmp = sub.add_parser("compare", help="in the warp environment: replay them on each backend")
    cmp.add_argument("--reference", required=True)
    cmp.add_argument("--backends", nargs="+", default=["mjx", "warp"])
    cmp.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    record(args) if args.command == "record" else compare(args)


if __name__ == "__main__":
    main()
