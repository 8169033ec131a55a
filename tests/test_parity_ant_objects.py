"""crlx's ant_ball, ant_push and ant_ball_maze (crlx.envs.ant_ball, crlx.envs.ant_push) are JaxGCRL's
tasks (jaxgcrl 0.2.8 jaxgcrl/envs/ant_ball.py, ant_push.py, ant_ball_maze.py).

Sizes and scenes: state_dim, goal slice, observation size and JaxGCRL's scene changes
(jaxgcrl/envs/assets/ant_ball.xml, ant_push.xml against brax's ant.xml) written below as
literals (no physics runs).

Physics: from the same initial state under the same STEPS random actions, the ant's part of
crlx's state follows brax's own `ant` env on JaxGCRL's default backend, its System given
JaxGCRL's changes to the ant itself:
  ant_ball ('spring'): conaffinity 1 on the torso and feet. The ball is placed 4 m away so the
      ant never touches it; it must stay where it is, at rest. A second start, the ball against
      the torso, must see the ball pushed.
  ant_push ('mjx', Newton 4 / 8 iterations): the ant's body masses and inertias x 8 (density
      40 for brax's 5), solimp (0.995, 0.995, 0.01) on every geom, contype 1 on the torso,
      written into brax's MjModel field by field (mj_setConst then updates the derived
      constants), independent of crlx's MjSpec edits. The walls are 4 m or more from the start:
      the block must fall the 0.2 m to the floor and stay there. The ant is compared over the
      first 10 steps only (see PUSH_ATOL).
What remains is the extra bodies (their dofs and contacts enter brax's solver) and float32 round-off.

Observation: obs = ant qpos ++ ant qvel ++ object xy ++ target xy, computed here from brax's
link positions by name. Sampling: goal and start ranges from RESETS (ant_push: PUSH_RESETS)
resets in the same jitted function, the first of them the rollout's start. ant_ball_maze runs
no physics: its walls and cells are literals, its draws are compared to JaxGCRL's draw (one key
for the goal cell and the ball cell) computed here.
"""

from __future__ import annotations

import functools
import warnings

import brax.envs
import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest
from brax.io import mjcf

from crlx.envs.ant_ball import AntBall, AntBallMaze
from crlx.envs.ant_push import AntPush
from crlx.envs.brax_scene import brax_asset
from tests.conftest import assert_walls_fill_cells

pytestmark = pytest.mark.filterwarnings("ignore:Accessing .* directly from .Data. is deprecated:DeprecationWarning")

STEPS = 100
RESETS = 512
JAXGCRL_SIZES = {
    # env: (state_dim, goal_indices, obs size = state_dim + target xy)
    "ant_ball": (31, (29, 30), 33),  # jaxgcrl/envs/ant_ball.py: state_dim 31, goal_indices [29, 30]
    "ant_push": (31, (0, 1), 33),  # jaxgcrl/envs/ant_push.py: state_dim 31, goal_indices [0, 1]
    # jaxgcrl/envs/ant_ball_maze.py: state_dim 31; its goal_indices [28, 29] are off by one against its
    # own success test (ball xy = obs[-4:-2], i.e. 29, 30); crlx's deliberate difference
    "ant_ball_maze": (31, (29, 30), 33),
}
BALL_ATOL = {50: (1e-4, 1e-3), STEPS: (2e-2, 0.5)}
"""ant_ball's ant against brax's, {steps: (atol on qpos, atol on qvel) over the first `steps` steps};
measured (CPU, float32, PRNGKey(0)) 6.4e-6, 7.5e-5 over 50 steps; 5.3e-5, 1.2e-3 over 100"""
PUSH_ATOL = {10: (1e-4, 1e-3)}
"""ant_push's ant against brax's, as BALL_ATOL; measured 2.8e-6, 4.9e-5 over 10 steps (the ant lands on its
feet by step 5). Later the float32 round-off (first difference 1.5e-8 at step 1) grows about tenfold every
5 steps through the heavy ant's stiff contacts until the two part (step 15 to 35 by the key); a converged
solver (30 / 30 iterations in both) shows the same growth, so it is round-off, not a scene difference."""
PUSH_RESETS = 64
"""ant_push's sampled resets (each runs MJX's forward pass with the box collisions)"""
ANT_GEOMS = ("torso_geom", "aux_1_geom", "left_leg_geom", "left_ankle_geom", "left_foot_geom", "aux_2_geom",
             "right_leg_geom", "right_ankle_geom", "right_foot_geom", "aux_3_geom", "back_leg_geom",
             "third_ankle_geom", "third_foot_geom", "aux_4_geom", "rightback_leg_geom", "fourth_ankle_geom",
             "fourth_foot_geom")
