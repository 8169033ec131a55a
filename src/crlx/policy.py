"""`make_policy(params, cfg)`: a jitted deterministic action function for a trained agent."""

from __future__ import annotations

from typing import Callable

import jax

from crlx.config import Config
from crlx.envs import make_env
from crlx.evaluate import deterministic_action
from crlx.networks import Actor


def make_policy(params: dict, cfg: Config, seed_index: int | None = None) -> Callable[[jax.Array], jax.Array]:
    """obs (..., state_dim + goal_dim) -> action (..., action_dim) = tanh(mean); params from `train`.

    With cfg.num_seeds > 1 the params carry a leading seed axis: pick one with seed_index.
    """
    env = make_env(cfg.env, **cfg.env_overrides())
    actor = Actor(cfg.actor, env.action_size)
    actor_params = params["actor"] if "actor" in params else params
    if cfg.seeds_batched:
        if seed_index is None or not 0 <= seed_index < cfg.num_seeds:
            raise ValueError(
                f"make_policy: params hold {cfg.num_seeds} seeds; pass seed_index in [0, {cfg.num_seeds}), got {seed_index}"
            )
        actor_params = jax.tree.map(lambda x: x[seed_index], actor_params)
    return jax.jit(lambda obs: deterministic_action(actor, actor_params, obs))
