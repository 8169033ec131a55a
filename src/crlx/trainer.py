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


def train(cfg: Config) -> TrainResult:
    """Validate, prefill, run num_epochs fused epochs with evaluation after each; log on the host."""
    cfg.validate()
    agent = make_agent(cfg)
    evaluate = make_evaluate(agent.env, agent.actor, cfg.num_eval_envs)
    logger = RunLogger(cfg)
    history: list[dict[str, float]] = []
    exit_code = 1
    try:
        key, eval_key = jax.random.split(jax.random.PRNGKey(cfg.seed))
        t0 = time.perf_counter()
        ts = agent.prefill(agent.init(key))
        jax.block_until_ready(ts)
        prefill_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        epoch = agent.train_epoch.lower(ts).compile()
        compile_s = time.perf_counter() - t0

        def log_eval(env_steps: int, extra: dict[str, Any]) -> dict:
            row = {k: float(v) for k, v in evaluate(ts.actor_params, jax.random.fold_in(eval_key, env_steps)).items()}
            row.update(extra)
            logger.log(env_steps, row)
            history.append({"env_steps": env_steps, **row})
            return row

        log_eval(0, {"perf/prefill_s": prefill_s, "perf/compile_s": compile_s})
        start = time.perf_counter()
        for _ in range(cfg.num_epochs):
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
            logger.advance(cfg.env_steps_per_epoch, {k: row[k] for k in ("eval/success", "critic/accuracy")})
        exit_code = 0
    finally:
        logger.close(exit_code)
    params = {"actor": ts.actor_params, "critic": ts.critic_params}
    return TrainResult(params=params, history=history, run_dir=logger.dir, state=ts)
