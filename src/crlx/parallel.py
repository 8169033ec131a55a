"""Placement of a run over devices: a 1-D mesh with axis "data" and the TrainState shardings.

One seed (data parallel): the env axis of the env state and of the replay buffer is split over
the mesh, everything else (params, optimizer states, alpha, key, counters) is replicated. The
jitted epoch is unchanged; XLA partitions it, so each device steps and stores its own envs,
samples batch_size / n rows from its own buffer shard (`buffer.sample(num_shards=n)`), and the
loss is the same global-batch loss as on one device (critic logits are B x B over the whole
batch; gradients are reduced over devices).

Several seeds: the leading seed axis of every leaf is split over the mesh (each device trains
num_seeds / n independent agents).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from crlx.buffer import BufferState
from crlx.types import TrainState

AXIS = "data"


def make_mesh(num_devices: int) -> Mesh:
    """A mesh over the first num_devices devices (all processes' devices under jax.distributed)."""
    return Mesh(np.asarray(jax.devices()[:num_devices]), (AXIS,))


def state_specs(ts: TrainState, seeds_batched: bool) -> TrainState:
    """PartitionSpecs with the structure of `ts` (a TrainState or its eval_shape)."""
    split = PartitionSpec(AXIS)
    if seeds_batched:
        return jax.tree.map(lambda _: split, ts)
    replicated = PartitionSpec()
    env_axis_1 = PartitionSpec(None, AXIS)
    specs = jax.tree.map(lambda _: replicated, ts)
    buffer = BufferState(
        states=env_axis_1, actions=env_axis_1, ep_id=env_axis_1, ep_end=env_axis_1, next_ep=split, count=replicated
    )
    return specs.replace(env_state=jax.tree.map(lambda _: split, ts.env_state), buffer=buffer)


def state_shardings(mesh: Mesh, ts: TrainState, seeds_batched: bool) -> TrainState:
    """NamedShardings with the structure of `ts`."""
    return jax.tree.map(lambda spec: NamedSharding(mesh, spec), state_specs(ts, seeds_batched),
                        is_leaf=lambda x: isinstance(x, PartitionSpec))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Arrays whose leading axis (envs, or seeds) is split over the mesh."""
    return NamedSharding(mesh, PartitionSpec(AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    """A full copy on every device of the mesh."""
    return NamedSharding(mesh, PartitionSpec())
