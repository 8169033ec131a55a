"""Orbax checkpoints of the whole TrainState (params, optimizer states, alpha, PRNG key, counters,
env state and, optionally, the replay buffer). Never pickled.

Layout: <run_dir>/checkpoints/<env_steps>/{state, buffer?, meta}. Writes are atomic (orbax
finalizes a temporary directory), so a run killed mid-save keeps its previous checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from crlx.types import TrainState


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt, or does not match the run's config."""


def _flat(tree) -> dict[str, Any]:
    """Non-empty array leaves keyed leaf_00000, ... in flatten order (orbax cannot store size-0 arrays,
    which MJX states contain, e.g. `act` of a scene without actuator activations)."""
    leaves = jax.tree_util.tree_leaves(tree)
    return {f"leaf_{i:05d}": leaf for i, leaf in enumerate(leaves) if np.size(leaf) > 0}


def _unflat(target, flat: dict[str, Any]):
    """Inverse of `_flat` over the structure of `target`; size-0 leaves come from `target`."""
    leaves, treedef = jax.tree_util.tree_flatten(target)
    return jax.tree_util.tree_unflatten(treedef, [flat.get(f"leaf_{i:05d}", leaf) for i, leaf in enumerate(leaves)])


def _manager(run_dir: Path, keep: int | None = None) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=False, create=True)
    return ocp.CheckpointManager(Path(run_dir).absolute() / "checkpoints", options=options)


def save(run_dir: Path, ts: TrainState, meta: dict[str, Any], with_buffer: bool, keep: int) -> Path:
    """Write ts at step meta['env_steps']; keeps the newest `keep` checkpoints."""
    step = int(meta["env_steps"])
    items = {"state": ocp.args.StandardSave(_flat(ts.replace(buffer=None))), "meta": ocp.args.JsonSave(meta)}
    if with_buffer:
        items["buffer"] = ocp.args.StandardSave(_flat(ts.buffer))
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
    state_target = target.replace(buffer=None)
    items = {"state": ocp.args.StandardRestore(_flat(state_target)), "meta": ocp.args.JsonRestore()}
    if has_buffer:
        items["buffer"] = ocp.args.StandardRestore(_flat(target.buffer))
    try:
        with _manager(run_dir) as manager:
            restored = manager.restore(step, args=ocp.args.Composite(**items))
    except Exception as err:  # orbax raises many types (ValueError, KeyError, OSError, tensorstore errors)
        raise CheckpointError(
            f"cannot restore checkpoint {path}: it is corrupt or was written with a different config "
            f"(network sizes, env, num_envs, buffer size must match config.json). Cause: {type(err).__name__}: {err}"
        ) from err
    buffer = _unflat(target.buffer, restored["buffer"]) if has_buffer else target.buffer
    state = _unflat(state_target, restored["state"])
    return state.replace(buffer=buffer), dict(restored["meta"]), has_buffer
