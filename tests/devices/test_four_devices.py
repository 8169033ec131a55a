"""Training over 4 devices. Needs 4 JAX devices: tests/test_devices.py runs this file in a subprocess
with XLA_FLAGS=--xla_force_host_platform_device_count=4 (4 CPU devices in one process)."""

from __future__ import annotations

import collections
import json
import re

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec

import crlx
from crlx import parallel
from crlx.agent import make_agent
from crlx.config import BufferConfig, CheckpointConfig, ConfigError
from crlx.preflight import prepare
from tests.conftest import tiny_config
from tests.test_seeds import ACCURACY_ATOL, assert_rows_close

pytestmark = pytest.mark.skipif(
    jax.device_count() < 4,
    reason="needs 4 devices; tests/test_devices.py runs it with XLA_FLAGS=--xla_force_host_platform_device_count=4",
)

CAPACITY = 97  # a size no other array in the tiny config has, to spot the buffer in compiled HLO
EPOCHS = 3


def four_device_config(tmp_dir, **changes):
    return tiny_config(tmp_dir, num_devices=4, buffer=BufferConfig(max_replay_size=CAPACITY, min_replay_size=10),
                       **changes)


def run_epochs(agent, epochs: int = EPOCHS):
    ts = agent.prefill(agent.init(jax.random.PRNGKey(0)))
    metrics = []
    for _ in range(epochs):
        ts, m = agent.train_epoch(ts)
        metrics.append(jax.device_get(m))
    return ts, metrics


@pytest.fixture(scope="module")
def data_parallel(tmp_path_factory):
    cfg = four_device_config(tmp_path_factory.mktemp("dp"))
    agent = make_agent(cfg)
    return cfg, agent, run_epochs(agent)


def test_state_is_split_over_the_env_axis(data_parallel):
    cfg, agent, (ts, _) = data_parallel
    assert agent.mesh.size == 4
    assert ts.buffer.states.sharding.spec == PartitionSpec(None, parallel.AXIS)
    assert {s.data.shape for s in ts.buffer.states.addressable_shards} == {(CAPACITY, cfg.num_envs // 4, 2)}
    assert ts.env_state.obs.sharding.spec == PartitionSpec(parallel.AXIS)
    for leaf in jax.tree.leaves(ts.critic_params):
        assert leaf.sharding.is_fully_replicated


def test_four_devices_equal_one_device_with_the_same_global_batch(data_parallel):
    """The same program placed on a one-device mesh: only the float summation order differs."""
    cfg, _, (ts4, metrics4) = data_parallel
    ts1, metrics1 = run_epochs(make_agent(cfg, mesh=parallel.make_mesh(1)))
    assert ts1.buffer.states.sharding.is_fully_replicated
    np.testing.assert_allclose(np.asarray(ts4.buffer.states), np.asarray(ts1.buffer.states), atol=1e-5)
    for leaf4, leaf1 in zip(jax.tree.leaves((ts4.actor_params, ts4.critic_params)),
                            jax.tree.leaves((ts1.actor_params, ts1.critic_params))):
        np.testing.assert_allclose(np.asarray(leaf4), np.asarray(leaf1), rtol=1e-4, atol=1e-5)
    for m4, m1 in zip(metrics4, metrics1):
        for key in m4:
            tolerance = ACCURACY_ATOL if key == "critic/accuracy" else 1e-4
            np.testing.assert_allclose(m4[key], m1[key], rtol=1e-3, atol=tolerance, err_msg=key)


def test_no_collective_moves_the_buffer_or_env_states(data_parallel):
    """Each device steps, stores and samples its own envs: collectives carry only batch-sized
    activations, gradients and scalars, never an array with the buffer's capacity axis."""
    cfg, agent, (ts, _) = data_parallel
    text = agent.program.lower(ts, *agent.epoch_args).compile().as_text()
    collectives = collections.Counter()
    for line in text.splitlines():
        match = re.search(r"= (.+?) (all-gather|all-reduce|all-to-all|collective-permute|reduce-scatter)(-start)?\(",
                          line)
        if match:
            collectives[match.group(2)] += 1
            assert f"[{CAPACITY}," not in match.group(1), line[:300]
    assert collectives["all-reduce"] > 0  # the gradients


def test_trainer_runs_and_resumes_on_four_devices(tmp_path):
    cfg = four_device_config(tmp_path, num_epochs=EPOCHS, total_env_steps=8 * 10 * 2 * EPOCHS,
                             checkpoint=CheckpointConfig(every=1, keep=5))
    full = crlx.train(cfg.replace(log=cfg.log.__class__(run_dir=str(tmp_path), run_name="full", progress=False)))
    assert full.history[-1]["env_steps"] == cfg.planned_env_steps
    assert {"eval/success", "eval/final_dist", "critic/loss"} <= full.history[-1].keys()
    config = json.loads((full.run_dir / "config.json").read_text())
    assert config["num_devices"] == 4

    short = cfg.replace(num_epochs=EPOCHS - 1, total_env_steps=8 * 10 * 2 * (EPOCHS - 1),
                        log=cfg.log.__class__(run_dir=str(tmp_path), run_name="resumed", progress=False))
    crlx.train(short)
    resumed = crlx.train(cfg.replace(log=short.log), resume=tmp_path / "resumed")
    assert resumed.state.buffer.states.sharding.spec == PartitionSpec(None, parallel.AXIS)
    assert_rows_close(resumed.history, full.history, rtol=0, atol=0)


def test_seeds_split_over_devices_match_one_device(tmp_path):
    cfg = tiny_config(tmp_path, seed=5, num_seeds=4, num_devices=4)
    split = crlx.train(cfg)
    together = crlx.train(cfg.replace(num_devices=1, log=cfg.log.__class__(run_dir=str(tmp_path / "one"),
                                                                             progress=False)))
    assert sorted(split.histories) == [5, 6, 7, 8]
    leaf = jax.tree.leaves(split.state.actor_params)[0]
    assert leaf.sharding.spec == PartitionSpec(parallel.AXIS)
    for seed in split.histories:
        assert_rows_close(split.histories[seed], together.histories[seed])


def test_device_counts_are_checked_before_compiling(tmp_path):
    assert tiny_config(tmp_path, num_devices=0).devices == 4
    with pytest.raises(ConfigError, match=r"num_envs=6 is not a multiple of num_devices=4"):
        prepare(tiny_config(tmp_path, num_devices=4, num_envs=6))
    with pytest.raises(ConfigError, match=r"num_seeds=2 is not a multiple of num_devices=4"):
        prepare(tiny_config(tmp_path, num_devices=4, num_seeds=2))
    with pytest.raises(ConfigError, match=r"num_devices=5 but 4 device"):
        prepare(tiny_config(tmp_path, num_devices=5))
