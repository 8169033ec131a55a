"""Single-goal exploration (SGCRL; Liu et al. 2024, "A Single Goal is All You Need: Skills and
Exploration Emerge from Contrastive RL without Rewards, Demonstrations, or Subgoals").

`SingleGoal(env, goal)` commands the one goal g* in every episode; `fixed_goal(env, name, seed)`
is the goal the env's reset draws with the key fold_in(PRNGKey(seed), crc32(name)), so g* is fixed
per run and per task. Start states stay random. Only the commanded goal changes: the replay buffer still stores
states, and the critic and actor still train on hindsight future-state goals; evaluation (which
wraps the same env) commands g* too.

With `Config.single_goal` (`--single_goal True` in crlx.train, `--single_goal` in crlx.continual),
crlx.preflight.build_env returns `SingleGoal(env, fixed_goal(env, cfg.env, cfg.seed))`.
"""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
from brax.envs.base import State, Wrapper

from crlx.envs import GoalEnv


def fixed_goal(env: GoalEnv, name: str, seed: int) -> jax.Array:
    """The goal env.reset draws with key fold_in(PRNGKey(seed), crc32(name)): (goal_dim,)."""
    key = jax.random.fold_in(jax.random.PRNGKey(seed), zlib.crc32(name.encode()) & 0x7FFFFFFF)
    return jax.device_get(jax.jit(env.reset)(key).info["goal"])


class SingleGoal(Wrapper):
    """`env` with every episode commanding the same goal `goal` (obs, info['goal'], metrics)."""

    def __init__(self, env: GoalEnv, goal: jax.Array):
        super().__init__(env)
        self.goal = jnp.asarray(goal, jnp.float32)

    def reset(self, rng: jax.Array) -> State:
        state = self.env.reset(rng)
        state_vec = state.obs[..., : self.env.state_dim]
        goal = jnp.broadcast_to(self.goal, state.info["goal"].shape).astype(state.info["goal"].dtype)
        metrics = dict(state.metrics, **self.env.goal_metrics(state_vec, goal))
        info = dict(state.info, goal=goal)
        return state.replace(obs=jnp.concatenate([state_vec, goal], axis=-1), reward=-metrics["dist"],
                             metrics=metrics, info=info)

    def step(self, state: State, action: jax.Array) -> State:
        return self.env.step(state, action)  # GoalEnv.next_state reads the goal from info["goal"]
