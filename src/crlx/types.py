"""Named containers passed through the fused training step."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
from flax import struct


class Transition(NamedTuple):
    """One collected step per env: arrays of shape (T, num_envs, ...) when stacked by the unroll."""

    state: jax.Array  # (..., state_dim) state s_t seen before acting (goal part of obs dropped)
    action: jax.Array  # (..., action_dim) action a_t
    done: jax.Array  # (...,) 1.0 when a_t ended the episode (the next state starts a new one)


class Batch(NamedTuple):
    """A sampled training batch with hindsight goals."""

    state: jax.Array  # (B, state_dim)
    action: jax.Array  # (B, action_dim)
    goal: jax.Array  # (B, goal_dim): achieved goal of a future state of the same episode (critic positives)
    actor_goal: jax.Array  # (B, goal_dim): the actor loss's goal: `goal`, or a random one (buffer.random_goal_prob)


@struct.dataclass
class TrainState:
    """Everything that changes during training; the only traced input of the fused epoch."""

    actor_params: Any
    critic_params: Any
    log_alpha: jax.Array
    actor_opt: Any
    critic_opt: Any
    alpha_opt: Any
    buffer: Any
    env_state: Any
    key: jax.Array
    env_steps: jax.Array  # () int: training env steps so far (prefill excluded)
    updates: jax.Array  # () int: gradient updates so far
