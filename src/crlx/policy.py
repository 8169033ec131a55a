"""`make_policy(params, cfg)`: a jitted deterministic action function for a trained agent."""

from __future__ import annotations

from typing import Callable

import jax

from crlx.config import Config
from crlx.envs import make_env
from crlx.evaluate import deterministic_action
from crlx.networks import Actor


def make_policy(params: dict, cfg: Config) -> Callable[[jax.Array], jax.Array]:
    """obs (..., state_dim + goal_dim) -> action (..., action_dim) = tanh(mean); params from `train`."""
    env = make_env(cfg.env, **cfg.env_overrides())
    actor = Actor(cfg.actor, env.action_size)
    actor_params = params["actor"] if "actor" in params else params
    return jax.jit(lambda obs: deterministic_action(actor, actor_params, obs))
