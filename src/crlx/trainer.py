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
import numpy as np

from crlx import checkpoint
from crlx.agent import make_agent
from crlx.config import Config
from crlx.evaluate import make_evaluate
from crlx.logging import RunLogger
from crlx.types import TrainState


class NonFiniteError(FloatingPointError):
    """Training produced NaN or inf; the message names the metric and the env step."""


@dataclasses.dataclass
class TrainResult:
    params: dict[str, Any]  # {"actor": ..., "critic": ...}
    history: list[dict[str, float]]  # one row per evaluation, with env_steps
    run_dir: Path
    state: TrainState


def check_finite(metrics: dict[str, Any], env_steps: int) -> None:
    for name, value in metrics.items():
        if not np.all(np.isfinite(np.asarray(value))):
            raise NonFiniteError(
                f"non-finite {name}={float(np.asarray(value))} at env step {env_steps}; lower the learning "
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


def train(cfg: Config, resume: str | Path | None = None) -> TrainResult:
    """Validate, prefill, run num_epochs fused epochs with evaluation after each; log on the host.

    With `resume` (a run directory), the latest checkpoint there is restored and the run continues
    to cfg.num_epochs; metrics rows logged after that checkpoint are replaced. With the buffer in
    the checkpoint the continued run is bit-identical on CPU to an uninterrupted one; without it
    the buffer is refilled with random actions.
    """
    cfg.validate()
    agent = make_agent(cfg)
    evaluate = make_evaluate(agent.env, agent.actor, cfg.num_eval_envs)
    key, eval_key = jax.random.split(jax.random.PRNGKey(cfg.seed))
    t0 = time.perf_counter()
    ts = agent.init(key)
    meta = None
    if resume is not None:
        ts, meta, buffer_restored = checkpoint.restore(Path(resume), ts)
        if not buffer_restored:
            ts = agent.prefill(ts)
    else:
        ts = agent.prefill(ts)
    jax.block_until_ready(ts)
    prefill_s = time.perf_counter() - t0
    logger = RunLogger(cfg, run_dir=resume, resume_at=None if meta is None else meta["env_steps"])
    exit_code = 1
    try:
        t0 = time.perf_counter()
        epoch = agent.train_epoch.lower(ts).compile()
        compile_s = time.perf_counter() - t0

        def log_eval(env_steps: int, extra: dict[str, Any]) -> dict:
            row = {k: float(v) for k, v in evaluate(ts.actor_params, jax.random.fold_in(eval_key, env_steps)).items()}
            row.update(extra)
            logger.log(env_steps, row)
            return row

        first_epoch = int(ts.env_steps) // cfg.env_steps_per_epoch
        if meta is None:
            log_eval(0, {"perf/prefill_s": prefill_s, "perf/compile_s": compile_s})
        start = time.perf_counter()
        for index in range(first_epoch, cfg.num_epochs):
            t0 = time.perf_counter()
            ts, metrics = epoch(ts)
            metrics = jax.device_get(metrics)
            seconds = time.perf_counter() - t0
            env_steps = int(ts.env_steps)
            check_finite(metrics, env_steps)
            perf = {
                "perf/env_steps_per_s": cfg.env_steps_per_epoch / seconds,
                "perf/updates_per_s": cfg.iterations_per_epoch * cfg.updates_per_iteration / seconds,
                "perf/epoch_s": seconds,
                "perf/wall_s": time.perf_counter() - start,
            }
            row = log_eval(env_steps, {**{k: float(v) for k, v in metrics.items()}, **perf})
            last = index + 1 == cfg.num_epochs
            if cfg.checkpoint.every and ((index + 1) % cfg.checkpoint.every == 0 or last):
                checkpoint.save(
                    logger.dir,
                    ts,
                    {"env_steps": env_steps, "epoch": index + 1, "updates": int(ts.updates)},
                    with_buffer=cfg.checkpoint.buffer,
                    keep=cfg.checkpoint.keep,
                )
            logger.advance(cfg.env_steps_per_epoch, {k: row[k] for k in ("eval/success", "critic/accuracy")})
        write_outputs(cfg, agent, ts, logger, jax.random.fold_in(eval_key, int(ts.env_steps)))
        exit_code = 0
    finally:
        logger.close(exit_code)
    params = {"actor": ts.actor_params, "critic": ts.critic_params}
    return TrainResult(params=params, history=logger.history, run_dir=logger.dir, state=ts)