"""brax ant.xml's geoms in file order (indices 1..17; 0 is the floor)"""
BALL_TOUCHING = ("torso_geom", "left_foot_geom", "right_foot_geom", "third_foot_geom", "fourth_foot_geom")
"""the geoms jaxgcrl/envs/assets/ant_ball.xml gives conaffinity="1" """
BRAX_INIT_QPOS = [0.0, 0.0, 0.55, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0, -1.0, 0.0, 1.0]
"""brax ant.xml's init_qpos"""


@functools.cache
def env(name: str):
    return {"ant_ball": AntBall, "ant_push": AntPush, "ant_ball_maze": AntBallMaze}[name]()


def brax_ant_model() -> mujoco.MjModel:
    """brax's ant.xml as brax.io.mjcf.load compiles it."""
    return mujoco.MjModel.from_xml_string(mjcf.fuse_bodies(brax_asset("ant.xml").read_text()))


def oracle_env(backend: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brax.envs.get_environment("ant", backend=backend)


@pytest.mark.parametrize("name", sorted(JAXGCRL_SIZES))
def test_sizes_and_goal_slice_match_jaxgcrl(name):
    state_dim, goal_indices, obs_size = JAXGCRL_SIZES[name]
    task = env(name)
    assert task.state_dim == state_dim
    assert tuple(task.goal_indices) == goal_indices
    assert task.observation_size == obs_size
    assert task.goal_dim == 2 and task.action_size == 8
    assert task.dt == pytest.approx(0.05)  # spring 0.005 x 10 (ant_ball, ant_ball_maze); mjx 0.01 x 5 (ant_push)
    assert task.spec.episode_length == 1001 and task.spec.success_threshold == 0.5


def test_ant_ball_scene_has_jaxgcrl_changes():
    """jaxgcrl/envs/assets/ant_ball.xml against brax's ant.xml."""
    model = env("ant_ball").mj_model
    for geom in ANT_GEOMS:
        assert model.geom(geom).conaffinity[0] == (1 if geom in BALL_TOUCHING else 0), geom
    np.testing.assert_allclose(model.geom("floor").size, [150.0, 150.0, 40.0])
    assert (model.nq, model.nv) == (19, 18)  # ant 15 / 14, ball x y, target x y
    np.testing.assert_allclose(model.body("object").pos, [0.0, 0.0, 0.5])
    np.testing.assert_allclose(model.body("object").mass, 4 / 3 * np.pi * 0.5 ** 3 * (1.0 + 0.1), rtol=1e-6)
    ball_geoms = np.flatnonzero(model.geom_bodyid == model.body("object").id)
    np.testing.assert_allclose(model.geom_size[ball_geoms, 0], [0.5, 0.5])
    np.testing.assert_array_equal(model.geom_contype[ball_geoms], [0, 1])  # the density-1 sphere, object_geom
    np.testing.assert_array_equal(model.geom_conaffinity[ball_geoms], [0, 0])
    for joint, axis in (("obj_slidex", [1, 0, 0]), ("obj_slidey", [0, 1, 0])):
        j = model.joint(joint)
        assert j.type[0] == mujoco.mjtJoint.mjJNT_SLIDE and j.armature[0] == 1.0 and j.damping[0] == 0.0
        np.testing.assert_allclose(j.axis, axis)
        np.testing.assert_allclose(j.range, [-100.0, 100.0])
    np.testing.assert_allclose(model.body("target").pos, [0.0, 0.0, 0.01])
    np.testing.assert_allclose(model.geom("target").size[0], 0.9)
    np.testing.assert_allclose(model.jnt_range[-2:], [[-100.0, 100.0], [-100.0, 100.0]])
    np.testing.assert_allclose(env("ant_ball").sys.init_q, BRAX_INIT_QPOS + [0.0] * 4)


JAXGCRL_PUSH_WALLS = {
    # jaxgcrl/envs/assets/ant_push.xml: name: (pos, size), contype 0, conaffinity 1
    "block_A": ([-4.0, 20.0, 2.0], [8.0, 8.0, 2.0]),
    "block_B": ([8.0, 24.0, 2.0], [4.0, 4.0, 2.0]),
    "block_C": ([20.0, 20.0, 2.0], [8.0, 8.0, 2.0]),
    "block_D": ([-8.0, 4.0, 2.0], [4.0, 8.0, 2.0]),
    "block_E": ([24.0, 8.0, 2.0], [4.0, 4.0, 2.0]),
    "block_F": ([20.0, -4.0, 2.0], [8.0, 8.0, 2.0]),
    "block_G": ([0.0, -8.0, 2.0], [12.0, 4.0, 2.0]),
}


def test_ant_push_scene_has_jaxgcrl_changes():
    """jaxgcrl/envs/assets/ant_push.xml against brax's ant.xml, and its mjx options (jaxgcrl/envs/ant_push.py)."""
    push = env("ant_push")
    model = push.mj_model
    brax_model = brax_ant_model()
    ant_bodies = slice(1, brax_model.nbody)
    np.testing.assert_allclose(model.body_mass[ant_bodies], 8.0 * brax_model.body_mass[ant_bodies], rtol=1e-6)
    np.testing.assert_allclose(model.body_inertia[ant_bodies], 8.0 * brax_model.body_inertia[ant_bodies], rtol=1e-6)
    np.testing.assert_allclose(model.geom_solimp[:, :3], np.tile([0.995, 0.995, 0.01], (model.ngeom, 1)))
    assert model.geom("torso_geom").contype[0] == 1
    np.testing.assert_allclose(model.geom("floor").size, [150.0, 150.0, 40.0])
    for name, (pos, size) in JAXGCRL_PUSH_WALLS.items():
        wall = model.geom(name)
        np.testing.assert_allclose(wall.pos, pos)
        np.testing.assert_allclose(wall.size, size)
        assert (wall.contype[0], wall.conaffinity[0], wall.bodyid[0]) == (0, 1, 0)
    block = model.geom("block_M")
    np.testing.assert_allclose(model.body("movable").pos, [8.0, 8.0, 2.0])
    np.testing.assert_allclose(block.size, [3.6, 3.6, 1.8])
    np.testing.assert_allclose(model.body("movable").mass, 0.0002)
    assert (block.contype[0], block.conaffinity[0]) == (1, 1)
    for axis, name in enumerate(("movable_x_2_2", "movable_y_2_2", "movable_z_2_2")):
        j = model.joint(name)
        assert j.type[0] == mujoco.mjtJoint.mjJNT_SLIDE and j.limited[0] == 0 and j.armature[0] == 0.0
        assert j.margin[0] == pytest.approx(0.01) and j.axis[axis] == 1.0
    np.testing.assert_allclose(model.jnt_range[-2:], [[-20.0, 20.0], [-20.0, 20.0]])
    assert (model.nq, model.nv) == (20, 19)  # ant 15 / 14, block x y z, target x y
    np.testing.assert_allclose(push.sys.init_q, [0.0, 0.0, 0.75] + BRAX_INIT_QPOS[3:] + [0.0] * 5)
    assert push.sys.opt.solver == mujoco.mjtSolver.mjSOL_NEWTON
    assert (int(push.sys.opt.iterations), int(push.sys.opt.ls_iterations)) == (4, 8)
    np.testing.assert_allclose(push.sys.opt.timestep, 0.01)


BIG_BALL_MAZE = [  # jaxgcrl/envs/ant_ball_maze.py BIG_MAZE (r = start, g = goal, b = ball)
    "11111111",
    "1r011gg1",
    "1001ggg1",
    "11bgb111",
    "1gg1ggg1",
    "1g1gg1g1",
    "1ggg1gg1",
    "11111111",
]


def cells(layout: list[str], char: str) -> np.ndarray:
    """JaxGCRL's find(): (i * 4, j * 4) of every cell `char`, row by row."""
    return np.array([(4.0 * i, 4.0 * j) for i, row in enumerate(layout) for j, c in enumerate(row) if c == char])


def test_ant_ball_maze_scene_and_cells_match_jaxgcrl():
    maze_env = env("ant_ball_maze")
    model = maze_env.mj_model
    walls = cells(BIG_BALL_MAZE, "1")
    assert len(walls) == 38
    np.testing.assert_array_equal(maze_env.maze.cells("#"), walls)
    assert_walls_fill_cells(model, maze_env.maze.rows, 4.0)
    assert (model.nq, model.nv) == (19, 18)  # ant_ball.xml's bodies
    np.testing.assert_array_equal(maze_env.maze.starts, cells(BIG_BALL_MAZE, "r"))
    np.testing.assert_array_equal(maze_env.maze.goals, cells(BIG_BALL_MAZE, "g"))
    np.testing.assert_array_equal(maze_env.maze.balls, [[12.0, 8.0], [12.0, 16.0]])
    assert len(maze_env.maze.goals) == 20
    u = AntBallMaze(layout="u").maze  # U_MAZE: r g b / . . g / g g g
    np.testing.assert_array_equal(u.balls, [[4.0, 12.0]])
    assert len(u.goals) == 5


def test_ant_ball_maze_draws_are_jaxgcrl_draws():
    """JaxGCRL's reset: goal cell and ball cell from the same key (_random_target, _random_ball), torso at 'r'."""
    maze_env = env("ant_ball_maze")
    keys = jax.random.split(jax.random.PRNGKey(3), RESETS)

    def draw(key):
        goal, ball = maze_env.sample_goal_and_ball(key)
        q = maze_env.place(key, jnp.zeros(19), goal)
        goals, balls = jnp.asarray(maze_env.maze.goals), jnp.asarray(maze_env.maze.balls)
        jaxgcrl = (goals[jax.random.randint(key, (1,), 0, len(goals))][0],
                   balls[jax.random.randint(key, (1,), 0, len(balls))][0])
        return goal, ball, q[:2], jaxgcrl

    goal, ball, torso, (jaxgcrl_goal, jaxgcrl_ball) = jax.jit(jax.vmap(draw))(keys)
    np.testing.assert_array_equal(goal, jaxgcrl_goal)
    np.testing.assert_array_equal(ball, jaxgcrl_ball)
    np.testing.assert_array_equal(torso, np.full((RESETS, 2), 4.0))
    assert len(np.unique(goal, axis=0)) == 20  # every goal cell is drawn


@pytest.mark.parametrize("cls, options, field", [
    (AntBall, {"goal_distance": 0.0}, "goal_distance"),
    (AntBall, {"reset_noise_scale": -0.1}, "reset_noise_scale"),
    (AntBall, {"success_threshold": 0.0}, "success_threshold"),
    (AntBall, {"healthy_z_range": (1.0, 0.2)}, "healthy_z_range"),
    (AntBall, {"backend": "physx"}, "backend"),
    (AntPush, {"backend": "spring"}, "backend"),
    (AntPush, {"reset_noise_scale": -1.0}, "reset_noise_scale"),
    (AntPush, {"episode_length": 0}, "episode_length"),
    (AntBallMaze, {"layout": "hardest"}, "layout"),
    (AntBallMaze, {"maze_size_scaling": 0.0}, "maze_size_scaling"),
])
def test_bad_options_name_the_field(cls, options, field):
    with pytest.raises(ValueError, match=field):
        cls(**options)


def observed(task, pipeline_state) -> jax.Array:
    """JaxGCRL's _get_obs: ant qpos, ant qvel, the object's and the target's world xy, by link name."""
    names = task.sys.link_names
    obj = names.index("object" if "object" in names else "movable")
    return jnp.concatenate([pipeline_state.q[:15], pipeline_state.qd[:14], pipeline_state.x.pos[obj, :2],
                            pipeline_state.x.pos[names.index("target"), :2]])


def paired_rollout(task, oracle, starts, key):
    """One scan of crlx's env over the starts (batched) and brax's env on the first start.

    Returns (q, qd, obs, reference obs) of crlx, each (STEPS + 1, starts, n), and brax's (q, qd),
    each (STEPS + 1, n)."""
    actions = jax.random.uniform(key, (STEPS, task.action_size), minval=-1.0, maxval=1.0)
    theirs = oracle.pipeline_init(starts.pipeline_state.q[0, :15], starts.pipeline_state.qd[0, :14])
    step = jax.vmap(task.step, in_axes=(0, None))
    ref = jax.vmap(lambda ps: observed(task, ps))

    def record(state, theirs):
        ps = state.pipeline_state
        return (ps.q, ps.qd, state.obs, ref(ps)), (theirs.q, theirs.qd)

    def body(carry, action):
        state, theirs = carry
        state, theirs = step(state, action), oracle.pipeline_step(theirs, action)
        return (state, theirs), record(state, theirs)

    _, rest = jax.lax.scan(body, (starts, theirs), actions)
    return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), record(starts, theirs), rest)


