"""Orbax checkpoints of the whole TrainState (params, optimizer states, alpha, PRNG key, counters,
env state and, optionally, the replay buffer). Never pickled.

Layout: <run_dir>/checkpoints/<env_steps>/{state, buffer?, meta}. Writes are atomic (orbax
finalizes a temporary directory), so a run killed mid-save keeps its previous checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orbax.checkpoint as ocp

from crlx.types import TrainState


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt, or does not match the run's config."""


def _manager(run_dir: Path, keep: int | None = None) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=False, create=True)
    return ocp.CheckpointManager(Path(run_dir).absolute() / "checkpoints", options=options)


def save(run_dir: Path, ts: TrainState, meta: dict[str, Any], with_buffer: bool, keep: int) -> Path:
    """Write ts at step meta['env_steps']; keeps the newest `keep` checkpoints."""
    step = int(meta["env_steps"])
    items = {"state": ocp.args.StandardSave(ts.replace(buffer=None)), "meta": ocp.args.JsonSave(meta)}
    if with_buffer:
        items["buffer"] = ocp.args.StandardSave(ts.buffer)
    with _manager(run_dir, keep) as manager:
        manager.save(step, args=ocp.args.Composite(**items), force=True)
        manager.wait_until_finished()
    return Path(run_dir) / "checkpoints" / str(step)


def latest_step(run_dir: Path) -> int | None:
    """Env steps of the newest complete checkpoint, or None."""
    if not (Path(run_dir) / "checkpoints").is_dir():
        return None
    with _manager(run_dir) as manager:
        return manager.latest_step()


def restore(run_dir: Path, target: TrainState, step: int | None = None) -> tuple[TrainState, dict, bool]:
    """Restore into the structure of `target` (e.g. a freshly initialized state).

    Returns (state, meta, buffer_restored); without a saved buffer the target's buffer is kept.
    Raises CheckpointError naming the checkpoint when it is absent, corrupt or mismatched.
    """
    step = latest_step(run_dir) if step is None else step
    where = Path(run_dir) / "checkpoints"
    if step is None:
        raise CheckpointError(f"no checkpoint found under {where}; nothing to resume.")
    path = where / str(step)
    has_buffer = (path / "buffer").is_dir()
    items = {"state": ocp.args.StandardRestore(target.replace(buffer=None)), "meta": ocp.args.JsonRestore()}
    if has_buffer:
        items["buffer"] = ocp.args.StandardRestore(target.buffer)
    try:
        with _manager(run_dir) as manager:
            restored = manager.restore(step, args=ocp.args.Composite(**items))
    except Exception as err:  # orbax raises many types (ValueError, KeyError, OSError, tensorstore errors)
        raise CheckpointError(
            f"cannot restore checkpoint {path}: it is corrupt or was written with a different config "
            f"(network sizes, env, num_envs, buffer size must match config.json). Cause: {type(err).__name__}: {err}"
        ) from err
    buffer = restored["buffer"] if has_buffer else target.buffer
    return restored["state"].replace(buffer=buffer), dict(restored["meta"]), has_buffer
