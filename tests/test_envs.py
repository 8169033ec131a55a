"""Contract tests for every registered env (a new entry in `crlx.envs.ENVS` is tested automatically).

Each env is built once per module with `episode_length=5`, wrapped for training with 4 envs,
and its reset/step are jitted once; one 12-step random rollout is shared by the tests.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crlx.envs import ENVS, MW_ENVS, make_env, wrap_for_eval, wrap_for_training
from crlx.envs.assets import asset_path
from crlx.envs.base import GoalEnv
from crlx.envs.grid_maze import GridMaze
from crlx.envs.humanoid_light import STAND_HEIGHT
from crlx.envs.planar_pusher import BLOCK
from tests.conftest import EXHAUSTIVE_ONLY, ci_subset

ENV_NAMES = sorted(set(ENVS) - set(MW_ENVS))
"""the Meta-World ports have their own contract and fidelity tests (test_metaworld.py)"""
NUM_ENVS = 4
EPISODE_LENGTH = 5
NUM_STEPS = 12
SRC_DIR = pathlib.Path(__file__).resolve().parents[1] / "src"

# brax's mjx pipeline reads Data.contact / Data.ncon, which mujoco-mjx marks deprecated
pytestmark = pytest.mark.filterwarnings("ignore:Accessing .* directly from .Data. is deprecated:DeprecationWarning")


@dataclasses.dataclass
class Rollout:
    name: str
    env: GoalEnv
    observation_size: int
    states: list  # states[0] from reset, states[t] after t steps (batched over NUM_ENVS)


@functools.cache
def build_rollout(name: str) -> Rollout:
    """One jitted random-action rollout per env and process (kept however the tests are ordered)."""
    env = make_env(name, episode_length=EPISODE_LENGTH)
    wrapped = wrap_for_training(env)
    reset, step = jax.jit(wrapped.reset), jax.jit(wrapped.step)
    state = reset(jax.random.split(jax.random.PRNGKey(0), NUM_ENVS))
    states = [state]
    key = jax.random.PRNGKey(1)
    for _ in range(NUM_STEPS):
        key, action_key = jax.random.split(key)
        action = jax.random.uniform(action_key, (NUM_ENVS, env.action_size), minval=-1.0, maxval=1.0)
        state = step(state, action)
        states.append(state)
    states = jax.device_get(states)
    return Rollout(name, env, wrapped.observation_size, states)


@pytest.fixture(params=ci_subset(ENV_NAMES, set(ENV_NAMES) - EXHAUSTIVE_ONLY))
def rollout(request) -> Rollout:
    return build_rollout(request.param)


def test_obs_shape_matches_observation_size(rollout: Rollout):
    env = rollout.env
    assert rollout.observation_size == env.observation_size == env.state_dim + env.goal_dim
    assert env.goal_dim > 0
    assert all(0 <= i < env.state_dim for i in env.goal_indices)
    if env.goal_space == next(iter(env.goal_spaces())) and env.goal_dim == len(env.goal_indices):
        states = np.asarray(rollout.states[-1].obs[:, : env.state_dim])
        np.testing.assert_array_equal(np.asarray(env.achieved_goal(states)), states[:, list(env.goal_indices)])
    for state in rollout.states:
        assert state.obs.shape == (NUM_ENVS, rollout.observation_size)
        assert state.info["goal"].shape == (NUM_ENVS, env.goal_dim)


def test_obs_finite_under_random_actions(rollout: Rollout):
    for t, state in enumerate(rollout.states):
        assert np.isfinite(state.obs).all(), f"{rollout.name}: non-finite obs at step {t}"
        assert np.isfinite(state.reward).all(), f"{rollout.name}: non-finite reward at step {t}"


def test_goal_metrics(rollout: Rollout):
    env = rollout.env
    threshold = env.spec.success_threshold
    for t, state in enumerate(rollout.states):
        assert {"dist", "success"} <= set(state.metrics), f"{rollout.name}: metrics {sorted(state.metrics)}"
        dist, success = np.asarray(state.metrics["dist"]), np.asarray(state.metrics["success"])
        assert dist.shape == success.shape == (NUM_ENVS,)
        np.testing.assert_array_equal(success, (dist < threshold).astype(np.float32), err_msg=f"step {t}")
        # away from episode boundaries the metrics describe the obs: ||achieved_goal(s) - g||
        live = np.asarray(state.done) == 0
        achieved = np.asarray(env.achieved_goal(state.obs[:, : env.state_dim]))
        expected = np.linalg.norm(achieved - state.obs[:, env.state_dim :], axis=-1)
        np.testing.assert_allclose(dist[live], expected[live], rtol=1e-4, atol=1e-5, err_msg=f"step {t}")


def test_object_envs_track_whether_the_object_moved(rollout: Rollout):
    """Envs that declare an object (train/goal_moved) get metrics['goal_moved']: within the first
    episode, 1 from the step the object first lies farther than the success threshold from its start."""
    env = rollout.env
    if not env.object_indices:
        assert all("goal_moved" not in state.metrics for state in rollout.states)
        return
    index = list(env.object_indices)
    assert all(0 <= i < env.state_dim for i in index)
    start = np.asarray(rollout.states[0].obs)[:, index]
    far = np.zeros(NUM_ENVS, bool)
    for t in range(1, EPISODE_LENGTH):
        state = rollout.states[t]
        far |= np.linalg.norm(np.asarray(state.obs)[:, index] - start, axis=-1) > env.spec.success_threshold
        np.testing.assert_array_equal(np.asarray(state.metrics["goal_moved"]) > 0, far, err_msg=f"step {t}")
    end = rollout.states[EPISODE_LENGTH]  # its obs is the next episode's; its metric the ended episode's
    assert ((np.asarray(end.metrics["goal_moved"]) > 0) >= far).all()
    np.testing.assert_array_equal(np.asarray(end.info["goal_moved"]), 0.0)  # the next episode starts unmoved


def test_goal_is_in_obs(rollout: Rollout):
    state_dim = rollout.env.state_dim
    for state in rollout.states:
        np.testing.assert_array_equal(state.obs[:, state_dim:], state.info["goal"])


def test_auto_reset_draws_fresh_goal(rollout: Rollout):
    states = rollout.states
    for t in range(1, EPISODE_LENGTH):
        assert (np.asarray(states[t].done) == 0).all(), f"{rollout.name}: early done at step {t}"
    end = states[EPISODE_LENGTH]
    assert (np.asarray(end.done) == 1).all(), f"{rollout.name}: episode did not end at step {EPISODE_LENGTH}"
    before, after = states[EPISODE_LENGTH - 1].info["goal"], end.info["goal"]
    changed = np.abs(after - before).max(axis=-1) > 0
    if rollout.name == "cheetah":  # JaxGCRL's cheetah commands the same goal x every episode
        assert not changed.any()
    elif isinstance(getattr(rollout.env, "maze", None), GridMaze):  # a few goal cells: a draw may repeat
        assert changed.any(), f"{rollout.name}: goal unchanged after auto-reset"
    else:
        assert changed.all(), f"{rollout.name}: goal unchanged after auto-reset"
    np.testing.assert_array_equal(end.obs[:, rollout.env.state_dim :], after)
    # within an episode the goal stays put
    for t in range(1, EPISODE_LENGTH):
        np.testing.assert_array_equal(states[t].info["goal"], states[0].info["goal"])


def test_auto_reset_restarts_only_the_envs_that_are_done():
    """Envs at different steps of their episodes: the done ones restart from fresh_rng's reset, the
    others carry on exactly as the unwrapped batched step; with none done the step is the plain one."""
    env = make_env("point_mass", episode_length=EPISODE_LENGTH)
    wrapped, plain = wrap_for_training(env), wrap_for_eval(env)
    state = jax.jit(wrapped.reset)(jax.random.split(jax.random.PRNGKey(0), NUM_ENVS))
    action = jnp.full((NUM_ENVS, env.action_size), 0.5)
    step = jax.jit(wrapped.step)
    for steps, ends in (([EPISODE_LENGTH - 1, 0, EPISODE_LENGTH - 1, 2], [1, 0, 1, 0]), ([0, 1, 2, 3], [0, 0, 0, 0])):
        state.info["steps"] = jnp.asarray(steps, jnp.int32)
        out, expected = step(state, action), jax.jit(plain.step)(state, action)
        fresh_keys = jax.vmap(jax.random.split)(state.info["reset_rng"])[:, 1]
        fresh = jax.jit(plain.reset)(fresh_keys)
        np.testing.assert_array_equal(out.done, ends)
        np.testing.assert_array_equal(out.metrics["dist"], expected.metrics["dist"])  # the ending step's
        for i, end in enumerate(ends):
            source = fresh if end else expected
            np.testing.assert_array_equal(out.obs[i], source.obs[i])
            np.testing.assert_array_equal(out.info["goal"][i], source.info["goal"][i])
            assert int(out.info["steps"][i]) == (0 if end else steps[i] + 1)
        assert (np.asarray(out.info["goal"][np.asarray(ends) == 1]) != np.asarray(state.info["goal"][np.asarray(ends) == 1])).all()


def test_goal_distribution(rollout: Rollout):
    """Env-specific ranges: reacher goals in the reachable annulus, ant goals on the circle."""
    env = rollout.env
    radius = np.concatenate([np.linalg.norm(state.info["goal"][..., :2], axis=-1) for state in rollout.states])
    if rollout.name == "reacher":  # xy within goal_radius of the base, z the arm's plane
        assert (radius <= env.goal_radius + 1e-6).all()
        np.testing.assert_allclose(np.concatenate([s.info["goal"][:, 2] for s in rollout.states]), 0.01, atol=1e-6)
    elif rollout.name == "ant":
        np.testing.assert_allclose(radius, env.goal_distance, rtol=1e-5)
    elif rollout.name == "ant_light_ball":  # goal_distance from the ball's start, ball_distance from the torso
        first = rollout.states[0]
        ball = first.obs[:, list(env.goal_indices)]
        np.testing.assert_allclose(np.linalg.norm(first.info["goal"] - ball, axis=-1), env.goal_distance, rtol=1e-3)
        np.testing.assert_allclose(np.linalg.norm(ball - first.obs[:, :2], axis=-1), env.ball_distance, atol=0.15)
    elif rollout.name == "cheetah":  # JaxGCRL's fixed goal x
        np.testing.assert_allclose(radius, env.goal_x)
    elif rollout.name == "humanoid":  # JaxGCRL's goal: 1-5 m from the origin at z 1.25 (jaxgcrl/envs/humanoid.py)
        goal = rollout.states[0].info["goal"]
        reach = np.linalg.norm(goal[:, :2], axis=-1)
        assert ((reach >= 1.0 - 1e-5) & (reach <= 5.0 + 1e-5)).all(), reach
        np.testing.assert_allclose(goal[:, 2], 1.25)
    elif rollout.name == "humanoid_light":  # xy goal_min..goal_max from the start, z the standing height
        first = rollout.states[0]
        reach = np.linalg.norm(first.info["goal"][:, :2] - first.obs[:, :2], axis=-1)
        assert ((reach >= env.goal_min - 0.05) & (reach <= env.goal_max + 0.05)).all(), reach
        np.testing.assert_allclose(first.info["goal"][:, 2], STAND_HEIGHT)
    elif rollout.name.startswith("planar_pusher"):  # blocks in front of the base; goals per task
        first = rollout.states[0]
        block, goal = first.obs[:, BLOCK : BLOCK + 2], first.info["goal"]
        assert (block[:, 0] > 0.1).all()
        if rollout.name == "planar_pusher_easy":
            offset = np.linalg.norm(goal - block, axis=-1)
            assert ((offset >= env.goal_min - 1e-5) & (offset <= env.goal_max + 1e-5)).all()
        elif rollout.name == "planar_pusher_hard":
            assert (np.linalg.norm(goal - block, axis=-1) >= env.MIN_SEPARATION).all()
            assert ((radius >= 0.2 - 1e-5) & (radius <= 0.5 + 1e-5)).all()
        else:
            assert ((radius >= env.goal_min_radius - 1e-5) & (radius <= env.goal_max_radius + 1e-5)).all()
    elif rollout.name.startswith("pusher"):  # JaxGCRL's goal offsets (y, x) from the marker's rest (0.45, -0.05)
        goal = rollout.states[0].info["goal"]
        low, high = {"pusher_easy": ((-0.55, -0.2), (-0.25, 0.2)), "pusher_hard": ((-0.65, -0.55), (0.35, 0.45)),
                     "pusher_reacher": ((-0.3, -0.2), (0.0, 0.2))}[rollout.name]  # jaxgcrl/envs/pusher.py
        offset = goal[:, [1, 0]] - np.array([-0.05, 0.45])
        assert ((offset >= np.array(low) - 1e-5) & (offset <= np.array(high) + 1e-5)).all(), offset
        np.testing.assert_allclose(goal[:, 2], -0.323, atol=1e-6)
    elif hasattr(env, "maze"):  # goals in goal cells, starts in start cells
        maze = env.maze
        for state in rollout.states:
            rows, cols = (np.asarray(i) for i in maze.cell_of(state.info["goal"]))
            assert all(maze.rows[r][c] == "G" for r, c in zip(rows, cols)), rollout.name
        rows, cols = (np.asarray(i) for i in maze.cell_of(rollout.states[0].obs[:, :2]))
        assert all(maze.rows[r][c] == "S" for r, c in zip(rows, cols)), rollout.name


def test_unknown_env_name_suggests_close_match():
    with pytest.raises(ValueError, match="reacher"):
        make_env("reachr")
    with pytest.raises(ValueError, match="point_mass"):
        make_env("point_mas")


@pytest.mark.parametrize("name", ENV_NAMES)
def test_unknown_override_raises(name: str):
    with pytest.raises(ValueError, match="not_an_option"):
        make_env(name, not_an_option=1)


@pytest.mark.parametrize("name", ENV_NAMES)
def test_unknown_backend_raises(name: str):
    with pytest.raises(ValueError, match="backend"):
        make_env(name, backend="not_a_backend")


@pytest.mark.parametrize(
    "name, field, value",
    [
        ("reacher", "success_threshold", 0.0),
        ("reacher", "episode_length", 0),
        ("reacher", "goal_radius", 0.5),
        ("reacher", "goal_radius", -0.1),
        ("ant", "goal_distance", -1.0),
        ("ant", "success_threshold", 0.0),
        ("ant", "healthy_z_range", (1.0, 0.2)),
    ],
)
def test_bad_option_value_names_field(name: str, field: str, value):
    with pytest.raises(ValueError, match=field):
        make_env(name, **{field: value})


def test_asset_path_missing_names_paths_tried():
    assert asset_path("ant.xml").is_absolute()
    with pytest.raises(FileNotFoundError, match="no_such_scene.xml"):
        asset_path("no_such_scene.xml")


def test_assets_resolve_from_any_working_directory(tmp_path: pathlib.Path):
    code = (
        "import crlx.envs\n"
        "envs = [crlx.envs.make_env(name) for name in crlx.envs.ENVS if name not in crlx.envs.MW_ENVS]\n"
        "from crlx.envs.assets import asset_path\n"
        "print(asset_path('ant.xml'), asset_path('arm.xml'))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(SRC_DIR), JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ant.xml" in result.stdout


def test_point_mass_straight_line_controller_succeeds():
    env = make_env("point_mass")
    wrapped = wrap_for_eval(env)
    num_envs = 16

    def episode(keys):
        state = wrapped.reset(keys)

        def body(state, _):
            pos, goal = state.obs[:, : env.state_dim], state.info["goal"]
            action = jnp.clip((goal - pos) / env.max_step, -1.0, 1.0)
            state = wrapped.step(state, action)
            return state, state.metrics["success"]

        return jax.lax.scan(body, state, None, length=env.spec.episode_length)[1]

    success = jax.jit(episode)(jax.random.split(jax.random.PRNGKey(2), num_envs))
    assert success.shape == (env.spec.episode_length, num_envs)
    assert (np.asarray(success).max(axis=0) == 1).all()
