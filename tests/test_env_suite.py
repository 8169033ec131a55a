"""Every registered env trains end to end; maze layouts, walls and a scripted maze controller."""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

import crlx
from crlx.envs import ENVS, LAYOUTS, make_env, wrap_for_eval
from crlx.envs.ant_light import add_free_body
from crlx.envs.humanoid_light import STAND_HEIGHT
from crlx.envs.maze import Maze
from crlx.envs.planar_pusher import BLOCK, TIP
from crlx.preflight import prepare
from tests.conftest import ROOT, ci_subset, env_option_default, tiny_config

PURE_JAX = {name for name in ENVS if env_option_default(name, "backend") == "jax"}
"""envs simulated in plain JAX by default (read from the factory, so collecting builds no env)"""
CI_TRAINING = PURE_JAX | {"ant", "mw_push_back"}
"""envs whose tiny training run CI runs: the pure-JAX ones (under a minute), one MJX walker on a
brax scene and one Meta-World task, so the Meta-World CI run (`-m "metaworld and not slow"`) trains
one port end to end; the other envs' runs (2-5 CPU minutes each) run with `--exhaustive`"""
EVAL_KEYS = {"eval/success", "eval/time_near_goal", "eval/final_dist", "eval/min_dist"}

pytestmark = pytest.mark.filterwarnings("ignore:Accessing .* directly from .Data. is deprecated:DeprecationWarning")


@pytest.mark.parametrize("name", ci_subset(sorted(ENVS), CI_TRAINING))
def test_tiny_crl_run_completes_with_eval_metrics(name, tmp_path):
    """Default env settings (only the episode is shortened to keep the CPU test small)."""
    result = crlx.train(tiny_config(tmp_path, env=name, episode_length=10))
    assert len(result.history) == 3
    for row in result.history:
        assert EVAL_KEYS <= row.keys()
        assert all(np.isfinite(row[k]) for k in EVAL_KEYS)
    assert np.isfinite(result.history[-1]["critic/loss"])


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layouts_connect_every_goal_to_the_start(layout):
    maze = Maze(LAYOUTS[layout], 1.0)
    reachable = maze.reachable()
    cells = [(r, c) for r, row in enumerate(maze.rows) for c, ch in enumerate(row) if ch in "SG"]
    assert cells and all(cell in reachable for cell in cells)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_wall_boxes_cover_exactly_the_wall_cells(layout):
    maze = Maze(LAYOUTS[layout], 4.0)
    boxes = maze.wall_boxes()
    assert len(boxes) < maze.walls.sum()  # runs are merged
    for r in range(maze.height):
        for c in range(maze.width):
            x, y = maze.center(r, c)
            inside = any(abs(x - bx) < hx and abs(y - by) < hy for (bx, by), (hx, hy) in boxes)
            assert inside == maze.walls[r, c], (r, c)
            assert tuple(np.asarray(maze.cell_of(np.array([x, y])))) == (r, c)


