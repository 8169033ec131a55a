"""Host-side outputs of a run: run directory, metrics.jsonl, progress bar, optional wandb.

Nothing here runs inside jit; the training loop calls it between epochs.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from pathlib import Path
from typing import Any

from tqdm import tqdm

from crlx.config import Config


def config_hash(cfg: Config) -> str:
    """6 hex digits of a hash of every field but the host-side outputs (log, wandb): equal for runs
    that train the same way, different for runs that differ in any hyperparameter."""
    fields = {k: v for k, v in cfg.to_dict().items() if k not in ("log", "wandb")}
    return hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:6]


def default_run_name(cfg: Config, now: float | None = None) -> str:
    """<env>-<contrastive>-<energy>-s<seed>-<date>-<time>-<milliseconds>-<config hash>: two runs started
    together get different names unless they are the same run in the same millisecond."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{cfg.env}-{cfg.loss.contrastive}-{cfg.loss.energy}-s{cfg.seed}-{stamp}-{int(now * 1000) % 1000:03d}-{config_hash(cfg)}"


def to_python(value: Any) -> Any:
    """jax/numpy scalars -> float/int for JSON."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if isinstance(value, int) else number


def require_fresh(run_dirs: list[Path], run: Path) -> None:
    """ConfigError when the directory `run` of a fresh run holds anything but its lock file (an earlier
    run's files, which the new run would mix with its own); `run_dirs` are where it checkpoints. Call
    it holding the run's lock (crlx.runlock), so that no other run starts in between."""
    from crlx.checkpoint import steps
    from crlx.config import ConfigError
    from crlx.runlock import LOCK_FILE

    run = Path(run)
    found = sorted(p.name for p in run.iterdir() if p.name != LOCK_FILE) if run.is_dir() else []
    if not found:
        return
    listing = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
    if any(steps(d) for d in run_dirs):
        raise ConfigError(
            f"log.run_name: {str(run)!r} already holds a run ({listing}), which a fresh run would mix with its own; "
            f"continue that run with --resume {run}, or start afresh under another --log.run_name (or remove it)."
        )
    raise ConfigError(
        f"log.run_name: {str(run)!r} already holds files ({listing}) of a run that saved no checkpoint, so it "
        "cannot be resumed; remove it, or start afresh under another --log.run_name."
    )


def write_config_json(run_dir: Path, cfg: Config, sources: dict[str, str] | None = None,
                      derived: dict[str, Any] | None = None) -> dict:
    """<run_dir>/config.json: the resolved config, its derived values (plus `derived`, e.g. checkpoint
    sizes), and which source set each field ("crlx", "env", "config", "resume", "flag", or "user" from
    Python; see crlx.config.value_sources). Returns what it wrote (also sent to wandb as the run's config)."""
    from crlx.config import value_sources

    resolved = {
        **cfg.to_dict(),
        "derived": {
            "env_steps_per_iteration": cfg.env_steps_per_iteration,
            "iterations_per_epoch": cfg.iterations_per_epoch,
            "planned_env_steps": cfg.planned_env_steps,
            "update_to_data_ratio": cfg.update_to_data_ratio,
            "updates_per_env_step": cfg.updates_per_env_step,
            "prefill_iterations": cfg.prefill_iterations,
            **(derived or {}),
        },
        "sources": sources or value_sources(cfg),
    }
    (Path(run_dir) / "config.json").write_text(json.dumps(resolved, indent=2, default=str))
    return resolved


class RunLogger:
    """Writes config.json and metrics.jsonl into a run directory; mirrors to wandb."""

    def __init__(self, cfg: Config, run_dir: Path, resume_at: int | None = None, progress: bool = True,
                 sources: dict[str, str] | None = None, derived: dict[str, Any] | None = None):
        """Logs into `run_dir` (created if needed); with `resume_at`, rows of metrics.jsonl after that
        env step (logged after the checkpoint) are dropped. `progress=False` hides the bar."""
        self.cfg = cfg
        self.dir = Path(run_dir)
        self.name = self.dir.name
        self.dir.mkdir(parents=True, exist_ok=True)
        resolved = write_config_json(self.dir, cfg, sources, derived)
        metrics_path = self.dir / "metrics.jsonl"
        self.history: list[dict[str, Any]] = []
        if resume_at is not None and metrics_path.exists():
            rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
            self.history = [row for row in rows if row["env_steps"] <= resume_at]
            metrics_path.write_text("".join(json.dumps(row) + "\n" for row in self.history))
        self._metrics = metrics_path.open("a")
        self._bar, self._summary = None, {}
        if cfg.log.progress and progress:
            done = resume_at or 0
            self._bar = tqdm(
                total=cfg.planned_env_steps, initial=done, unit="step", unit_scale=True, desc=cfg.env, smoothing=0.3
            )
        self._wandb = None
        if cfg.wandb.mode != "disabled":
            import wandb

            id_file = self.dir / "wandb_run_id"
            run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:8]
            id_file.write_text(run_id)
            self._wandb = wandb.init(
                project=cfg.log.wandb_project,
                group=cfg.log.wandb_group,
                tags=list(cfg.log.wandb_tags),
                name=self.name,
                id=run_id,
                resume="allow",
                dir=str(self.dir),
                mode=cfg.wandb.mode,
                config=resolved,
            )

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        row = {"env_steps": int(step), **{k: to_python(v) for k, v in metrics.items()}}
        self.history.append(row)
        self._metrics.write(json.dumps(row, allow_nan=True) + "\n")
        self._metrics.flush()
        if self._wandb is not None:
            self._wandb.log(row, step=int(step))

    def log_media(self, key: str, path: Path, step: int) -> None:
        """Send an image (.png) or video (.mp4/.gif) file to wandb; the file stays in the run dir."""
        if self._wandb is None:
            return
        import wandb

        media = wandb.Image(str(path)) if str(path).endswith(".png") else wandb.Video(str(path))
        self._wandb.log({key: media}, step=int(step))

    def advance(self, env_steps: int, summary: dict[str, Any]) -> None:
        """Move the bar by env_steps; its postfix shows `summary` over the values shown before."""
        if self._bar is None:
            return
        self._bar.update(env_steps)
        self._summary.update(summary)
        shown = {k.split("/", 1)[1]: f"{float(v):.3g}" for k, v in self._summary.items() if math.isfinite(float(v))}
        self._bar.set_postfix(shown, refresh=True)

    def close(self, exit_code: int = 0) -> None:
        if self._bar is not None:
            self._bar.close()
        self._metrics.close()
        if self._wandb is not None:
            self._wandb.finish(exit_code=exit_code)
