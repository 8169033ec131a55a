"""The host loop around the jitted epoch: prefill, epochs, evaluation, logging, NaN guard.

    import crlx
    result = crlx.train(crlx.Config(env="reacher", total_env_steps=200_000))
    result.params["actor"], result.history[-1]["eval/success"]
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from crlx import checkpoint, compile_cache, preflight
from crlx.agent import make_agent
from crlx.config import Config
from crlx.diagnostics import warn_if_goals_still
from crlx.evaluate import make_evaluate, with_sampled
from crlx.interrupt import EXIT_CODES, StopRequest, interrupted, stopped_before_training
from crlx.logging import RunLogger, default_run_name, require_fresh, write_config_json
from crlx.runlock import RunLock
from crlx.status import Status, describe_env, describe_scale, describe_schedule
from crlx.types import TrainState


class NonFiniteError(FloatingPointError):
    """Training produced NaN or inf; the message names the metric and the env step."""


@dataclasses.dataclass
class TrainResult:
    params: dict[str, Any]  # {"actor": ..., "critic": ...}; leading seed axis when num_seeds > 1
    history: list[dict[str, float]]  # rows of the first seed (cfg.seed), one per evaluation
    run_dir: Path  # the run directory (with num_seeds > 1: the parent of seed_<s>/ directories)
    state: TrainState  # leading seed axis when num_seeds > 1
    histories: dict[int, list[dict[str, float]]] = dataclasses.field(default_factory=dict)  # seed -> rows


def check_finite(metrics: dict[str, Any], env_steps: int, seed: int | None = None) -> None:
    where = f"at env step {env_steps}" + ("" if seed is None else f" of seed {seed}")
    for name, value in metrics.items():
        if not np.all(np.isfinite(np.asarray(value))):
            raise NonFiniteError(
                f"non-finite {name}={float(np.asarray(value))} {where}; lower the learning "
                "rates or check the env's observations."
            )


def write_outputs(cfg: Config, agent, ts: TrainState, logger: RunLogger, key: jax.Array) -> None:
    """End-of-run files: learning-curve PNG and, if asked, a rollout video (also sent to wandb)."""
    if cfg.log.plots:
        from crlx.plot import write_learning_curves

        for path in write_learning_curves(logger.dir):
            logger.log_media("plots/learning_curves", path, int(ts.env_steps))
    if cfg.log.video:
        from crlx.evaluate import deterministic_action
        from crlx.render import render_rollout

        policy = jax.jit(lambda obs: deterministic_action(agent.actor, ts.actor_params, obs))
        path = render_rollout(agent.env, policy, key, logger.dir / cfg.log.video)
        logger.log_media("eval/video", path, int(ts.env_steps))


@jax.jit
def take_seed(tree, index: jax.Array):
    """tree with every leaf x replaced by x[index]."""
    return jax.tree.map(lambda x: x[index], tree)


class Seeds:
    """The seeds of a run and how to move between the batched (vmapped) state and one seed's slice."""

    def __init__(self, cfg: Config):
        self.values = [cfg.seed + i for i in range(cfg.num_seeds)]
        self.batched = cfg.seeds_batched

    def keys(self) -> tuple[jax.Array, jax.Array]:
        """(init keys, eval keys): seed s uses split(PRNGKey(s)), as a single-seed run with seed s."""
        pairs = [jax.random.split(jax.random.PRNGKey(s)) for s in self.values]
        if not self.batched:
            return pairs[0][0], pairs[0][1]
        return jnp.stack([p[0] for p in pairs]), jnp.stack([p[1] for p in pairs])

    def take(self, tree, index: int):
        """Seed `index`'s slice of a batched tree (host arrays are sliced on the host).

        Device arrays are sliced by one program for the whole tree, and it is awaited: with the seed
        axis split over CPU devices, many small slicing programs in flight at once can take every
        worker thread with collectives that wait for each other, and XLA aborts the process.
        """
        if not self.batched:
            return tree
        if all(isinstance(x, (np.ndarray, np.generic)) for x in jax.tree.leaves(tree)):
            return jax.tree.map(lambda x: x[index], tree)
        return jax.block_until_ready(take_seed(tree, index))

    def stack(self, trees: list):
        return jax.tree.map(lambda *xs: jnp.stack(xs), *trees) if self.batched else trees[0]

    def fold_in(self, keys: jax.Array, data: int) -> jax.Array:
        return jax.vmap(jax.random.fold_in, (0, None))(keys, data) if self.batched else jax.random.fold_in(keys, data)


