"""Start-up status lines on stderr: what a run is doing, with the seconds since it started.

    crlx [  0.0s] building env ant
    crlx [  1.9s] env ant: backend spring, obs 31 = state 29 + goal 2, action 8, episodes of 1001 steps
    crlx [  1.9s] schedule: ... updates per env step ...
"""

from __future__ import annotations

import sys
import time

from crlx.config import Config


class Status:
    """Prints `crlx [elapsed] message` lines to stderr when enabled (cfg.log.progress)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"crlx [{time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)

    def bar(self, total: int, desc: str):
        """A tqdm bar on stderr (None when disabled)."""
        if not self.enabled:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="step", unit_scale=True, leave=False)


def describe_env(cfg: Config, env) -> str:
    return (f"env {cfg.env}: backend {env.backend}, obs {env.observation_size} = state {env.state_dim} + goal "
            f"{env.goal_dim}, action {env.action_size}, episodes of {env.spec.episode_length} steps")


def describe_scale(cfg: Config, sources: dict[str, str] | None) -> str:
    """The run scale, what chose it and the sizes it gave ("" for a config that was never scaled)."""
    if cfg.scale == "auto":
        return ""
    source = (sources or {}).get("scale")
    if source in ("flag", "config", "resume", "user"):
        why = {"flag": "--scale", "config": "the --config file", "resume": "the resumed run",
               "user": "the Config"}[source]
        chosen_by = f"set by {why}"
    else:
        import jax

        chosen_by = f"JAX's default backend is {jax.default_backend()}"
    return (f"scale {cfg.scale} ({chosen_by}): {cfg.num_envs} envs, {cfg.updates_per_iteration} updates per "
            f"iteration, {cfg.num_eval_envs} eval envs; --scale cpu|gpu overrides")


def describe_schedule(cfg: Config) -> str:
    """The update-to-data ratio in words, beside JaxGCRL's CRL (0.063 updates, 16.1 transitions per env step)."""
    return (f"schedule: {cfg.num_envs} envs x {cfg.unroll_length} steps, then {cfg.updates_per_iteration} updates "
            f"of {cfg.batch_size}: update-to-data ratio {cfg.update_to_data_ratio:.2f} sampled transitions per env "
            f"step, {cfg.updates_per_env_step:.4f} updates per env step (JaxGCRL's CRL: 16.1 and 0.063); "
            f"{cfg.planned_env_steps:,} env steps in {cfg.num_epochs} epochs, prefill "
            f"{cfg.prefill_iterations * cfg.env_steps_per_iteration:,} env steps ({cfg.buffer.prefill_actions} actions)")