def assert_ant_follows(ours, theirs, atol):
    q, qd = ours
    q_oracle, qd_oracle = theirs
    assert np.isfinite(q).all()
    assert np.ptp(q_oracle[:, :2], axis=0).max() > 1e-2, "the actions should move the torso"
    for steps, (q_atol, qd_atol) in atol.items():
        np.testing.assert_allclose(q[: steps + 1, :15], q_oracle[: steps + 1], atol=q_atol, err_msg=f"qpos, {steps}")
        np.testing.assert_allclose(qd[: steps + 1, :14], qd_oracle[: steps + 1], atol=qd_atol, err_msg=f"qvel, {steps}")


@functools.cache
def ball_run():
    task = env("ant_ball")
    oracle = oracle_env("spring")  # jaxgcrl/utils/env.py: AntBall(backend=backend or "spring")
    conaffinity = np.array(oracle.sys.geom_conaffinity)
    conaffinity[[brax_ant_model().geom(name).id for name in BALL_TOUCHING]] = 1
    oracle.sys = oracle.sys.replace(geom_conaffinity=conaffinity)

    @jax.jit
    def run(key):
        reset_key, action_key = jax.random.split(key)
        samples = jax.vmap(task.reset)(jax.random.split(reset_key, RESETS))
        q, qd, goal = samples.pipeline_state.q[0], samples.pipeline_state.qd[0], samples.info["goal"][0]

        def with_ball(offset):  # the ball at the torso xy + offset
            ps = task.pipeline_init(q.at[15:17].set(q[:2] + offset), qd)
            return task.first_state(ps, task._state_vec(ps), goal)

        starts = jax.vmap(with_ball)(jnp.array([[4.0, 0.0], [0.6, 0.0]]))  # out of the ant's reach; at the torso
        return paired_rollout(task, oracle, starts, action_key), samples

    return jax.device_get(run(jax.random.PRNGKey(0)))


