"""Single-goal exploration (SGCRL; Liu et al. 2024, "A Single Goal is All You Need: Skills and
Exploration Emerge from Contrastive RL without Rewards, Demonstrations, or Subgoals").

`SingleGoal(env, seed)` commands one fixed goal g* in every episode: g* is the goal the env's
reset draws with the key fold_in(PRNGKey(seed), crc32(env name)), so it is fixed per run and per
task. Start states stay random. Only the commanded goal changes: the replay buffer still stores
states, and the critic and actor still train on hindsight future-state goals; evaluation (which
wraps the same env) commands g* too.

`register_single_goal(name, seed)` adds the wrapped env to `crlx.envs.ENVS` as
'<name>+single_goal_s<seed>' (same options as `name`), so a Config can name it.
"""

from __future__ import annotations

import functools
import inspect
import zlib

import jax
import jax.numpy as jnp
from brax.envs.base import State, Wrapper

from crlx.envs import ENVS, GoalEnv, make_env

SUFFIX = "+single_goal_s"


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


def single_goal_name(name: str, seed: int) -> str:
    return f"{name}{SUFFIX}{seed}"


def register_single_goal(name: str, seed: int) -> str:
    """Register (idempotently) and return the single-goal variant of env `name` for `seed`."""
    alias = single_goal_name(name, seed)
    if alias in ENVS:
        return alias
    if name not in ENVS:
        make_env(name)  # raises the registry's unknown-env error

    def factory(**overrides) -> SingleGoal:
        env = make_env(name, **overrides)
        return SingleGoal(env, _goal_of(name, seed, tuple(sorted(overrides.items()))))

    factory.__signature__ = inspect.signature(ENVS[name])
    factory.__doc__ = f"{name} commanding one fixed goal per run (seed {seed}); see crlx.single_goal."
    ENVS[alias] = factory
    return alias


@functools.cache
def _goal_of(name: str, seed: int, overrides: tuple) -> jax.Array:
    return fixed_goal(make_env(name, **dict(overrides)), name, seed)
