"""Checkpoints: clear errors for bad checkpoints and reused run dirs, NaN keeps the last good one (stopping and
resuming, locks and checksums: tests/test_reliability.py)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

import crlx
from crlx.checkpoint import CheckpointError, latest_step
from crlx.config import CheckpointConfig
from crlx.train import main, parse_args
from tests.conftest import tiny_config


def test_resume_rejects_changed_flags_and_bad_checkpoints(tmp_path):
    cfg = tiny_config(tmp_path, checkpoint=CheckpointConfig(every=1))
    result = crlx.train(cfg)
    again = cfg.replace(log=dataclasses.replace(cfg.log, run_name=result.run_dir.name))
    with pytest.raises(crlx.ConfigError, match="already holds a run .*metrics.jsonl.*--resume"):
        crlx.train(again)  # a fresh run into it would append to its rows
    with pytest.raises(crlx.ConfigError, match="num_envs"):
        parse_args(["--resume", str(result.run_dir), "--num_envs=16"])
    # a checkpoint from a different network shape
    changed = json.loads((result.run_dir / "config.json").read_text())
    changed["critic"]["width"] = 32
    other = tmp_path / "mismatch"
    shutil.copytree(result.run_dir, other)
    (other / "config.json").write_text(json.dumps(changed))
    cfg_other, resume = parse_args(["--resume", str(other)])
    with pytest.raises(CheckpointError, match="different config") as info:
        crlx.train(cfg_other, resume=resume)
    assert "\n" not in str(info.value) and len(str(info.value)) < 500, str(info.value)  # no TensorStore spec dump
    # a corrupt checkpoint
    corrupt = tmp_path / "corrupt"
    shutil.copytree(result.run_dir, corrupt)
    for path in (corrupt / "checkpoints").rglob("*"):
        if path.is_file() and path.stat().st_size > 0 and "state" in path.parts:
            path.write_bytes(b"\0garbage")
    cfg_corrupt, resume = parse_args(["--resume", str(corrupt)])
    with pytest.raises(CheckpointError, match="corrupt"):
        crlx.train(cfg_corrupt, resume=resume)
    assert main(["--resume", str(tmp_path / "nothing_here")]) == 2


def test_nan_keeps_last_good_checkpoint(tmp_path):
    good = tiny_config(tmp_path, checkpoint=CheckpointConfig(every=1))  # 2 epochs, checkpoint each
    run_dir = crlx.train(good).run_dir
    saved = latest_step(run_dir)
    assert saved == good.planned_env_steps
    # continue the same run with a learning rate that diverges
    bad = good.replace(num_epochs=4, total_env_steps=2 * good.total_env_steps, critic_lr=1e30, actor_lr=1e30)
    with pytest.raises(FloatingPointError) as info:
        crlx.train(bad, resume=run_dir)
    found = re.search(r"non-finite (\S+)=\S+ at env step (\d+)", str(info.value))
    assert found, str(info.value)
    assert int(found.group(2)) > saved
    assert latest_step(run_dir) == saved  # the last good checkpoint is kept, nothing newer written


def test_config_file_then_flags(tmp_path):
    preset = tmp_path / "preset.yaml"
    preset.write_text("env: point_mass\nnum_envs: 16\ncritic: {width: 32}\n")
    cfg, _ = parse_args(["--config", str(preset), "--num_envs=8"])
    env_default = crlx.Config.for_env("point_mass").critic.repr_dim  # neither the file nor a flag sets it
    assert (cfg.env, cfg.num_envs, cfg.critic.width, cfg.critic.repr_dim) == ("point_mass", 8, 32, env_default)
    preset.write_text("critic: {widht: 32}\n")
    with pytest.raises(crlx.ConfigError, match="unknown field 'critic.widht'.*width"):
        parse_args(["--config", str(preset)])


@pytest.mark.parametrize("preset", sorted(Path(__file__).resolve().parents[1].joinpath("configs").glob("*.yaml")))
def test_shipped_presets_validate(preset):
    cfg, _ = parse_args(["--config", str(preset)])
    cfg.validate()


def test_mjx_state_round_trips(tmp_path):
    """MJX env states hold size-0 arrays (e.g. `act` of the reacher); checkpoints must handle them."""
    import jax
    import numpy as np

    from crlx import checkpoint
    from crlx.agent import make_agent

    cfg = tiny_config(tmp_path, env="reacher", backend="mjx")
    agent = make_agent(cfg)
    ts = agent.init(jax.random.PRNGKey(3))
    checkpoint.save(tmp_path, ts, {"env_steps": 0}, with_buffer=True, keep=1)
    restored, meta, has_buffer = checkpoint.restore(tmp_path, agent.init(jax.random.PRNGKey(4)))
    assert has_buffer and meta["env_steps"] == 0
    for a, b in zip(jax.tree_util.tree_leaves(ts), jax.tree_util.tree_leaves(restored)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