def run_dirs(cfg: Config, seeds: Seeds, resume: Path | None) -> tuple[Path, list[Path]]:
    """(run dir, one dir per seed): the same dir for one seed, else <run dir>/seed_<s>."""
    if resume is not None:
        parent = Path(resume)
    else:
        parent = Path(cfg.log.run_dir) / (cfg.log.run_name or default_run_name(cfg))
    if not seeds.batched:
        return parent, [parent]
    return parent, [parent / f"seed_{s}" for s in seeds.values]


def seed_config(cfg: Config, seed: int, parent: Path) -> Config:
    """The config a seed's directory records: its own seed, the parent's name as wandb group."""
    log = dataclasses.replace(cfg.log, run_name=f"{parent.name}-seed_{seed}", wandb_group=cfg.log.wandb_group or parent.name)
    return cfg.replace(seed=seed, log=log)


def restore_seeds(dirs: list[Path], target: TrainState, seeds: Seeds) -> tuple[TrainState, int, bool]:
    """Restore every seed's newest good checkpoint into `target`; when a seed had to fall back to an
    older one, every seed restores that step. All must then be at the same env step."""
    states, steps, with_buffer = [], set(), True
    for index, run_dir in enumerate(dirs):
        state, meta, has_buffer = checkpoint.restore(run_dir, seeds.take(target, index))
        states.append(state)
        steps.add(int(meta["env_steps"]))
        with_buffer &= has_buffer
    if len(steps) > 1 and all(min(steps) in checkpoint.steps(d) for d in dirs):
        return restore_seeds_at(dirs, target, seeds, min(steps))
    if len(steps) != 1:
        raise checkpoint.CheckpointError(
            f"the seeds' latest checkpoints are at different env steps {sorted(steps)}; remove the newer ones "
            f"under {[str(d / 'checkpoints') for d in dirs]} so all seeds share one step."
        )
    return seeds.stack(states), steps.pop(), with_buffer


def restore_seeds_at(dirs: list[Path], target: TrainState, seeds: Seeds, step: int) -> tuple[TrainState, int, bool]:
    """Every seed's checkpoint at env step `step` (checked against its checksums)."""
    restored = [checkpoint.restore(d, seeds.take(target, i), step=step) for i, d in enumerate(dirs)]
    return seeds.stack([r[0] for r in restored]), step, all(r[2] for r in restored)


def describe_checkpoints(cfg: Config, sizes: tuple[int, int]) -> str:
    """What a checkpoint holds, how large it is and when it is written (a start-up line)."""
    if not cfg.checkpoint.every:
        return "checkpoints: off (checkpoint.every=0): a stopped run cannot be resumed"
    state, buffer = (human_bytes(n) for n in sizes)
    held = f"state {state} + buffer {buffer}" if cfg.checkpoint.buffer else f"state {state} (no buffer)"
    per_seed = " per seed" if cfg.seeds_batched else ""
    clock = f" and {cfg.checkpoint.every_minutes:g} min" if cfg.checkpoint.every_minutes else ""
    return (f"checkpoints: {held}{per_seed}, every {cfg.checkpoint.every} epochs{clock}, at the end and on "
            f"SIGINT / SIGTERM; the newest {cfg.checkpoint.keep} kept")


