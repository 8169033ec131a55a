"""Agent construction and the fused training epoch.

`make_agent(cfg)` builds the env, networks, losses and optimizers once; its functions close over the
config. `agent.program` is the one jitted program (state donated) that serves both the prefill and the
training epochs; `agent.train_epoch(ts)` runs one epoch of it:

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
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from crlx import buffer as replay
from crlx import diagnostics, parallel, preflight
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
    program: Any  # jitted (state, num_iterations, prefill) -> (state, metrics): serves prefill and training
    epoch_args: tuple  # (num_iterations, prefill) of a training epoch: program.lower(ts, *epoch_args).compile()
    prefill: Callable[..., TrainState]  # (state, on_iteration=None) -> state after cfg.prefill_iterations
    prefill_step: Callable[..., TrainState]  # one prefill iteration of `program` (state donated)
    train_epoch: Callable[..., tuple[TrainState, dict]]  # one epoch of `program` (state donated)
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
        num_shards=1 if cfg.seeds_batched else cfg.devices,
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

    def collect(actor_params, env_state, key: jax.Array, random_actions):
        """unroll_length steps of every env -> (env_state, Transition (T, E, ...), metrics): train/success
        and train/dist averaged over (T, E); for an env with an object also the counts of ended episodes
        (crlx.diagnostics.ended_episode_counts) that the epoch turns into train/goal_moved.

        random_actions (a bool, or a traced bool): uniform actions in [-1, 1] instead of the policy's."""

        def step(env_state, step_key):
            obs = env_state.obs
            k_policy, k_uniform = jax.random.split(step_key)

            def policy(_):
                mean, log_std = actor.apply(actor_params, obs)
                return tanh_gaussian_sample(k_policy, mean, log_std)[0]

            def uniform(_):
                return jax.random.uniform(k_uniform, (cfg.num_envs, action_dim), minval=-1.0, maxval=1.0)

            # a cond, not a where: the prefill's uniform actions skip the actor's forward pass
            action = jax.lax.cond(random_actions, uniform, policy, None)
            next_state = train_env.step(env_state, action)
            transition = Transition(state=obs[:, :state_dim], action=action, done=next_state.done)
            return next_state, (transition, next_state.metrics)

        env_state, (traj, step_metrics) = jax.lax.scan(step, env_state, jax.random.split(key, cfg.unroll_length))
        metrics = {"train/success": jnp.mean(step_metrics["success"]), "train/dist": jnp.mean(step_metrics["dist"])}
        if "goal_moved" in step_metrics:
            metrics.update(diagnostics.ended_episode_counts(traj.done, step_metrics["goal_moved"]))
        return env_state, traj, metrics

    def update(ts: TrainState, key: jax.Array) -> tuple[TrainState, dict]:
        """One sample; actor and alpha step against the current critic, then the critic step.

        The critic's gradient is taken first (it reads only the current critic), so that its psi(g) can
        serve the actor loss when the actor's goals are the critic's (buffer.random_goal_prob = 0)."""
        k_sample, k_actor = jax.random.split(key)
        batch = sample(ts.buffer, k_sample)
        critic_params, critic_opt, c_metrics = gradient_step(
            losses.critic, critic_tx, ts.critic_params, ts.critic_opt, batch
        )
        psi = c_metrics.pop("psi") if cfg.buffer.random_goal_prob == 0.0 else None
        actor_params, actor_opt, a_metrics = gradient_step(
            losses.actor, actor_tx, ts.actor_params, ts.actor_opt, ts.critic_params, ts.log_alpha, batch, k_actor, psi
        )
        c_metrics.pop("psi", None)
        log_prob = a_metrics.pop("log_prob")
        log_alpha, alpha_opt, al_metrics = ts.log_alpha, ts.alpha_opt, {}
        if cfg.loss.auto_entropy:
            log_alpha, alpha_opt, al_metrics = gradient_step(losses.alpha, alpha_tx, log_alpha, alpha_opt, log_prob)
        ts = ts.replace(
            critic_params=critic_params,
            critic_opt=critic_opt,
            actor_params=actor_params,
            actor_opt=actor_opt,
            log_alpha=log_alpha,
            alpha_opt=alpha_opt,
            updates=ts.updates + 1,
        )
        return ts, {**c_metrics, **a_metrics, **al_metrics, "actor/alpha": jnp.exp(log_alpha),
                    diagnostics.GOAL_SPREAD: diagnostics.goal_spread(batch.goal)}

    @jax.jit  # traced once: jax.eval_shape(learn) below and the cond's branch share the trace
    def learn(ts: TrainState, key: jax.Array) -> tuple[TrainState, dict]:
        """updates_per_iteration updates, then the effective ranks of phi and psi on one batch."""
        k_updates, k_rank = jax.random.split(key)
        ts, update_metrics = jax.lax.scan(update, ts, jax.random.split(k_updates, cfg.updates_per_iteration))
        rank_metrics = losses.representation_metrics(ts.critic_params, sample(ts.buffer, k_rank))
        return ts, {**jax.tree.map(jnp.mean, update_metrics), **rank_metrics}

    @jax.jit  # traced once: jax.eval_shape(iteration) in run and the loop's body share the trace
    def iteration(ts: TrainState, prefill: jax.Array) -> tuple[TrainState, dict]:
        """Collect and insert; then learn, unless `prefill` (a traced bool: prefill actions, no updates,
        no training env steps counted)."""
        key, k_collect, k_update = jax.random.split(ts.key, 3)
        random_actions = prefill & (cfg.buffer.prefill_actions == "uniform")
        env_state, traj, collect_metrics = collect(ts.actor_params, ts.env_state, k_collect, random_actions)
        ts = ts.replace(
            key=key,
            env_state=env_state,
            buffer=replay.insert(ts.buffer, traj),
            env_steps=ts.env_steps + jnp.where(prefill, 0, cfg.env_steps_per_iteration).astype(ts.env_steps.dtype),
        )
        learn_shapes = jax.eval_shape(learn, ts, k_update)[1]

        def skip(ts, _):
            return ts, jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), learn_shapes)

        ts, learn_metrics = jax.lax.cond(prefill, skip, learn, ts, k_update)
        return ts, {**collect_metrics, **learn_metrics}

    def run(ts: TrainState, num_iterations: jax.Array, prefill: jax.Array) -> tuple[TrainState, dict]:
        """The one compiled program: `num_iterations` (traced) iterations, metrics averaged over them.

        prefill=False is a training epoch; prefill=True fills the buffer (see iteration), so prefill and
        training share one compile of the env step and the networks."""
        TRACE_COUNTS["train_epoch"] += 1
        shapes = jax.eval_shape(iteration, ts, prefill)[1]
        zeros = jax.tree.map(lambda x: jnp.zeros(x.shape, jnp.float32), shapes)

        def body(_, carry):
            ts, sums = carry
            ts, metrics = iteration(ts, prefill)
            return ts, jax.tree.map(lambda total, m: total + m.astype(jnp.float32), sums, metrics)

        ts, sums = jax.lax.fori_loop(0, num_iterations, body, (ts, zeros))
        counts, sums = diagnostics.split_episode_counts(sums)
        means = jax.tree.map(lambda total: total / jnp.maximum(num_iterations, 1).astype(jnp.float32), sums)
        return ts, {**means, **diagnostics.goal_moved(counts, ts.env_state.info)}

    if cfg.seeds_batched:  # one independent agent per leading index; keys (num_seeds, 2)
        init, run = jax.vmap(init), jax.vmap(run, in_axes=(0, None, None))

    init_placed, run_placed = {}, {}
    if mesh.size > 1:
        keys = jnp.zeros((cfg.num_seeds, 2) if cfg.seeds_batched else (2,), jnp.uint32)
        shardings = parallel.state_shardings(mesh, jax.eval_shape(init, keys), cfg.seeds_batched)
        init_placed = {"out_shardings": shardings}
        scalar = parallel.replicated(mesh)
        run_placed = {"in_shardings": (shardings, scalar, scalar), "out_shardings": (shardings, scalar)}
    program = jax.jit(run, donate_argnums=0, **run_placed)
    epoch_args = (jnp.asarray(cfg.iterations_per_epoch, jnp.int32), jnp.asarray(False))
    prefill_args = (jnp.asarray(1, jnp.int32), jnp.asarray(True))

    def train_epoch(ts: TrainState, program=program) -> tuple[TrainState, dict]:
        """One training epoch of iterations_per_epoch iterations (ts donated); `program` may be the
        compiled program (program.lower(ts, *epoch_args).compile())."""
        return program(ts, *epoch_args)

    def prefill_step(ts: TrainState, program=program) -> TrainState:
        """One prefill iteration (ts donated): unroll_length steps with buffer.prefill_actions, no updates."""
        return program(ts, *prefill_args)[0]

    def prefill(ts: TrainState, on_iteration: Callable[[int], None] | None = None, step: Callable | None = None):
        """cfg.prefill_iterations prefill iterations of the program (`step`, default prefill_step);
        on_iteration(i) after each."""
        for i in range(cfg.prefill_iterations):
            ts = (step or prefill_step)(ts)
            if on_iteration is not None:
                jax.block_until_ready(ts.buffer.count)
                on_iteration(i + 1)
        return ts

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
        program=program,
        epoch_args=epoch_args,
        prefill=prefill,
        prefill_step=prefill_step,
        train_epoch=train_epoch,
        sample=sample,
        collect=collect,
        update=update,
    )
