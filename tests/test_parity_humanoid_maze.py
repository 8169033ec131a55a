"""crlx's humanoid mazes (crlx.envs.humanoid_maze.HumanoidMaze) are JaxGCRL's humanoid_u_maze,
humanoid_big_maze and humanoid_hardest_maze (jaxgcrl 0.2.8 jaxgcrl/envs/humanoid_maze.py).

Sizes, cells, walls: state_dim, goal slice, observation size, start and goal cells and the wall
cells written below as literals from JaxGCRL's source (no physics runs; the scenes only compile);
crlx's merged wall boxes fill exactly JaxGCRL's per-cell boxes.

Physics: one jitted scan runs crlx's humanoid in the U maze and brax's own `humanoid` env on
JaxGCRL's default backend ('spring') from the same initial state (the start cell, (2, 2)) under
the same random actions. brax's System gets JaxGCRL's contype 1 on every geom, as in
tests/test_parity_humanoid.py, and has no walls: until the first wall contact the two follow
each other to float32 round-off (the target body and the far walls enter only as round-off).
The humanoid falls into the +x wall (x = 3 m) at step 107; from there the wall holds it
(no deeper penetration than the contact solver's softness) and the open-floor oracle goes on
falling, which shows that the walls act on the body.

Observation: crlx's state part is brax's humanoid observation terms (`_get_obs`) evaluated on
crlx's maze System with the applied control; the goal part is the target link's xy and 1.25.
"""

from __future__ import annotations

import copy
import functools
import warnings

import brax.contact
import brax.envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crlx.envs.grid_maze import GridMaze
from crlx.envs.humanoid_maze import HumanoidMaze, humanoid_maze_scene
from tests.conftest import assert_walls_fill_cells

pytestmark = pytest.mark.filterwarnings("ignore:Accessing .* directly from .Data. is deprecated:DeprecationWarning")

STEPS = 150
"""env steps of the paired rollout (spring, PRNGKey(0)): standing, then a fall into the +x wall at step 107"""
BACKEND = "spring"
"""jaxgcrl/utils/env.py create_env: HumanoidMaze(backend=backend or "spring", maze_layout_name=env_name[9:])"""
STATE_DIM, GOAL_INDICES, OBS_SIZE = 268, (0, 1, 2), 271
"""jaxgcrl/envs/humanoid_maze.py: state_dim 268, goal_indices [0, 1, 2]; _get_obs: qpos 26 + qvel 25
+ cinert 12 x 10 + cvel 12 x 6 + qfrc_actuator 25 = 268, then target xy and TARGET_Z_COORD 1.25"""
SCALING = 2.0
"""jaxgcrl/envs/humanoid_maze.py HumanoidMaze(maze_size_scaling=2.0)"""
MAZE_CELLS = {
    # layout: (start cells, number of goal cells, first goal cells, number of wall cells), (x, y) = 2 (row, column)
    "u": ([[2.0, 2.0]], 6, [[2.0, 4.0], [2.0, 6.0], [4.0, 6.0]], 18),  # humanoid_maze.py U_MAZE, 5 x 5
    "big": ([[2.0, 2.0]], 25, [[2.0, 4.0], [2.0, 10.0], [2.0, 12.0]], 38),  # BIG_MAZE, 8 x 8
    "hardest": ([[2.0, 2.0]], 45, [[2.0, 4.0], [2.0, 6.0], [2.0, 8.0]], 62),  # HARDEST_MAZE, 12 x 9
}
"""JaxGCRL's find_starts / find_goals (i * size_scaling, j * size_scaling) on its layouts, and its
make_maze: one box per '1' cell"""
PHYSICS_ATOL = (1e-3, 1e-2)
"""(atol on qpos, atol on qvel) until the first wall contact; measured (CPU, float32) 5.9e-5, 8.4e-5"""
WALL_DIVERGENCE = 0.1
"""after the wall contact the maze humanoid's qpos departs from the open-floor oracle's by more
than this (m or rad); measured 0.64"""
WALL_FACE_X = 3.0
"""the -x face of U_MAZE's block_2_1 (center x 4, half size 1) beside the start cell; measured torso x
up to 2.74 in the maze and 3.38 on the open floor"""
MAX_PENETRATION = 0.01
"""the deepest wall penetration (m) over the rollout; measured 6.4e-4"""
OBS_ATOL = 1e-5
"""crlx's state part against brax's observation terms"""