def bfs_path(maze: Maze, start: tuple[int, int], goal: tuple[int, int]) -> list[tuple[int, int]]:
    parent, todo = {start: None}, collections.deque([start])
    while todo:
        cell = todo.popleft()
        r, c = cell
        for nxt in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if not maze.walls[nxt] and nxt not in parent:
                parent[nxt] = cell
                todo.append(nxt)
    path, cell = [], goal
    while cell is not None:
        path.append(cell)
        cell = parent[cell]
    return path[::-1]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_waypoint_controller_solves_point_maze_and_walls_block(layout):
    """Following the BFS cell path reaches every sampled goal; heading straight into the first
    wall instead never passes it."""
    env = make_env(f"point_{layout}_maze")
    maze = env.maze
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    successes = 0
    for seed in range(5):
        state = reset(jax.random.PRNGKey(seed))
        pos, goal = np.asarray(state.obs[:2]), np.asarray(state.info["goal"])
        cells = bfs_path(maze, tuple(int(i) for i in maze.cell_of(pos)), tuple(int(i) for i in maze.cell_of(goal)))
        waypoints = [np.array(maze.center(*cell)) for cell in cells[1:]] + [goal]
        reached = False
        for _ in range(env.spec.episode_length):
            pos = np.asarray(state.obs[:2])
            while len(waypoints) > 1 and np.abs(waypoints[0] - pos).max() < 0.05:
                waypoints.pop(0)
            state = step(state, np.clip((waypoints[0] - pos) / env.max_step, -1, 1))
            reached |= bool(state.metrics["success"])
        successes += reached
    assert successes == 5
    # pushing into the wall left of the start cell: the point stops at the wall face
    state = reset(jax.random.PRNGKey(0))
    for _ in range(20):
        state = step(state, np.array([-1.0, 0.0]))
    (x, _), (r, c) = np.asarray(state.obs[:2]), maze.cell_of(state.obs[:2])
    assert maze.rows[int(r)][int(c)] != "#"
    wall_face = maze.center(int(r), int(c))[0] - maze.cell_size / 2
    assert wall_face + env.radius - 1e-5 <= x <= wall_face + env.radius + env.max_step


def test_free_body_extends_the_home_keyframe_with_its_own_pose():
    """Added free bodies append (pos, 1 0 0 0) to keyframe qpos before compile (MuJoCo 3.3 does not pad)."""
    spec = mujoco.MjSpec.from_file(str(ROOT / "envs" / "ant.xml"))
    home = np.array(spec.keys[0].qpos)
    add_free_body(spec, "box", mujoco.mjtGeom.mjGEOM_BOX, (0.1, 0.1, 0.1), 1.0, (1, 1, 1, 1), pos=(2.0, -1.0, 0.1))
    np.testing.assert_array_equal(spec.keys[0].qpos, np.concatenate([home, [2.0, -1.0, 0.1, 1, 0, 0, 0]]))
    model = spec.compile()
    np.testing.assert_array_equal(model.key_qpos[0], spec.keys[0].qpos)


def test_ant_light_ball_goal_spaces(tmp_path):
    env = make_env("ant_light_ball", goal_space="ball_and_torso")
    assert env.goal_dim == 4
    state = jax.jit(env.reset)(jax.random.PRNGKey(0))
    goal = np.asarray(state.info["goal"])
    ball_goal, torso_goal = goal[:2], goal[2:]
    np.testing.assert_allclose(np.linalg.norm(ball_goal - torso_goal), env.TORSO_OFFSET, rtol=1e-5)
    s = np.asarray(state.obs[: env.state_dim])
    np.testing.assert_allclose(np.asarray(env.achieved_goal(s)), np.concatenate([s[env.ball_q : env.ball_q + 2], s[:2]]))
    with pytest.raises(ValueError, match=r"goal_space must be one of \['ball', 'ball_and_torso'\]"):
        make_env("ant_light_ball", goal_space="torso")
    with pytest.raises(crlx.ConfigError, match="goal_space"):
        prepare(crlx.Config(env="reacher", goal_space="nope"))


PUSHER_LINKS = (0.25, 0.30)
"""pusher arm: upper arm, then forearm + hand to the fingertip (m), with the wrist held at 0"""


def pusher_ik(target: jax.Array) -> jax.Array:
    """Joint angles (shoulder, elbow, wrist = 0) that put the pusher's fingertip at `target` (2,)."""
    l1, l2 = PUSHER_LINKS
    cos_elbow = jnp.clip((jnp.sum(target**2) - l1**2 - l2**2) / (2 * l1 * l2), -1.0, 1.0)
    elbow = jnp.arccos(cos_elbow)
    shoulder = jnp.arctan2(target[1], target[0]) - jnp.arctan2(l2 * jnp.sin(elbow), l1 + l2 * jnp.cos(elbow))
    return jnp.stack([shoulder, elbow, 0.0])


