"""Deterministic evaluation: one fresh episode per eval env, actions a = tanh(mean(s, g)) (JaxGCRL's
evaluation). For diagnosis, `actions="sampled"` draws a = tanh(u), u ~ N(mean, std) (the training
rollouts' policy) and `actions="uniform"` a ~ U(-1, 1) (the random-policy baseline, no actor).

Per episode (steps after a termination are masked out), averaged over envs:
    eval/success        1 if any step has dist < threshold
    eval/time_near_goal fraction of the episode's steps with dist < threshold
    eval/final_dist     dist at the last step
    eval/min_dist       min over steps of dist
    eval/episode_steps  steps up to and including the terminating one (the episode length if none)
"""

from __future__ import annotations

from typing import Callable, Literal

import jax
import jax.numpy as jnp

from jax.sharding import Mesh

from crlx import parallel
from crlx.envs import GoalEnv, wrap_for_eval
from crlx.networks import Actor, tanh_gaussian_sample


def deterministic_action(actor: Actor, actor_params, obs: jax.Array) -> jax.Array:
    """tanh of the policy mean: (..., obs_dim) -> (..., action_dim)."""
    mean, _ = actor.apply(actor_params, obs)
    return jnp.tanh(mean)


Actions = Literal["mean", "sampled", "uniform"]


def make_evaluate(
    env: GoalEnv, actor: Actor | None, num_envs: int, seeds_batched: bool = False, mesh: Mesh | None = None,
    actions: Actions = "mean",
) -> Callable[[dict, jax.Array], dict]:
    """Returns jitted `evaluate(actor_params, key) -> {"eval/...": scalar}`; with seeds_batched
    (Config.seeds_batched) vmapped over a leading seed axis of params and keys (metrics (num_seeds,)).
    With one agent on a multi-device `mesh` the eval envs are split over its devices. Every `actions`
    mode runs the same episodes (reset keys) for a key."""
    if actions not in ("mean", "sampled", "uniform"):
        raise ValueError(f"make_evaluate: actions must be 'mean', 'sampled' or 'uniform', got {actions!r}")
    eval_env = wrap_for_eval(env)
    length = env.spec.episode_length
    split_envs = mesh is not None and mesh.size > 1 and not seeds_batched

    def evaluate(actor_params, key: jax.Array) -> dict:
        action_key = jax.random.fold_in(key, 1)
        keys = jax.random.split(key, num_envs)
        if split_envs:
            keys = jax.lax.with_sharding_constraint(keys, parallel.batch_sharding(mesh))
        state = eval_env.reset(keys)

        def step(carry, t):
            state, alive = carry
            step_key = jax.random.fold_in(action_key, t)
            if actions == "uniform":
                action = jax.random.uniform(step_key, (num_envs, env.action_size), minval=-1.0, maxval=1.0)
            elif actions == "sampled":
                mean, log_std = actor.apply(actor_params, state.obs)
                action, _ = tanh_gaussian_sample(step_key, mean, log_std)
            else:
                action = deterministic_action(actor, actor_params, state.obs)
            state = eval_env.step(state, action)
            record = (alive, state.metrics["success"], state.metrics["dist"])
            return (state, alive * (1.0 - state.done)), record

        alive0 = jnp.ones((num_envs,))
        _, (alive, success, dist) = jax.lax.scan(step, (state, alive0), jnp.arange(length))  # each (T, E)
        steps = jnp.maximum(jnp.sum(alive, axis=0), 1.0)
        last = jnp.argmax(jnp.cumsum(alive, axis=0), axis=0)  # (E,) index of the last alive step
        final_dist = jnp.take_along_axis(dist, last[None], axis=0)[0]
        return {
            "eval/success": jnp.mean(jnp.max(success * alive, axis=0)),
            "eval/time_near_goal": jnp.mean(jnp.sum(success * alive, axis=0) / steps),
            "eval/final_dist": jnp.mean(final_dist),
            "eval/min_dist": jnp.mean(jnp.min(jnp.where(alive > 0, dist, jnp.inf), axis=0)),
            "eval/episode_steps": jnp.mean(steps),
        }

    return jax.jit(jax.vmap(evaluate) if seeds_batched else evaluate)


def with_sampled(evaluate: Callable, evaluate_sampled: Callable) -> Callable:
    """`evaluate`'s metrics plus `evaluate_sampled`'s (make_evaluate(actions="sampled")) on the same
    key, so the same episodes, each renamed eval/<name>_sampled."""

    def both(actor_params, key: jax.Array) -> dict:
        sampled = evaluate_sampled(actor_params, key)
        return {**evaluate(actor_params, key), **{f"{k}_sampled": v for k, v in sampled.items()}}

    return both