@functools.cache
def env() -> HumanoidMaze:
    return HumanoidMaze("u", backend=BACKEND)


def test_sizes_and_goal_slice_match_jaxgcrl():
    maze = env()
    assert maze.state_dim == STATE_DIM
    assert tuple(maze.goal_indices) == GOAL_INDICES
    assert maze.observation_size == OBS_SIZE
    assert maze.goal_dim == 3
    assert maze.action_size == 17
    assert maze.dt == pytest.approx(0.015)  # humanoid_maze.py: spring timestep 0.0015 x 10 frames
    assert maze.spec.episode_length == 1001  # jaxgcrl/utils/config.py episode_length
    assert maze.spec.success_threshold == 0.5  # humanoid_maze.py step: success = distance_to_target < 0.5
    assert maze.healthy_z_range == (1.0, 2.0) and maze.terminate_when_unhealthy


@pytest.mark.parametrize("layout", sorted(MAZE_CELLS))
def test_maze_cells_and_walls_match_jaxgcrl(layout):
    starts, num_goals, first_goals, num_walls = MAZE_CELLS[layout]
    maze = GridMaze("test", layout, SCALING)
    np.testing.assert_array_equal(maze.starts, starts)
    assert len(maze.goals) == num_goals
    np.testing.assert_array_equal(maze.goals[:3], first_goals)
    model = humanoid_maze_scene(maze).compile()
    assert sum(row.count("#") for row in maze.rows) == num_walls
    assert_walls_fill_cells(model, maze.rows, SCALING)


def test_scene_has_jaxgcrl_changes():
    """humanoid_maze.xml against brax's humanoid.xml: contype 1 on every geom, a 100 m floor, the target
    body at z 1.25 on slide joints of range +-100 m, touching nothing."""
    model = env().mj_model
    target, floor = model.geom("target"), model.geom("floor")
    np.testing.assert_array_equal(np.delete(model.geom_contype, target.id), 1)
    assert (target.contype[0], target.conaffinity[0]) == (0, 0)
    np.testing.assert_allclose(model.body("target").pos, [0.0, 0.0, 1.25])
    np.testing.assert_allclose(floor.size[:2], [100.0, 100.0])
    assert model.nq == 26 and model.nv == 25
    np.testing.assert_allclose(model.jnt_range[-2:], [[-100.0, 100.0], [-100.0, 100.0]])


def test_goals_are_goal_cells_at_target_height():
    maze = env()
    goals = np.asarray(jax.vmap(maze.sample_goal)(jax.random.split(jax.random.PRNGKey(0), 600)))  # (600, 3)
    np.testing.assert_array_equal(goals[:, 2], np.float32(1.25))
    cells = {tuple(g) for g in goals[:, :2].tolist()}
    assert cells == {tuple(g) for g in maze.maze.goals.tolist()}  # all 6 goal cells, nothing else


