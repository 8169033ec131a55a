"""--num_seeds: one vmapped process trains independent agents, each logging and checkpointing alone."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import crlx
from crlx.checkpoint import latest_step
from crlx.config import CheckpointConfig
from tests.conftest import tiny_config


def comparable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.startswith("perf/")} for row in rows]


ACCURACY_ATOL = 0.02
"""critic/accuracy counts argmax hits over near-tied logits early in training (positives exact from
their differences, negatives from a matmul whose summation order vmap and sharding change): a
sample may flip, 1/128 of the averaged accuracy in the tiny configs, so it is compared to 0.02"""


def assert_rows_close(a: list[dict], b: list[dict], rtol: float = 1e-3, atol: float = 1e-4):
    a, b = comparable(a), comparable(b)
    assert [r["env_steps"] for r in a] == [r["env_steps"] for r in b]
    for row_a, row_b in zip(a, b):
        assert row_a.keys() == row_b.keys()
        for key in row_a:
            tolerance = ACCURACY_ATOL if key == "critic/accuracy" else atol
            np.testing.assert_allclose(row_a[key], row_b[key], rtol=rtol, atol=tolerance, err_msg=key)


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    cfg = tiny_config(root, seed=3, num_seeds=2, num_epochs=4, total_env_steps=640,
                      checkpoint=CheckpointConfig(every=2, keep=3))
    return cfg, crlx.train(cfg.replace(log=cfg.log.__class__(run_dir=str(root), run_name="multi", progress=False)))


def test_each_seed_has_its_own_dir_metrics_and_checkpoints(two_seeds):
    cfg, result = two_seeds
    assert sorted(result.histories) == [3, 4]
    assert result.history is result.histories[3]
    for seed in (3, 4):
        seed_dir = result.run_dir / f"seed_{seed}"
        assert json.loads((seed_dir / "config.json").read_text())["seed"] == seed
        assert len((seed_dir / "metrics.jsonl").read_text().splitlines()) == cfg.num_epochs + 1
        assert latest_step(seed_dir) == cfg.planned_env_steps
    leaves = {np.shape(x)[0] for x in __import__("jax").tree_util.tree_leaves(result.params)}
    assert leaves == {2}
    # the seeds are independent agents, not copies
    assert result.histories[3][-1]["critic/loss"] != result.histories[4][-1]["critic/loss"]
    with pytest.raises(ValueError, match="seed_index"):
        crlx.make_policy(result.params, cfg)
    action = crlx.make_policy(result.params, cfg, seed_index=1)(np.zeros((3, 4), np.float32))
    assert action.shape == (3, 2)


def test_a_seed_matches_its_single_seed_run(two_seeds, tmp_path):
    cfg, result = two_seeds
    single = crlx.train(cfg.replace(seed=4, num_seeds=1, log=cfg.log.__class__(run_dir=str(tmp_path), progress=False)))
    assert_rows_close(result.histories[4], single.history)


def test_resume_all_seeds_is_exact(two_seeds, tmp_path):
    cfg, result = two_seeds
    copy = tmp_path / "multi"
    shutil.copytree(result.run_dir, copy)
    for seed in (3, 4):  # forget the last checkpoint: resume from the middle of the run
        shutil.rmtree(copy / f"seed_{seed}" / "checkpoints" / str(cfg.planned_env_steps))
    resumed = crlx.train(cfg, resume=copy)
    for seed in (3, 4):
        assert comparable(resumed.histories[seed]) == comparable(result.histories[seed])
