"""Agent construction and the fused training epoch.

`make_agent(cfg)` builds the env, networks, losses and optimizers once; its functions close over the
config. `agent.train_epoch` is one jitted call (state donated):

    lax.scan over iterations_per_epoch:
        collect unroll_length steps of num_envs envs with the stochastic actor (lax.scan + vmap)
        buffer.insert
        lax.scan over updates_per_iteration: sample -> actor and alpha step against the current
            critic, then the critic step (JaxGCRL's and scaling-crl's order)
        effective ranks of phi and psi on one batch
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from crlx import buffer as replay
from crlx import parallel, preflight
from crlx.config import Config
from crlx.envs import GoalEnv, wrap_for_training
from crlx.losses import Losses, make_losses
from crlx.networks import Actor, Critic, tanh_gaussian_sample
from crlx.types import Transition, TrainState

TRACE_COUNTS: collections.Counter = collections.Counter()
"""How often each jitted body was traced (compiled); a second epoch must not add to it."""


@dataclasses.dataclass(frozen=True)
class Agent:
    """The static parts of a run: env, modules, optimizers and the jitted entry points."""

    cfg: Config
    env: GoalEnv
    actor: Actor
    critic: Critic
    actor_tx: optax.GradientTransformation
    critic_tx: optax.GradientTransformation
    alpha_tx: optax.GradientTransformation
    losses: Losses
    mesh: Mesh  # devices of the run (see crlx.parallel)
    init: Callable[[jax.Array], TrainState]
    prefill: Callable[[TrainState], TrainState]
    train_epoch: Callable[[TrainState], tuple[TrainState, dict]]
    sample: Callable  # (buffer, key) -> Batch with the run's goal settings; not jitted
    collect: Callable  # (actor_params, env_state, key, random_actions) -> (env_state, Transition, metrics); not jitted
    update: Callable[[TrainState, jax.Array], tuple[TrainState, dict]]  # one sample + updates; not jitted


def gradient_step(loss_fn: Callable, tx: optax.GradientTransformation, params, opt_state, *args):
    """One optimizer step on loss_fn(params, *args) -> (loss, metrics): (params, opt_state, metrics)."""
    (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, *args)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, metrics


def make_agent(cfg: Config, mesh: Mesh | None = None, env: GoalEnv | None = None) -> Agent:
    """Build everything static for `cfg` (validated first) and the jitted init / prefill / epoch.

    With cfg.num_seeds > 1 the jitted functions are vmapped: init takes keys (num_seeds, 2) and
    every TrainState leaf has a leading seed axis. `collect` and `update` stay per seed.

    The state is placed on `mesh` (default: the first cfg.devices devices; see crlx.parallel).
    With one seed, batches are drawn stratified over cfg.devices env groups whatever the mesh,
    so a one-device mesh runs the same computation as the multi-device one.

    `env`: the run's env when the caller built it already (crlx.preflight.prepare); else it is
    validated and built here."""
    env = preflight.prepare(cfg) if env is None else env
    mesh = parallel.make_mesh(cfg.devices) if mesh is None else mesh
    train_env = wrap_for_training(env)
    state_dim, action_dim = env.state_dim, env.action_size
    actor = Actor(cfg.actor, action_dim)
    critic = Critic(cfg.critic)
    actor_tx = optax.adam(cfg.actor_lr)
    critic_tx = optax.adam(cfg.critic_lr)
    alpha_tx = optax.adam(cfg.alpha_lr)
    losses = make_losses(
        actor,
        critic,
        energy=cfg.loss.energy,
        contrastive=cfg.loss.contrastive,
        logsumexp_penalty=cfg.loss.logsumexp_penalty,
        temperature=cfg.loss.temperature,
        learn_temperature=cfg.loss.learn_temperature,
        target_entropy=cfg.loss.target_entropy_per_dim * action_dim,
    )
    sample = functools.partial(
        replay.sample,
        batch_size=cfg.batch_size,
        goal_fn=env.achieved_goal,
        strategy=cfg.buffer.goal_strategy,
        discount=cfg.discount,
        random_goal_prob=cfg.buffer.random_goal_prob,
        num_shards=1 if cfg.num_seeds > 1 else cfg.devices,
    )

    def init(key: jax.Array) -> TrainState:
        k_actor, k_critic, k_env, key = jax.random.split(key, 4)
        obs = jnp.zeros((1, env.observation_size))
        actor_params = actor.init(k_actor, obs)
        critic_params = {
            "net": critic.init(
                k_critic, jnp.zeros((1, state_dim)), jnp.zeros((1, action_dim)), jnp.zeros((1, env.goal_dim))
            )
        }
        if cfg.loss.learn_temperature:
            critic_params["log_temperature"] = jnp.log(jnp.asarray(cfg.loss.temperature, jnp.float32))
        log_alpha = jnp.log(jnp.asarray(cfg.loss.init_alpha, jnp.float32))
        return TrainState(
            actor_params=actor_params,
            critic_params=critic_params,
            log_alpha=log_alpha,
            actor_opt=actor_tx.init(actor_params),
            critic_opt=critic_tx.init(critic_params),
            alpha_opt=alpha_tx.init(log_alpha),
            buffer=replay.init(cfg.buffer.max_replay_size, cfg.num_envs, state_dim, action_dim),
            env_state=train_env.reset(jax.random.split(k_env, cfg.num_envs)),
            key=key,
            env_steps=jnp.zeros((), jnp.int32),
            updates=jnp.zeros((), jnp.int32),
        )

    def collect(actor_params, env_state, key: jax.Array, random_actions: bool):
        """unroll_length steps of every env -> (env_state, Transition (T, E, ...), metrics (T, E))."""

        def step(env_state, step_key):
            obs = env_state.obs
            if random_actions:
                action = jax.random.uniform(step_key, (cfg.num_envs, action_dim), minval=-1.0, maxval=1.0)
            else:
                mean, log_std = actor.apply(actor_params, obs)
                action, _ = tanh_gaussian_sample(step_key, mean, log_std)
            next_state = train_env.step(env_state, action)
            transition = Transition(state=obs[:, :state_dim], action=action, done=next_state.done)
            return next_state, (transition, next_state.metrics["success"], next_state.metrics["dist"])

        env_state, (traj, success, dist) = jax.lax.scan(
            step, env_state, jax.random.split(key, cfg.unroll_length)
        )
        return env_state, traj, {"train/success": jnp.mean(success), "train/dist": jnp.mean(dist)}

    def update(ts: TrainState, key: jax.Array) -> tuple[TrainState, dict]:
        """One sample; actor and alpha step against the current critic, then the critic step."""
        k_sample, k_actor = jax.random.split(key)
        batch = sample(ts.buffer, k_sample)
        actor_params, actor_opt, a_metrics = gradient_step(
            losses.actor, actor_tx, ts.actor_params, ts.actor_opt, ts.critic_params, ts.log_alpha, batch, k_actor
        )
        log_prob = a_metrics.pop("log_prob")
        log_alpha, alpha_opt, al_metrics = ts.log_alpha, ts.alpha_opt, {}
        if cfg.loss.auto_entropy:
            log_alpha, alpha_opt, al_metrics = gradient_step(losses.alpha, alpha_tx, log_alpha, alpha_opt, log_prob)
        critic_params, critic_opt, c_metrics = gradient_step(
            losses.critic, critic_tx, ts.critic_params, ts.critic_opt, batch
        )
        ts = ts.replace(
            critic_params=critic_params,
            critic_opt=critic_opt,
            actor_params=actor_params,
            actor_opt=actor_opt,
            log_alpha=log_alpha,
            alpha_opt=alpha_opt,
            updates=ts.updates + 1,
        )
        return ts, {**c_metrics, **a_metrics, **al_metrics, "actor/alpha": jnp.exp(log_alpha)}

    def iteration(ts: TrainState, _) -> tuple[TrainState, dict]:
        key, k_collect, k_update = jax.random.split(ts.key, 3)
        env_state, traj, collect_metrics = collect(ts.actor_params, ts.env_state, k_collect, False)
        ts = ts.replace(
            key=key,
            env_state=env_state,
            buffer=replay.insert(ts.buffer, traj),
            env_steps=ts.env_steps + cfg.env_steps_per_iteration,
        )
        k_updates, k_rank = jax.random.split(k_update)
        ts, update_metrics = jax.lax.scan(update, ts, jax.random.split(k_updates, cfg.updates_per_iteration))
        rank_metrics = losses.representation_metrics(ts.critic_params, sample(ts.buffer, k_rank))
        return ts, {**collect_metrics, **jax.tree.map(jnp.mean, update_metrics), **rank_metrics}

    def train_epoch(ts: TrainState) -> tuple[TrainState, dict]:
        TRACE_COUNTS["train_epoch"] += 1
        ts, metrics = jax.lax.scan(iteration, ts, None, length=cfg.iterations_per_epoch)
        return ts, jax.tree.map(jnp.mean, metrics)

    def prefill(ts: TrainState) -> TrainState:
        TRACE_COUNTS["prefill"] += 1

        def body(ts: TrainState, _) -> tuple[TrainState, None]:
            key, k_collect = jax.random.split(ts.key)
            env_state, traj, _ = collect(ts.actor_params, ts.env_state, k_collect, cfg.buffer.prefill_actions == "uniform")
            return ts.replace(key=key, env_state=env_state, buffer=replay.insert(ts.buffer, traj)), None

        return jax.lax.scan(body, ts, None, length=cfg.prefill_iterations)[0]

    if cfg.num_seeds > 1:  # one independent agent per leading index; keys (num_seeds, 2)
        init, prefill, train_epoch = jax.vmap(init), jax.vmap(prefill), jax.vmap(train_epoch)

    init_placed, prefill_placed, epoch_placed = {}, {}, {}
    if mesh.size > 1:
        keys = jnp.zeros((cfg.num_seeds, 2) if cfg.num_seeds > 1 else (2,), jnp.uint32)
        shardings = parallel.state_shardings(mesh, jax.eval_shape(init, keys), cfg.num_seeds > 1)
        init_placed = {"out_shardings": shardings}
        prefill_placed = {"in_shardings": (shardings,), "out_shardings": shardings}
        epoch_placed = {"in_shardings": (shardings,), "out_shardings": (shardings, parallel.replicated(mesh))}

    return Agent(
        cfg=cfg,
        env=env,
        actor=actor,
        critic=critic,
        actor_tx=actor_tx,
        critic_tx=critic_tx,
        alpha_tx=alpha_tx,
        losses=losses,
        mesh=mesh,
        init=jax.jit(init, **init_placed),
        prefill=jax.jit(prefill, donate_argnums=0, **prefill_placed),
        train_epoch=jax.jit(train_epoch, donate_argnums=0, **epoch_placed),
        sample=sample,
        collect=collect,
        update=update,
    )
