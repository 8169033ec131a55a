"""Shared tiny configs: few envs, short episodes, small networks, so JIT compiles stay cheap."""

from __future__ import annotations

import os

os.environ.setdefault("WANDB_SILENT", "true")

from pathlib import Path

import numpy as np
import pytest

from crlx.config import ActorConfig, BufferConfig, Config, CriticConfig, LogConfig


def tiny_config(tmp_dir, **changes) -> Config:
    """A point-mass config that compiles in seconds; `changes` replace top-level fields."""
    base = Config(
        env="point_mass",
        num_envs=8,
        unroll_length=10,
        batch_size=32,
        updates_per_iteration=2,
        total_env_steps=8 * 10 * 2 * 2,
        num_epochs=2,
        num_eval_envs=8,
        buffer=BufferConfig(max_replay_size=100, min_replay_size=10),
        actor=ActorConfig(width=16),
        critic=CriticConfig(width=16, repr_dim=8),
        log=LogConfig(run_dir=str(tmp_dir), progress=False),
    )
    return base.replace(**changes)


ROOT = Path(__file__).resolve().parents[1]
METAWORLD_INSTALL = 'pip install -e ".[dev,metaworld]" in its own environment (metaworld pins mujoco 3.3.0)'
PRESETS = ROOT / "configs"


def subprocess_env() -> dict:
    """This process's environment with the checkout's src/ first on PYTHONPATH, for CLI subprocesses."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
            "WANDB_SILENT": "true"}


def assert_walls_fill_cells(model, rows: list[str], scaling: float) -> None:
    """JaxGCRL's maze walls are one (scaling, scaling, scaling / 2) box per '#' cell of `rows` at
    (i * scaling, j * scaling); crlx's `block_*` boxes must be the same solid with fewer boxes: each
    cell's center and corners (just inside) lie in a box iff the cell is a wall, the boxes do not
    overlap (their volumes add up to the cells'), they stand on the floor and touch everything."""
    blocks = [g for g in range(model.ngeom) if model.geom(g).name.startswith("block_")]
    pos, size = model.geom_pos[blocks], model.geom_size[blocks]
    num_cells = sum(row.count("#") for row in rows)
    assert 0 < len(blocks) < num_cells
    np.testing.assert_allclose(pos[:, 2], scaling / 4)
    np.testing.assert_allclose(size[:, 2], scaling / 4)
    np.testing.assert_allclose(np.prod(2 * size, axis=1).sum(), num_cells * scaling**3 / 2, rtol=1e-5)
    np.testing.assert_array_equal(model.geom_contype[blocks], 1)
    np.testing.assert_array_equal(model.geom_conaffinity[blocks], 1)
    near = 0.45 * scaling
    for i, row in enumerate(rows):
        for j, ch in enumerate(row):
            for dx, dy in ((0, 0), (-near, -near), (near, near), (-near, near), (near, -near)):
                point = np.array([i * scaling + dx, j * scaling + dy, scaling / 4])
                inside = bool(np.any(np.all(np.abs(point - pos) < size, axis=1)))
                assert inside == (ch == "#"), (i, j, dx, dy)


def env_option_default(name: str, option: str):
    """The default of option `option` of the registered env `name`'s factory (None if it has none)."""
    import inspect

    from crlx.envs import ENVS

    parameter = inspect.signature(ENVS[name]).parameters.get(option)
    return None if parameter is None else parameter.default


def preset(name: str, **changes) -> Config:
    """The shipped preset configs/<name>.yaml, with `changes` replacing top-level fields."""
    from crlx.train import load_config_file

    return load_config_file(PRESETS / f"{name}.yaml").replace(**changes)


EXHAUSTIVE_ONLY = frozenset({
    "humanoid_big_maze", "humanoid_hardest_maze", "humanoid_light_big_maze", "humanoid_light_hardest_maze",
    "ant_big_maze", "ant_hardest_maze", "ant_ball_maze", "ant_light_ball_maze",
    "simple_big_maze", "simple_hardest_maze", "pusher_hard", "pusher_reacher", "planar_pusher_hard",
    "humanoid_light", "arm_push_hard", "arm_binpick_hard",
})
"""variants whose every part (body, maze walls, arm, object) a sibling in CI builds (a larger
layout, a harder start): their compile-heavy contract tests run with `--exhaustive`"""
MW_CI_TASKS = frozenset({"mw_reach", "mw_push", "mw_push_back", "mw_faucet_close"})
"""the Meta-World ports whose fidelity tests CI runs: a reach, two pushes (push-back has the loosest
open-loop bound), an articulated object; `--exhaustive` runs all twelve (stick-pull's own success
rule is checked in CI without its closed loop, the slowest test at 7 minutes)"""


def ci_subset(names, keep) -> list:
    """`names` as test parameters: those not in `keep` are marked exhaustive (skipped unless
    pytest runs with `--exhaustive`)."""
    return [name if name in keep else pytest.param(name, marks=pytest.mark.exhaustive) for name in names]


def pytest_addoption(parser):
    parser.addoption("--exhaustive", action="store_true",
                     help="also run the tests marked exhaustive (every env variant and Meta-World task; "
                          "CI runs one per family)")


@pytest.fixture
def tiny(tmp_path):
    return tiny_config(tmp_path)


@pytest.hookimpl(wrapper=True)  # marks in place before any plugin's hook (pytest-xdist's reads them)
def pytest_collection_modifyitems(config, items):
    """Group tests for pytest-xdist's `--dist loadgroup`: every test of one env (contract, training,
    scripted checks) runs in one worker, so its compiled rollouts are built once; tests without an
    env stay with the rest of their module, whose module-scope fixtures they share."""
    from crlx.envs import ENVS, MW_ENVS, metaworld_available

    skip_metaworld = pytest.mark.skip(reason=f"needs the metaworld extra: {METAWORLD_INSTALL}")
    skip_exhaustive = pytest.mark.skip(reason="runs with --exhaustive (CI runs one env or Meta-World task per family)")
    exhaustive = config.getoption("--exhaustive")
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        env = next((value for value in params.values() if isinstance(value, str) and value in ENVS), None)
        item.add_marker(pytest.mark.xdist_group(f"env:{env}" if env else item.module.__name__))
        if env in MW_ENVS:
            item.add_marker(pytest.mark.metaworld)
        if item.get_closest_marker("metaworld") and not metaworld_available():
            item.add_marker(skip_metaworld)
        if item.get_closest_marker("exhaustive") and not exhaustive:
            item.add_marker(skip_exhaustive)
    return (yield)