def pusher_toward(obs: jax.Array, target: jax.Array) -> jax.Array:
    """Joint-space PD toward the IK solution for fingertip `target`."""
    q, qd = jnp.arctan2(obs[3:6], obs[0:3]), obs[6:9]
    error = pusher_ik(target) - q
    error = jnp.arctan2(jnp.sin(error), jnp.cos(error))
    return jnp.clip(3.0 * error - 0.3 * qd, -1.0, 1.0)


def pusher_push(obs: jax.Array, goal: jax.Array) -> jax.Array:
    """Go around the block to the side opposite the goal, line up behind it, push it to the goal."""
    block, tip = obs[BLOCK : BLOCK + 2], obs[TIP : TIP + 2]
    u = (goal - block) / (jnp.linalg.norm(goal - block) + 1e-6)
    perp = jnp.array([-u[1], u[0]])
    along, lateral = (tip - block) @ u, (tip - block) @ perp
    behind = along < -0.045
    around = block - 0.12 * u + 0.1 * jnp.where(lateral >= 0, 1.0, -1.0) * perp
    target = jnp.where(behind & (jnp.abs(lateral) < 0.02), goal - 0.03 * u, jnp.where(behind, block - 0.08 * u, around))
    return pusher_toward(obs, target)


def final_success(name: str, policy, num_envs: int = 16) -> tuple[float, float]:
    """(final-step success rate of `policy(obs, goal)`, same for the zero action) over one episode."""
    env = make_env(name)
    wrapped = wrap_for_eval(env)

    def episode(keys, scripted):
        def body(state, _):
            goals = state.obs[:, env.state_dim :]
            actions = jax.vmap(policy)(state.obs, goals) if scripted else jnp.zeros((num_envs, env.action_size))
            return wrapped.step(state, actions), None

        state, _ = jax.lax.scan(body, wrapped.reset(keys), None, env.spec.episode_length)
        return state.metrics["success"].mean()

    run = jax.jit(episode, static_argnums=1)
    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
    return float(run(keys, True)), float(run(keys, False))


@pytest.mark.slow
def test_scripted_pusher_arm_reaches_and_pushes():
    """IK reaching solves pusher_reacher; a go-around-and-push script solves many pusher_easy
    episodes; standing still solves none."""
    reach, idle = final_success("planar_pusher_reacher", pusher_toward)
    assert reach >= 0.9 and idle == 0.0, (reach, idle)
    push, idle = final_success("planar_pusher_easy", pusher_push)
    assert push >= 0.3 and idle == 0.0, (push, idle)


@pytest.mark.slow
def test_humanoid_topples_sooner_under_random_torques():
    """With zero torques it settles at STAND_HEIGHT and stays up for 50+ steps (0.75 s) before
    the start noise tips it over; random torques topple it sooner. Every fall ends the episode
    (torso z below healthy_z_range) well before the 200-step limit."""
    env = make_env("humanoid_light", episode_length=200)
    wrapped = wrap_for_eval(env)
    num_envs = 8

    def first_fall(keys, scale):
        def body(state, key):
            actions = scale * jax.random.uniform(key, (num_envs, env.action_size), minval=-1.0, maxval=1.0)
            state = wrapped.step(state, actions)
            return state, (state.obs[:, 2], state.done)

        return jax.lax.scan(body, wrapped.reset(keys), jax.random.split(keys[0], 200))[1]

    run = jax.jit(first_fall)
    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
    falls = {}
    for scale in (0.0, 1.0):
        z, done = (np.asarray(x) for x in run(keys, scale))
        assert done.any(axis=0).all(), scale
        falls[scale] = done.argmax(axis=0)  # (num_envs,) step of the first termination
        assert (z[falls[scale], np.arange(num_envs)] < env.healthy_z_range[0]).all()
        if scale == 0.0:
            np.testing.assert_allclose(z[10], STAND_HEIGHT, atol=0.01)
    assert (falls[0.0] >= 50).all() and falls[1.0].mean() < falls[0.0].mean() - 15, falls
