"""crlx's mazes from layout strings, for a point mass (pure JAX), the light humanoid, and the light ant with a ball.

(JaxGCRL's ant and simple mazes, on its own layouts, are crlx.envs.ant_maze and crlx.envs.simple_maze.)

A layout is rows of characters: '#' wall, '.' free, 'S' start cell, 'G' goal cell (both free).
Cell (row r, column c) has its center at
    x = (c - (W - 1) / 2) * cell_size,   y = ((H - 1) / 2 - r) * cell_size
so the maze is centered on the origin. Each episode starts in a random start cell and draws its
goal from a random goal cell, both jittered by U(-jitter, jitter) * cell_size per axis.

point_<layout>_maze: state = position (x, y); action a in [-1, 1]^2 moves by max_step * a, one
    axis at a time, and a move whose square footprint (half-size `radius`) would enter a wall
    cell is dropped on that axis (walls are >= 1 cell thick and max_step < cell_size, so nothing
    tunnels). Cell size 1, threshold 0.25, 100 steps.
AntMaze: crlx's light ant (see crlx.envs.ant_light) among box walls 1 m high; cell size 4 m,
    threshold 0.5 m, 1000 steps; walls of a row are merged into one box per run of '#'. It is the
    base of ant_light_ball_maze and not registered itself.
humanoid_light_<layout>_maze: crlx's light humanoid (crlx.envs.humanoid_light) among the same walls; cell size
    2 m, threshold 0.5 m on the torso xy, 1000 steps.
ant_light_ball_maze: the U maze with a ball that starts 1 m ahead of the ant; the goal is the ball's xy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from brax.envs.base import State

from crlx.envs.ant_light import BALL_RADIUS, AntBase, add_ball, add_wall
from crlx.envs.base import EnvSpec, GoalEnv
from crlx.envs.grid_maze import wall_runs
from crlx.envs.humanoid_light import HumanoidBase
from crlx.envs.physics import check_positive

LAYOUTS = {
    "u": """
#####
#S..#
###.#
#G..#
#####
""",
    "big": """
########
#S.#...#
#..#.#.#
#.##.#G#
#....#.#
#.####.#
#G....G#
########
""",
    "hardest": """
############
#S...#.....#
#.##.#.###.#
#.#..#...#.#
#.#.####.#.#
#...#..#.#G#
###.#.##.#.#
#........#.#
#.#####.##.#
#G....#....#
############
""",
}
"""crlx's maze layouts, smallest to largest; every goal cell is reachable from every start cell."""


