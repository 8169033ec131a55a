"""Orbax checkpoints of the whole TrainState (params, optimizer states, alpha, PRNG key, counters,
env state and, optionally, the replay buffer), verified by checksums on restore. Never pickled.

Layout: <run_dir>/checkpoints/<env_steps>/{state, buffer?, meta, sha256.json}. Orbax writes a
checkpoint into `<step>.orbax-checkpoint-tmp-*` and renames it when complete; crlx then writes
sha256.json, the size and SHA-256 of every file in it. `restore` checks them and uses the newest
checkpoint that passes: a corrupt or cut-off newer one is reported in one line and renamed
`<step>.corrupt`; an unfinished write (a tmp dir left by a killed run) is reported and removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np
import orbax.checkpoint as ocp

from crlx.types import TrainState

MANIFEST = "sha256.json"
"""per-checkpoint file of {relative path: [size in bytes, sha256 hex digest]}"""
UNFINISHED = "orbax-checkpoint-tmp"
"""part of the name of a directory orbax is still writing (left behind when the writer was killed)"""


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt, or does not match the run's config."""


def _flat(tree) -> dict[str, Any]:
    """Non-empty array leaves keyed leaf_00000, ... in flatten order (orbax cannot store size-0 arrays,
    which MJX states contain, e.g. `act` of a scene without actuator activations)."""
    leaves = jax.tree_util.tree_leaves(tree)
    return {f"leaf_{i:05d}": leaf for i, leaf in enumerate(leaves) if np.size(leaf) > 0}


def _place(value, like):
    """`value` placed as `like` is: committed to like's sharding, or uncommitted when like is. Orbax
    returns committed arrays; a state of uncommitted ones lowers to the same program as a fresh
    state, so a resumed run finds its compiled program in the compilation cache."""
    if isinstance(like, jax.Array) and like.committed:
        return jax.device_put(value, like.sharding)
    return jax.device_put(np.asarray(value))


def _unflat(target, flat: dict[str, Any]):
    """Inverse of `_flat` over the structure of `target`; size-0 leaves come from `target`."""
    leaves, treedef = jax.tree_util.tree_flatten(target)
    restored = [_place(flat[f"leaf_{i:05d}"], leaf) if f"leaf_{i:05d}" in flat else leaf for i, leaf in enumerate(leaves)]
    return jax.tree_util.tree_unflatten(treedef, restored)


def _manager(run_dir: Path, keep: int | None = None) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=False, create=True)
    return ocp.CheckpointManager(Path(run_dir).absolute() / "checkpoints", options=options)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.lstrip(".").startswith(MANIFEST))


def write_manifest(path: Path) -> None:
    """<path>/sha256.json: size and SHA-256 of every file under the checkpoint `path` (atomic)."""
    entries = {p.relative_to(path).as_posix(): [p.stat().st_size, _sha256(p)] for p in _files(path)}
    tmp = path / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(entries, indent=1))
    os.replace(tmp, path / MANIFEST)


def verify(path: Path) -> str | None:
    """None when every file of checkpoint `path` matches its sha256.json (or it has none: see
    `restore`); else 'corrupt: ...' naming up to three files."""
    path = Path(path)
    manifest = path / MANIFEST
    if not manifest.is_file():
        return None
    try:
        entries = json.loads(manifest.read_text())
    except (ValueError, OSError) as err:
        return f"corrupt: its {MANIFEST} is unreadable ({type(err).__name__})"
    problems = []
    for name, (size, digest) in entries.items():
        file = path / name
        if not file.is_file():
            problems.append(f"{name} is missing")
        elif file.stat().st_size != size:
            problems.append(f"{name} has {file.stat().st_size} of its {size} bytes")
        elif _sha256(file) != digest:
            problems.append(f"{name} fails its SHA-256 checksum")
    if not problems:
        return None
    more = f" (and {len(problems) - 3} more files)" if len(problems) > 3 else ""
    return "corrupt: " + "; ".join(problems[:3]) + more


def steps(run_dir: Path) -> list[int]:
    """Env steps of the complete (renamed by orbax) checkpoints of a run, oldest first."""
    where = Path(run_dir) / "checkpoints"
    if not where.is_dir():
        return []
    return sorted(int(p.name) for p in where.iterdir() if p.is_dir() and p.name.isdigit())


def latest_step(run_dir: Path) -> int | None:
    """Env steps of the newest complete checkpoint, or None (restore may still reject it as corrupt)."""
    found = steps(run_dir)
    return found[-1] if found else None


def unfinished(run_dir: Path) -> list[Path]:
    """Directories orbax had not finished writing (left by a run killed while saving)."""
    where = Path(run_dir) / "checkpoints"
    return sorted(p for p in where.iterdir() if UNFINISHED in p.name) if where.is_dir() else []


def save(run_dir: Path, ts: TrainState, meta: dict[str, Any], with_buffer: bool, keep: int) -> Path:
    """Write ts at step meta['env_steps'], then its sha256.json; keeps the newest `keep` checkpoints."""
    step = int(meta["env_steps"])
    items = {"state": ocp.args.StandardSave(_flat(ts.replace(buffer=None))), "meta": ocp.args.JsonSave(meta)}
    if with_buffer:
        items["buffer"] = ocp.args.StandardSave(_flat(ts.buffer))
    with _manager(run_dir, keep) as manager:
        manager.save(step, args=ocp.args.Composite(**items), force=True)
        manager.wait_until_finished()
    path = Path(run_dir).absolute() / "checkpoints" / str(step)
    write_manifest(path)
    return path