def test_ant_ball_physics_follows_brax_ant():
    ((q, qd, _, _), theirs), _ = ball_run()
    assert_ant_follows((q[:, 0], qd[:, 0]), theirs, BALL_ATOL)
    np.testing.assert_allclose(q[:, 0, 15:], q[:1, 0, 15:].repeat(STEPS + 1, 0), atol=1e-6)  # ball, target still
    np.testing.assert_allclose(qd[:, 0, 14:], 0.0, atol=1e-6)
    assert np.linalg.norm(q[-1, 1, 15:17] - q[0, 1, 15:17]) > 0.1, "the torso should push the ball"
    np.testing.assert_allclose(q[:, 1, 17:], q[:1, 1, 17:].repeat(STEPS + 1, 0))  # the target stays


def test_ant_ball_observation_and_sampling():
    ((_, _, obs, reference), _), samples = ball_run()
    np.testing.assert_allclose(obs, reference, atol=1e-6)
    q, qd = samples.pipeline_state.q, samples.pipeline_state.qd
    goal, ball = q[:, 17:], q[:, 15:17]
    np.testing.assert_allclose(samples.obs[:, 31:], goal)
    np.testing.assert_allclose(np.linalg.norm(goal, axis=-1), 5.0, rtol=1e-5)  # jaxgcrl: dist = 5
    np.testing.assert_allclose(ball[:, 1], 2.0 * goal[:, 1] / 5.0, atol=1e-5)  # 0.2 * target_y + sin(ang)
    offset_x = ball[:, 0] - 0.2 * goal[:, 0]  # cos(ang_obj), ang_obj ~ U(0, 2 pi)
    assert np.abs(offset_x).max() <= 1.0 + 1e-6 and offset_x.min() < -0.9 and offset_x.max() > 0.9
    noise = q[:, :15] - np.asarray(BRAX_INIT_QPOS)
    assert np.abs(noise).max() <= 0.1 + 1e-6 and np.abs(noise).max() > 0.09  # U(-0.1, 0.1)
    np.testing.assert_array_equal(qd[:, 14:], 0.0)
    assert 0.08 < qd[:, :14].std() < 0.12  # 0.1 * N(0, 1)
    success = (np.linalg.norm(samples.obs[:, 29:31] - samples.obs[:, 31:], axis=-1) < 0.5).astype(np.float32)
    np.testing.assert_array_equal(samples.metrics["success"], success)


