"""Meta-World itself as the reference for the MJX ports (needs the `metaworld` extra).

Used by the fidelity tests and `scripts/metaworld_table.py`: the CPU env for a task at a given
reset vector, its scripted expert policy, and the comparisons the docs report.
"""

from __future__ import annotations

import numpy as np

import metaworld
import metaworld.policies

from crlx.envs.metaworld import TASKS, MetaWorldEnv


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
    """`count` reset vectors from the task's box that Meta-World accepts (NumPy draws)."""
    rng = np.random.default_rng(seed)
    task = env.task
    out = []
    while len(out) < count:
        vec = rng.uniform(env.reset_low, env.reset_high).astype(np.float32)
        if bool(task.valid(vec)):
            out.append(vec)
    return np.stack(out)


def task_names() -> list[str]:
    return list(TASKS)
