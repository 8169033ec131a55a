"""JaxGCRL's ant mazes (jaxgcrl 0.2.8 jaxgcrl/envs/ant_maze.py, assets/ant_maze.xml) on brax's `ant.xml`.

scene: brax's ant.xml + JaxGCRL's changes made at load time: the torso, hip (aux) and foot geoms
       get conaffinity 1 (so the walls push them), a 300 m floor, a target body (slide joints
       range +-100 m), and the layout's walls, 4 x 4 x 2 m per wall cell (crlx.envs.grid_maze: one box per row run)
state, goal_indices, obs, action, done, dt and backends: those of crlx.envs.ant (29 + 2 = 31)
start: init_qpos + U(-0.1, 0.1) noise, then the torso xy = the 'S' cell center (4, 4) exactly
goal: the center of a uniformly drawn 'G' cell (every free cell but the start); threshold 0.5 m
episodes of 1001 steps
A fresh goal every episode, also after auto-reset (JaxGCRL issue #53: crlx's deliberate difference).
"""

from __future__ import annotations

import jax
import mujoco

from crlx.envs.brax_scene import (ANT_SETTINGS, JAXGCRL_EPISODE_LENGTH, add_target, brax_scene_spec, set_floor_size,
                                  set_geom_attr)
from crlx.envs.grid_maze import GridMaze
from crlx.envs.target_env import TargetGoalEnv

WALL_TOUCHING_GEOMS = ("torso_geom", "aux_1_geom", "aux_2_geom", "aux_3_geom", "aux_4_geom", "left_foot_geom",
                       "right_foot_geom", "third_foot_geom", "fourth_foot_geom")
"""the ant geoms JaxGCRL's ant_maze.xml gives conaffinity 1"""


def ant_maze_scene(maze: GridMaze) -> mujoco.MjSpec:
    spec = brax_scene_spec("ant.xml")
    set_floor_size(spec, 300.0)
    set_geom_attr(spec, WALL_TOUCHING_GEOMS, conaffinity=1)
    add_target(spec, "xy", z=0.01, radius=0.9, joint_range=100.0)
    maze.add_walls(spec)
    return spec


class AntMaze(TargetGoalEnv):
    """The ant in a maze: torso xy to the goal cell."""

    goal_indices = (0, 1)

    def __init__(
        self,
        layout: str = "u",
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.5,
        backend: str = "spring",
        maze_size_scaling: float = 4.0,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        goal_space: str | None = None,
    ):
        name = f"ant_{layout}_maze"
        self.layout, self.maze = layout, GridMaze(name, layout, maze_size_scaling)
        super().__init__(name, ant_maze_scene(self.maze), ANT_SETTINGS, episode_length, success_threshold, backend,
                         terminate_when_unhealthy, healthy_z_range, goal_space)

    def sample_goal(self, rng: jax.Array) -> jax.Array:
        return self.maze.pick(rng, self.maze.goals)

    def place(self, rng: jax.Array, q: jax.Array, goal: jax.Array) -> jax.Array:
        return self.maze.at_start(rng, q)