def push_oracle():
    """brax's ant (mjx) on brax's ant.xml with JaxGCRL's ant_push changes to the ant as MjModel fields."""
    model = brax_ant_model()
    model.body_mass[:] *= 8.0  # density 40 for 5
    model.body_inertia[:] *= 8.0
    model.geom_solimp[:, :3] = [0.995, 0.995, 0.01]
    model.geom_contype[model.geom("torso_geom").id] = 1
    mujoco.mj_setConst(model, mujoco.MjData(model))
    oracle = oracle_env("mjx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys = mjcf.load_model(model)
    oracle.sys = sys.tree_replace({"opt.solver": mujoco.mjtSolver.mjSOL_NEWTON,
                                   "opt.disableflags": mujoco.mjtDisableBit.mjDSBL_EULERDAMP,
                                   "opt.iterations": 4, "opt.ls_iterations": 8})  # jaxgcrl/envs/ant_push.py
    return oracle


@functools.cache
def push_run():
    task, oracle = env("ant_push"), push_oracle()

    @jax.jit
    def run(key):
        reset_key, action_key = jax.random.split(key)
        samples = jax.vmap(task.reset)(jax.random.split(reset_key, PUSH_RESETS))
        start = jax.tree.map(lambda a: a[:1], samples)  # the first reset, batch of 1
        return paired_rollout(task, oracle, start, action_key), samples

    return jax.device_get(run(jax.random.PRNGKey(0)))


def test_ant_push_physics_follows_brax_ant():
    ((q, qd, _, _), theirs), _ = push_run()
    assert_ant_follows((q[:, 0], qd[:, 0]), theirs, PUSH_ATOL)
    block = q[:, 0, 15:18]  # offsets from (8, 8, 2)
    assert np.abs(block[0]).max() <= 0.1 + 1e-6
    np.testing.assert_allclose(block[20:, 2], -0.2, atol=2e-2)  # landed: bottom 0.2 m lower, on the floor
    np.testing.assert_allclose(block[20:, :2], block[20:21, :2].repeat(STEPS - 19, 0), atol=1e-4)  # then at rest
    np.testing.assert_allclose(q[:, 0, 18:], q[:1, 0, 18:].repeat(STEPS + 1, 0))  # the target stays


def test_ant_push_observation_and_sampling():
    ((_, _, obs, reference), _), samples = push_run()
    np.testing.assert_allclose(obs, reference, atol=1e-6)
    q, qd = samples.pipeline_state.q, samples.pipeline_state.qd
    goal = q[:, 18:]
    np.testing.assert_allclose(samples.obs[:, 31:], goal)
    right = goal[:, 0] >= 16.0  # permutation of (16, 8) + 2 * U(0, 1)^2
    for part, corner in ((goal[right], [16.0, 8.0]), (goal[~right], [8.0, 16.0])):
        assert (part >= corner).all() and (part <= np.add(corner, 2.0)).all()
    assert 0.3 < right.mean() < 0.7
    init = [0.0, 0.0, 0.75] + BRAX_INIT_QPOS[3:] + [0.0] * 3
    noise = np.delete(q[:, :18] - np.asarray(init), np.s_[3:7], axis=1)  # the ant and the block's offsets
    assert np.abs(noise).max() <= 0.1 + 1e-6 and np.abs(noise).max() > 0.09
    np.testing.assert_allclose(np.linalg.norm(q[:, 3:7], axis=-1), 1.0, rtol=1e-6)  # MJX's forward normalizes it
    np.testing.assert_array_equal(qd[:, 15:], 0.0)  # JaxGCRL's qd[-4:] = 0
    assert qd[:, 14].std() > 0.05  # the block's x velocity keeps its 0.1 * N(0, 1), as JaxGCRL
    np.testing.assert_allclose(samples.obs[:, 29:31], 8.0 + q[:, 15:17], atol=1e-5)