class Schedule:
    """When the host loop saves: every `every` epochs, once `every_minutes` of wall clock have passed
    since the last save (or the start), after the last epoch, and when the run is asked to stop.
    `every` = 0 turns checkpoints off entirely; `every_minutes` = 0 turns the clock off."""

    def __init__(self, every: int, every_minutes: float, clock: Callable[[], float] = time.monotonic):
        self.every, self.seconds, self.clock = every, every_minutes * 60.0, clock
        self.since = clock()

    def due(self, epoch: int, last: bool = False, stopping: bool = False) -> bool:
        """Whether to save after `epoch` (1-based)."""
        if not self.every:
            return False
        late = self.seconds > 0 and self.clock() - self.since >= self.seconds
        return last or stopping or epoch % self.every == 0 or late

    def saved(self) -> None:
        self.since = self.clock()


def size_bytes(ts: TrainState) -> tuple[int, int]:
    """(bytes of the state without the buffer, bytes of the buffer) that a checkpoint of `ts` holds."""
    count = lambda tree: sum(int(np.size(x)) * np.dtype(x.dtype).itemsize for x in jax.tree_util.tree_leaves(tree))  # noqa: E731
    return count(ts.replace(buffer=None)), count(ts.buffer)


def _short(err: Exception) -> str:
    """The first line of an orbax / TensorStore error, at most 160 characters (they embed whole specs)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text[:160]}{'...' if len(text) > 160 else ''}"


def _warn(message: str) -> None:
    print(f"crlx: warning: {message}", file=sys.stderr, flush=True)


def _set_aside(path: Path) -> Path:
    """Rename a bad checkpoint <step> to <step>.corrupt (kept for inspection; orbax ignores it)."""
    target, n = path.with_name(f"{path.name}.corrupt"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt{n}")
    path.rename(target)
    return target


def _restore_one(run_dir: Path, step: int, target: TrainState) -> tuple[TrainState, dict, bool]:
    path = Path(run_dir) / "checkpoints" / str(step)
    has_buffer = (path / "buffer").is_dir()
    state_target = target.replace(buffer=None)
    items = {"state": ocp.args.StandardRestore(_flat(state_target)), "meta": ocp.args.JsonRestore()}
    if has_buffer:
        items["buffer"] = ocp.args.StandardRestore(_flat(target.buffer))
    with _manager(run_dir) as manager:
        restored = manager.restore(step, args=ocp.args.Composite(**items))
    buffer = _unflat(target.buffer, restored["buffer"]) if has_buffer else target.buffer
    state = _unflat(state_target, restored["state"])
    return state.replace(buffer=buffer), dict(restored["meta"]), has_buffer


def restore(run_dir: Path, target: TrainState | Callable[[int], TrainState], step: int | None = None,
            warn: Callable[[str], None] = _warn) -> tuple[TrainState, dict, bool]:
    """Restore the newest good checkpoint (or `step`) into the structure of `target` (a freshly
    initialized state, or a function of the step that builds one).

    Returns (state, meta, buffer_restored); without a saved buffer the target's buffer is kept.
    Unfinished writes are removed and a newer checkpoint that fails its checksums is renamed
    <step>.corrupt, each reported through `warn` in one line. Raises CheckpointError naming the
    files when no checkpoint is good, or when a good one does not fit the config.
    """
    run_dir = Path(run_dir)
    where = run_dir / "checkpoints"
    for path in unfinished(run_dir):
        shutil.rmtree(path, ignore_errors=True)
        warn(f"removed {path}: an unfinished checkpoint write (the run was stopped while saving).")
    candidates = [step] if step is not None else steps(run_dir)[::-1]
    if not candidates:
        corrupt = sorted(p.name for p in where.glob("*.corrupt*")) if where.is_dir() else []
        if corrupt:
            raise CheckpointError(f"no good checkpoint under {where}: {', '.join(corrupt)} failed their checksums. "
                                  "Start the run afresh, or restore the files from a copy.")
        raise CheckpointError(
            f"no checkpoint found under {where}: the run stopped before its first checkpoint, so there is nothing "
            f"to resume; start it afresh (remove {run_dir} or choose another --log.run_name)."
        )
    rejected = []
    for candidate in candidates:
        path = where / str(candidate)
        if not path.is_dir():
            raise CheckpointError(f"no checkpoint {path}; the run's checkpoints are at env steps {steps(run_dir)}.")
        problem = verify(path)
        if problem is not None:
            rejected.append(f"{path}: {problem}")
            if step is None:
                moved = _set_aside(path)
                warn(f"checkpoint {path} is {problem}; renamed it {moved.name} and trying the previous one.")
            continue
        try:
            state, meta, has_buffer = _restore_one(run_dir, candidate, target(candidate) if callable(target) else target)
        except Exception as err:  # orbax raises many types (ValueError, KeyError, OSError, tensorstore errors)
            raise CheckpointError(
                f"cannot restore checkpoint {path}: it is corrupt or was written with a different config (network "
                f"sizes, env, num_envs, buffer size must match config.json). {_short(err)}"
            ) from None
        if not (path / MANIFEST).is_file():
            warn(f"restored checkpoint {path} unchecked: it has no {MANIFEST} (written by a crlx that did not "
                 "write one, or the run was stopped between writing the checkpoint and its checksums).")
        return state, meta, has_buffer
    raise CheckpointError(
        f"no good checkpoint under {where}: {' | '.join(rejected)}. Start the run afresh, or restore the "
        "files from a copy."
    )
