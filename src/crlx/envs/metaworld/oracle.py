"""Meta-World itself as the reference for the MJX ports (needs the `metaworld` extra).

The fidelity tests and `scripts/metaworld_table.py` measure with these functions. `reset` and
`step` are the port's batched (vmapped, usually jitted) `reset_to` and `step`.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import metaworld
import metaworld.policies

from crlx.envs.metaworld.env import MW_OBS_INDICES, MetaWorldEnv

OBJECTS = (slice(4, 7), slice(11, 14))
"""the two object positions in Meta-World's observation"""


def reference_env(task: str, reset_vec: np.ndarray | None = None):
    """Meta-World's goal-observable CPU env for `task`; with `reset_vec`, frozen to that layout."""
    env = metaworld.ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{task}-v3-goal-observable"](seed=0)
    if reset_vec is not None:
        env._last_rand_vec = np.asarray(reset_vec, np.float64)
        env._freeze_rand_vec = True
    return env


def expert(task: str):
    """Meta-World's scripted policy for `task` (`get_action(obs39) -> action4`)."""
    camel = "".join(part.capitalize() for part in task.split("-"))
    return getattr(metaworld.policies, f"Sawyer{camel}V3Policy")()


def reset_vectors(env: MetaWorldEnv, count: int, seed: int = 0) -> np.ndarray:
    """(count, d) reset vectors from the task's box that Meta-World accepts (NumPy draws)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        vec = rng.uniform(env.reset_low, env.reset_high).astype(np.float32)
        if bool(env.task.valid(vec)):
            out.append(vec)
    return np.stack(out)


def expert_rollouts(task: str, reset_vecs: np.ndarray, steps: int):
    """Meta-World's expert in Meta-World from each layout: actions (N, T, 4), observations
    (N, T, 39) after each action, and Meta-World's success after each action (N, T)."""
    actions, observations, success = [], [], []
    for vec in reset_vecs:
        env = reference_env(task, vec)
        obs, _ = env.reset()
        policy, acts, seen, won = expert(task), [], [], []
        for _ in range(steps):
            action = np.clip(policy.get_action(obs), -1.0, 1.0)
            obs, _, _, _, info = env.step(action)
            acts.append(action)
            seen.append(obs)
            won.append(bool(info["success"]))
        actions.append(acts)
        observations.append(seen)
        success.append(won)
    return np.asarray(actions, np.float32), np.asarray(observations), np.asarray(success)


def reset_deviation(task: str, reset, reset_vecs: np.ndarray) -> float:
    """Largest |port - Meta-World| over the reset observations of all layouts."""
    ours = np.asarray(reset(jnp.asarray(reset_vecs)).obs)[:, MW_OBS_INDICES]
    return max(float(np.abs(obs - reference_env(task, vec).reset()[0]).max()) for vec, obs in zip(reset_vecs, ours))


def open_loop_deviation(reset, step, reset_vecs: np.ndarray, actions: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(N,) largest object distance (m) port vs Meta-World per layout, replaying `actions`."""
    state = reset(jnp.asarray(reset_vecs))
    worst = np.zeros(len(reset_vecs))
    for t in range(actions.shape[1]):
        state = step(state, jnp.asarray(actions[:, t]))
        obs = np.asarray(state.obs)[:, MW_OBS_INDICES]
        if not np.isfinite(obs).all():
            return np.full(len(reset_vecs), np.inf)
        for objects in OBJECTS:
            worst = np.maximum(worst, np.linalg.norm(obs[:, objects] - reference[:, t, objects], axis=-1))
    return worst


def closed_loop_success(task: str, reset, step, reset_vecs: np.ndarray, steps: int) -> np.ndarray:
    """(N,) whether Meta-World's expert, acting on the port's observations, succeeds at some step."""
    policies = [expert(task) for _ in reset_vecs]
    state = reset(jnp.asarray(reset_vecs))
    success = np.zeros(len(policies), bool)
    for _ in range(steps):
        obs = np.asarray(state.obs, np.float64)[:, MW_OBS_INDICES]
        actions = np.stack([np.clip(policy.get_action(o), -1.0, 1.0) for policy, o in zip(policies, obs)])
        state = step(state, jnp.asarray(actions, jnp.float32))
        success |= np.asarray(state.metrics["success"]) > 0
        if success.all():
            break
    return success