def human_bytes(n: int) -> str:
    """1234567 -> '1.2 MB' (powers of 1024)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} GB"


def describe_rounding(cfg: Config) -> str | None:
    """The start-up line saying how total_env_steps was rounded up to whole epochs (None if it was not)."""
    if cfg.planned_env_steps == cfg.total_env_steps:
        return None
    return (f"total_env_steps {cfg.total_env_steps:,} rounded up to {cfg.planned_env_steps:,}: {cfg.num_epochs} epochs "
            f"of {cfg.iterations_per_epoch} iterations of {cfg.env_steps_per_iteration:,} env steps (num_envs x "
            "unroll_length)")


def prefill_with_bar(agent, ts: TrainState, status: Status, program) -> TrainState:
    """agent.prefill on the compiled `program`, with a progress bar in env steps (per seed)."""
    cfg = agent.cfg
    bar = status.bar(cfg.prefill_iterations * cfg.env_steps_per_iteration, f"prefill {cfg.env}")
    on_iteration = None if bar is None else lambda _: bar.update(cfg.env_steps_per_iteration)
    ts = agent.prefill(ts, on_iteration=on_iteration, step=lambda ts: agent.prefill_step(ts, program))
    if bar is not None:
        bar.close()
    status(f"prefill done: {cfg.prefill_iterations * cfg.env_steps_per_iteration:,} env steps per seed")
    return ts


def train(cfg: Config, resume: str | Path | None = None, sources: dict[str, str] | None = None) -> TrainResult:
    """Validate, prefill, run num_epochs fused epochs with evaluation after each; log on the host.

    With num_seeds > 1 the whole training is vmapped over seeds cfg.seed, cfg.seed + 1, ...
    (one compile, independent agents, envs and buffers); each seed logs and checkpoints into
    <run dir>/seed_<s>/.

    With `resume` (a run directory), the newest checkpoint there that passes its checksums is restored
    and the run continues to cfg.num_epochs; metrics rows logged after that checkpoint are replaced.
    With the buffer in the checkpoint the continued run is bit-identical on CPU to an uninterrupted
    one; without it the buffer is refilled with random actions.

    The run holds an exclusive lock on its directory from before it compiles to its end (a second run
    there raises ConfigError naming this one). SIGINT / SIGTERM stop it after the current epoch with
    a checkpoint: `crlx.interrupt.Interrupted` (a KeyboardInterrupt) carries its path and exit code.
    """
    status = Status(cfg.log.progress)
    compile_cache.enable()
    status(f"building env {cfg.env}")
    env = preflight.prepare(cfg)  # validates the config and builds the env once
    seeds = Seeds(cfg)
    parent, dirs = run_dirs(cfg, seeds, None if resume is None else Path(resume))
    if resume is not None and not parent.is_dir():
        raise checkpoint.CheckpointError(f"--resume: no run directory {parent}; pass the directory of an earlier run.")
    with RunLock(parent, "log.run_name" if resume is None else "--resume"), StopRequest(SETTING_UP) as stop:
        return train_locked(cfg, resume, sources, status, env, seeds, parent, dirs, stop)


SETTING_UP = "stopping when the compile or prefill ends (nothing is trained yet, so nothing is saved)"


def train_locked(cfg: Config, resume: str | Path | None, sources: dict[str, str] | None, status: Status, env,
                 seeds: Seeds, parent: Path, dirs: list[Path], stop: StopRequest) -> TrainResult:
    """`train` once it holds the run directory's lock, with SIGINT / SIGTERM caught by `stop`: a
    signal stops the run at the next epoch boundary with a checkpoint and raises Interrupted."""
    if resume is None:
        require_fresh(dirs, parent)
    status(describe_env(cfg, env))
    for line in (describe_scale(cfg, sources), describe_schedule(cfg), describe_rounding(cfg)):
        if line:
            status(line)
    agent = make_agent(cfg, env=env)
    evaluate = make_evaluate(agent.env, agent.actor, cfg.num_eval_envs, cfg.seeds_batched, agent.mesh)
    if cfg.eval_sampled:
        evaluate = with_sampled(evaluate, make_evaluate(agent.env, agent.actor, cfg.num_eval_envs, cfg.seeds_batched,
                                                        agent.mesh, actions="sampled"))
    init_key, eval_key = seeds.keys()
    ts = agent.init(init_key)
    resume_at, buffer_restored = None, False
    if resume is not None:
        ts, resume_at, buffer_restored = restore_seeds(dirs, ts, seeds)
        status(f"restored the checkpoint at env step {resume_at:,} from {parent}; training to "
               f"{cfg.planned_env_steps:,} env steps")
    sizes = tuple(n // cfg.num_seeds for n in checkpoint.size_bytes(ts))  # of one seed's checkpoint
    status(describe_checkpoints(cfg, sizes))
    t0 = time.perf_counter()
    status(f"compiling the training program (prefill and epochs of {cfg.iterations_per_epoch} iterations)")
    program = agent.program.lower(ts, *agent.epoch_args).compile()
    compile_s = time.perf_counter() - t0
    status(f"compiled in {compile_s:.1f}s")
    stopped_before_training(stop, parent, resume_at)
    t0 = time.perf_counter()
    if not buffer_restored:
        ts = prefill_with_bar(agent, ts, status, program)
    jax.block_until_ready(ts)
    prefill_s = time.perf_counter() - t0
    stopped_before_training(stop, parent, resume_at)
    if seeds.batched:
        parent.mkdir(parents=True, exist_ok=True)
        write_config_json(parent, cfg, sources)
    loggers = [
        RunLogger(seed_config(cfg, s, parent) if seeds.batched else cfg, run_dir=d, resume_at=resume_at,
                  progress=index == 0, sources=sources,
                  derived={"checkpoint_state_bytes": sizes[0], "checkpoint_buffer_bytes": sizes[1]})
        for index, (s, d) in enumerate(zip(seeds.values, dirs))
    ]
    exit_code = 1
    try:
        def epoch(ts):
            return agent.train_epoch(ts, program)

        def log_eval(env_steps: int, extra: list[dict[str, Any]], actor_params=None) -> list[dict]:
            params = ts.actor_params if actor_params is None else actor_params
            results = jax.device_get(evaluate(params, seeds.fold_in(eval_key, env_steps)))
            rows = []
            for index, logger in enumerate(loggers):
                row = {k: float(v) for k, v in seeds.take(results, index).items()}
                row.update(extra[index])
                logger.log(env_steps, row)
                rows.append(row)
            return rows

        first_epoch = int(np.max(np.asarray(ts.env_steps))) // cfg.env_steps_per_epoch
        # the initial policy is evaluated after the first epoch (from a copy of its params), so that
        # training starts before the evaluation program compiles; its row is logged first
        initial_actor = None if resume_at is not None else jax.tree.map(jnp.copy, ts.actor_params)
        status(f"training (the initial policy is evaluated with {cfg.num_eval_envs} envs after the first epoch)")
        start = time.perf_counter()
        wall_before = max((row.get("perf/wall_s", 0.0) for row in loggers[0].history), default=0.0)  # of a resumed run
        schedule, seconds = checkpoint.Schedule(cfg.checkpoint.every, cfg.checkpoint.every_minutes), None
        for index in range(first_epoch, cfg.num_epochs):
            stop.doing = f"finishing epoch {index + 1} of {cfg.num_epochs}" + (
                "" if seconds is None else f" (about {seconds:.0f} s)") + ", then saving a checkpoint and stopping"
            t0 = time.perf_counter()
            ts, metrics = epoch(ts)
            metrics = jax.device_get(metrics)
            seconds = time.perf_counter() - t0
            env_steps = (index + 1) * cfg.env_steps_per_epoch
            per_seed = [seeds.take(metrics, i) for i in range(len(loggers))]
            for seed, seed_metrics in zip(seeds.values, per_seed):
                check_finite(seed_metrics, env_steps, seed if seeds.batched else None)
            warn_if_goals_still(cfg, agent.env, index + 1, per_seed)  # once, after a share of the epochs
            perf = {
                "perf/env_steps_per_s": cfg.env_steps_per_epoch / seconds,
                "perf/total_env_steps_per_s": cfg.num_seeds * cfg.env_steps_per_epoch / seconds,
                "perf/updates_per_s": cfg.iterations_per_epoch * cfg.updates_per_iteration / seconds,
                "perf/epoch_s": seconds,
                "perf/wall_s": wall_before + time.perf_counter() - start,
            }
            # the bar moves as soon as the epoch ends (postfix: this epoch's critic/accuracy beside the
            # last eval/success); this epoch's eval/success replaces the last one after the evaluation
            loggers[0].advance(cfg.env_steps_per_epoch, {"critic/accuracy": per_seed[0].get("critic/accuracy", np.nan)})
            if initial_actor is not None:
                log_eval(0, [{"perf/prefill_s": prefill_s, "perf/compile_s": compile_s}] * len(loggers), initial_actor)
                initial_actor = None
            rows = log_eval(env_steps, [{**{k: float(v) for k, v in m.items()}, **perf} for m in per_seed])
            last = index + 1 == cfg.num_epochs
            saved = None
            if schedule.due(index + 1, last, stopping=stop.signum is not None):
                for i, logger in enumerate(loggers):
                    one = seeds.take(ts, i)
                    saved = checkpoint.save(
                        logger.dir,
                        one,
                        {"env_steps": env_steps},
                        with_buffer=cfg.checkpoint.buffer,
                        keep=cfg.checkpoint.keep,
                    )
                schedule.saved()
            loggers[0].advance(0, {k: rows[0][k] for k in ("eval/success", "critic/accuracy")})
            if stop.signum is not None and not last:
                exit_code = EXIT_CODES[stop.signum]
                if cfg.log.plots:
                    from crlx.plot import write_learning_curves

                    for logger in loggers:
                        write_learning_curves(logger.dir)
                shown = None if saved is None or not seeds.batched else parent / "seed_*" / "checkpoints" / saved.name
                raise interrupted(stop, parent, f"after epoch {index + 1} of {cfg.num_epochs} (env step {env_steps:,})",
                                  saved, shown)
        stop.doing = "finishing the run's last outputs (its last epoch is trained and saved)"
        final_keys = seeds.fold_in(eval_key, cfg.planned_env_steps)
        for i, logger in enumerate(loggers):
            write_outputs(logger.cfg, agent, seeds.take(ts, i), logger, seeds.take(final_keys, i))
        exit_code = 0
    finally:
        for logger in loggers:
            logger.close(exit_code)
    params = {"actor": ts.actor_params, "critic": ts.critic_params}
    histories = {s: logger.history for s, logger in zip(seeds.values, loggers)}
    return TrainResult(params=params, history=loggers[0].history, run_dir=parent, state=ts, histories=histories)
