"""Every registered env trains end to end; maze layouts, walls and a scripted maze controller."""

from __future__ import annotations

import collections

import jax
import numpy as np
import pytest

import crlx
from crlx.envs import ENVS, LAYOUTS, make_env
from crlx.envs.maze import Maze
from tests.conftest import tiny_config

PURE_JAX = {name for name in ENVS if make_env(name).backend == "jax"}
EVAL_KEYS = {"eval/success", "eval/time_near_goal", "eval/final_dist", "eval/min_dist"}

pytestmark = pytest.mark.filterwarnings("ignore:Accessing .* directly from .Data. is deprecated:DeprecationWarning")


@pytest.mark.parametrize(
    "name", [n if n in PURE_JAX else pytest.param(n, marks=pytest.mark.slow) for n in sorted(ENVS)]
)
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


def test_ant_ball_goal_spaces(tmp_path):
    env = make_env("ant_ball", goal_space="ball_and_torso")
    assert env.goal_dim == 4
    state = jax.jit(env.reset)(jax.random.PRNGKey(0))
    goal = np.asarray(state.info["goal"])
    ball_goal, torso_goal = goal[:2], goal[2:]
    np.testing.assert_allclose(np.linalg.norm(ball_goal - torso_goal), env.TORSO_OFFSET, rtol=1e-5)
    s = np.asarray(state.obs[: env.state_dim])
    np.testing.assert_allclose(np.asarray(env.achieved_goal(s)), np.concatenate([s[env.ball_q : env.ball_q + 2], s[:2]]))
    with pytest.raises(ValueError, match=r"goal_space must be one of \['ball', 'ball_and_torso'\]"):
        make_env("ant_ball", goal_space="torso")
    with pytest.raises(crlx.ConfigError, match="goal_space"):
        crlx.Config(env="reacher", goal_space="nope").validate()