@pytest.mark.parametrize("options, field", [
    ({"layout": "v"}, "layout"),
    ({"maze_size_scaling": 0.0}, "maze_size_scaling"),
    ({"reset_noise_scale": -0.1}, "reset_noise_scale"),
    ({"success_threshold": 0.0}, "success_threshold"),
    ({"episode_length": 0}, "episode_length"),
    ({"healthy_z_range": (2.0, 1.0)}, "healthy_z_range"),
    ({"backend": "physx"}, "backend"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ValueError, match=field):
        HumanoidMaze(**options)


@functools.cache
def paired_rollout():
    """One jitted scan over STEPS random actions; each array (STEPS + 1, ...):
    crlx q, brax q, crlx qd, brax qd; crlx obs, reference state part, target link position,
    the smallest humanoid-wall contact distance."""
    ours_env = env()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = brax.envs.get_environment("humanoid", backend=BACKEND, exclude_current_positions_from_observation=False)
    observer = copy.copy(oracle)  # brax's observation terms on crlx's maze System
    observer.sys = ours_env.sys
    oracle.sys = oracle.sys.replace(geom_contype=np.ones_like(np.asarray(oracle.sys.geom_contype)))
    nq, nv = oracle.sys.q_size(), oracle.sys.qd_size()
    ctrl_range = oracle.sys.actuator.ctrl_range
    model = ours_env.mj_model
    is_wall = jnp.array([model.geom(i).name.startswith("block_") for i in range(model.ngeom)])  # (ngeom,)

    def wall_distance(ps):
        contact = brax.contact.get(ours_env.sys, ps.x)
        touches_wall = is_wall[contact.geom1] | is_wall[contact.geom2]
        return jnp.min(jnp.where(touches_wall, contact.dist, jnp.inf))

    def record(ps, theirs, obs, ctrl):
        physics = (ps.q[:nq], theirs.q, ps.qd[:nv], theirs.qd)
        return physics, (obs, observer._get_obs(ps, ctrl), ps.x.pos[-1], wall_distance(ps))

    @jax.jit
    def run(key):
        reset_key, action_key = jax.random.split(key)
        state = ours_env.reset(reset_key)
        ours = state.pipeline_state
        theirs = oracle.pipeline_init(ours.q[:nq], ours.qd[:nv])
        actions = jax.random.uniform(action_key, (STEPS, ours_env.action_size), minval=-1.0, maxval=1.0)

        def body(carry, action):
            state, theirs = carry
            ctrl = ctrl_range[:, 0] + (action + 1.0) * 0.5 * (ctrl_range[:, 1] - ctrl_range[:, 0])  # as JaxGCRL
            state = ours_env.step(state, action)
            theirs = oracle.pipeline_step(theirs, ctrl)
            return (state, theirs), record(state.pipeline_state, theirs, state.obs, ctrl)

        first = record(ours, theirs, state.obs, jnp.zeros(ours_env.action_size))
        _, rest = jax.lax.scan(body, (state, theirs), actions)
        return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)

    return jax.device_get(run(jax.random.PRNGKey(0)))


def test_start_is_the_start_cell():
    (q, *_), (obs, *_) = paired_rollout()
    np.testing.assert_allclose(q[0, :3], [2.0, 2.0, 1.4])  # humanoid_maze.py reset: qpos[:2] = start, noise 0
    assert tuple(obs[0, STATE_DIM:STATE_DIM + 2].tolist()) in {tuple(g) for g in env().maze.goals.tolist()}


def test_physics_follows_brax_humanoid_until_the_wall_holds_it():
    (q, q_oracle, qd, qd_oracle), (*_, wall_dist) = paired_rollout()
    assert np.isfinite(q).all()
    contact = int(np.argmax(wall_dist < 0.0))
    assert 50 < contact < STEPS, "the humanoid should stand a while, then fall against a wall"
    q_atol, qd_atol = PHYSICS_ATOL
    np.testing.assert_allclose(q[:contact], q_oracle[:contact], atol=q_atol, err_msg="qpos before the wall")
    np.testing.assert_allclose(qd[:contact], qd_oracle[:contact], atol=qd_atol, err_msg="qvel before the wall")
    assert np.abs(q[contact:] - q_oracle[contact:]).max() > WALL_DIVERGENCE, "the wall should stop the fall"
    assert q_oracle[:, 0].max() > WALL_FACE_X > q[:, 0].max(), "only the open-floor torso passes the wall's face"
    assert wall_dist.min() > -MAX_PENETRATION


def test_observation_is_jaxgcrl_layout():
    _, (obs, reference, target, _) = paired_rollout()
    assert obs.shape == (STEPS + 1, OBS_SIZE) and reference.shape == (STEPS + 1, STATE_DIM)
    np.testing.assert_allclose(obs[:, :STATE_DIM], reference, atol=OBS_ATOL, rtol=1e-6)
    np.testing.assert_allclose(obs[:, STATE_DIM:-1], target[:, :2], atol=1e-5)  # the target link's xy
    np.testing.assert_array_equal(obs[:, -1], 1.25)  # JaxGCRL's TARGET_Z_COORD