class Maze:
    """A parsed layout: wall grid and the start / goal cell centers at a given cell size."""

    def __init__(self, layout: str, cell_size: float):
        rows = [row for row in layout.strip("\n").splitlines()]
        if len({len(row) for row in rows}) != 1:
            raise ValueError("maze layout: every row must have the same length")
        bad = set("".join(rows)) - set("#.SG")
        if bad:
            raise ValueError(f"maze layout: unknown characters {sorted(bad)}; use '#', '.', 'S', 'G'")
        self.rows = rows
        self.height, self.width = len(rows), len(rows[0])
        self.cell_size = float(cell_size)
        self.walls = np.array([[ch == "#" for ch in row] for row in rows])
        if not (self.walls[0].all() and self.walls[-1].all() and self.walls[:, 0].all() and self.walls[:, -1].all()):
            raise ValueError("maze layout: the border must be walls ('#')")
        self.starts = self._centers("S")
        self.goals = self._centers("G")
        if len(self.starts) == 0 or len(self.goals) == 0:
            raise ValueError("maze layout: needs at least one 'S' and one 'G' cell")

    def center(self, r: int, c: int) -> tuple[float, float]:
        return ((c - (self.width - 1) / 2) * self.cell_size, ((self.height - 1) / 2 - r) * self.cell_size)

    def _centers(self, char: str) -> np.ndarray:
        cells = [(r, c) for r, row in enumerate(self.rows) for c, ch in enumerate(row) if ch == char]
        return np.array([self.center(r, c) for r, c in cells], np.float32).reshape(-1, 2)

    def cell_of(self, xy: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(row, column) of points xy (..., 2), clipped into the grid."""
        c = jnp.floor(xy[..., 0] / self.cell_size + self.width / 2).astype(jnp.int32)
        r = jnp.floor(self.height / 2 - xy[..., 1] / self.cell_size).astype(jnp.int32)
        return jnp.clip(r, 0, self.height - 1), jnp.clip(c, 0, self.width - 1)

    def is_wall(self, xy: jax.Array) -> jax.Array:
        r, c = self.cell_of(xy)
        return jnp.asarray(self.walls)[r, c]

    def wall_boxes(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        """(center xy, half size xy) of one box per horizontal run of wall cells."""
        boxes = []
        for r, c, end in wall_runs(self.rows):
            (x0, y), (x1, _) = self.center(r, c), self.center(r, end)
            boxes.append((((x0 + x1) / 2, y), ((end - c + 1) * self.cell_size / 2, self.cell_size / 2)))
        return boxes

    def reachable(self) -> set[tuple[int, int]]:
        """Free cells connected to the first start cell (4-neighbour flood fill)."""
        start = next((r, c) for r, row in enumerate(self.rows) for c, ch in enumerate(row) if ch == "S")
        seen, todo = {start}, [start]
        while todo:
            r, c = todo.pop()
            for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if not self.walls[nr, nc] and (nr, nc) not in seen:
                    seen.add((nr, nc))
                    todo.append((nr, nc))
        return seen

    def sample(self, rng: jax.Array, centers: np.ndarray, jitter: float) -> jax.Array:
        """A random cell of `centers` (k, 2) plus U(-jitter, jitter) * cell_size per axis."""
        cell_rng, jitter_rng = jax.random.split(rng)
        center = jnp.asarray(centers)[jax.random.randint(cell_rng, (), 0, len(centers))]
        return center + jitter * self.cell_size * jax.random.uniform(jitter_rng, (2,), minval=-1.0, maxval=1.0)


def check_layout(env: str, layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"{env}: layout must be one of {sorted(LAYOUTS)}, got {layout!r}")


POINT_EPISODE_LENGTH = {"u": 100, "big": 200, "hardest": 400}
"""point maze default episode lengths: about twice the shortest start-to-goal path at max_step 0.2"""


class PointMaze(GoalEnv):
    """Velocity-controlled point in a maze; success within `success_threshold` of the goal."""

    state_dim = 2
    goal_indices = (0, 1)

    def __init__(
        self,
        layout: str = "u",
        episode_length: int | None = None,
        success_threshold: float = 0.25,
        cell_size: float = 1.0,
        max_step: float = 0.2,
        radius: float = 0.1,
        jitter: float = 0.25,
        backend: str = "jax",
        goal_space: str | None = None,
    ):
        name = f"point_{layout}_maze"
        check_layout(name, layout)
        episode_length = POINT_EPISODE_LENGTH[layout] if episode_length is None else episode_length
        if backend != "jax":
            raise ValueError(f"{name}: backend must be 'jax' (it has no physics engine), got {backend!r}")
        check_positive(name, episode_length=episode_length, success_threshold=success_threshold, cell_size=cell_size,
                       max_step=max_step, radius=radius)
        if not max_step < cell_size or not radius < cell_size / 2 or not 0 <= jitter < 0.5 - radius / cell_size:
            raise ValueError(f"{name}: need max_step < cell_size, radius < cell_size / 2 and "
                             f"0 <= jitter < 0.5 - radius / cell_size; got max_step={max_step}, radius={radius}, "
                             f"jitter={jitter}, cell_size={cell_size}")
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
        self.layout, self.maze = layout, Maze(LAYOUTS[layout], cell_size)
        self.max_step, self.radius, self.jitter = float(max_step), float(radius), float(jitter)
        self.select_goal_space(goal_space)

    @property
    def action_size(self) -> int:
        return 2

    def blocked(self, xy: jax.Array) -> jax.Array:
        """True when the square of half-size `radius` around xy overlaps a wall cell."""
        corners = xy + self.radius * jnp.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
        return jnp.any(self.maze.is_wall(corners))

    def reset(self, rng: jax.Array) -> State:
        start_rng, goal_rng = jax.random.split(rng)
        pos = self.maze.sample(start_rng, self.maze.starts, self.jitter)
        goal = self.maze.sample(goal_rng, self.maze.goals, self.jitter)
        return self.first_state(None, pos, goal)

    def step(self, state: State, action: jax.Array) -> State:
        pos = state.obs[:2]
        move = self.max_step * jnp.clip(action, -1.0, 1.0)
        moved_x = pos.at[0].add(move[0])
        pos = jnp.where(self.blocked(moved_x), pos, moved_x)
        moved_y = pos.at[1].add(move[1])
        pos = jnp.where(self.blocked(moved_y), pos, moved_y)
        return self.next_state(state, None, pos, 0.0)


WALL_HEIGHT = 1.0


class InMaze:
    """Maze placement for a `Walker`: box walls, starts in start cells, goals in goal cells.

    Call `setup_maze` before the walker's __init__ and pass `self.add_walls` as its edit hook.
    """

    def setup_maze(self, name: str, layout: str, cell_size: float, jitter: float) -> None:
        check_layout(name, layout)
        check_positive(name, cell_size=cell_size)
        if not 0 <= jitter < 0.5:
            raise ValueError(f"{name}: jitter must be in [0, 0.5), got {jitter}")
        self.layout, self.maze, self.jitter = layout, Maze(LAYOUTS[layout], cell_size), float(jitter)

    def add_walls(self, spec: mujoco.MjSpec) -> None:
        for index, ((x, y), (hx, hy)) in enumerate(self.maze.wall_boxes()):
            add_wall(spec, f"wall_{index}", (x, y, WALL_HEIGHT / 2), (hx, hy, WALL_HEIGHT / 2))

    def place(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        return q.at[:2].set(self.maze.sample(rng, self.maze.starts, 0.0) + q[:2])

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        return self.maze.sample(rng, self.maze.goals, self.jitter)


class AntMaze(InMaze, AntBase):
    """crlx's light ant in a maze: torso xy to a goal cell (the base of AntLightBallMaze)."""

    def __init__(
        self,
        layout: str = "u",
        episode_length: int = 1000,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        cell_size: float = 4.0,
        jitter: float = 0.25,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        goal_space: str | None = None,
    ):
        name = f"ant_{layout}_maze"
        self.setup_maze(name, layout, cell_size, jitter)
        super().__init__(name, episode_length, success_threshold, backend, terminate_when_unhealthy, healthy_z_range,
                         goal_space, self.add_walls)


class HumanoidLightMaze(InMaze, HumanoidBase):
    """crlx's light humanoid in a maze: torso xy to a goal cell (JaxGCRL's humanoid mazes: crlx.envs.humanoid_maze)."""

    goal_indices = (0, 1)

    def __init__(
        self,
        layout: str = "u",
        episode_length: int = 1000,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        cell_size: float = 2.0,
        jitter: float = 0.25,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (1.0, 2.0),
        goal_space: str | None = None,
    ):
        name = f"humanoid_light_{layout}_maze"
        self.setup_maze(name, layout, cell_size, jitter)
        super().__init__(name, episode_length, success_threshold, backend, terminate_when_unhealthy, healthy_z_range,
                         goal_space, self.add_walls)


class AntLightBallMaze(AntMaze):
    """The U maze with a ball: push the ball to a goal cell."""

    BALL_AHEAD = 1.0
    """the ball starts this far ahead (+x) of the torso, both centered on the start cell"""

    def __init__(
        self,
        episode_length: int = 1000,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        cell_size: float = 4.0,
        jitter: float = 0.25,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        goal_space: str | None = None,
    ):
        super().__init__("u", episode_length, success_threshold, backend, cell_size, jitter, terminate_when_unhealthy,
                         healthy_z_range, goal_space)
        self.ball_q = self.joint_qpos("ball")
        self.goal_indices = self.object_indices = (self.ball_q, self.ball_q + 1)

    def goal_spaces(self):
        return {"ball": lambda s: s[..., self.ball_q : self.ball_q + 2]}

    def add_walls(self, spec: mujoco.MjSpec) -> None:
        super().add_walls(spec)
        add_ball(spec, (0, 0, BALL_RADIUS))

    def place(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        start = self.maze.sample(rng, self.maze.starts, 0.0)
        q = q.at[:2].set(start - jnp.array([self.BALL_AHEAD / 2, 0.0]) + q[:2])
        ball = jnp.append(start + jnp.array([self.BALL_AHEAD / 2, 0.0]), BALL_RADIUS)
        return q.at[self.ball_q : self.ball_q + 3].set(ball)
