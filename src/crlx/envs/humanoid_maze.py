"""JaxGCRL's humanoid mazes (jaxgcrl 0.2.8 jaxgcrl/envs/humanoid_maze.py, assets/humanoid_maze.xml) on brax's
`humanoid.xml`.

JaxGCRL's env names humanoid_u_maze, humanoid_big_maze, humanoid_hardest_maze; layout "u", "big",
"hardest" (JaxGCRL's U_MAZE, BIG_MAZE, HARDEST_MAZE, the same strings as its ant_maze.py, so the
layouts are crlx.envs.grid_maze's).

scene: crlx.envs.humanoid's scene (brax's humanoid.xml, every geom contype 1, a target body at
       z 1.25) with humanoid_maze.xml's two differences from JaxGCRL's humanoid.xml, a 100 m floor
       (humanoid: 150 m) and target joints range +-100 m (humanoid: +-20 m), and walls over the
       wall cells, added by JaxGCRL's make_maze: cells of maze_size_scaling = 2 m (the ant mazes: 4 m),
       a 2 x 2 x 1 m box (half size 1, 1, 0.5) centered at (2 i, 2 j, 0.5) per wall cell (crlx: one box
       per run of wall cells along a row, the same solid), contype = conaffinity = 1,
       so every humanoid geom (conaffinity 0) touches the walls and the body still does not touch itself
state, state_dim (268), goal_indices (0, 1, 2), obs (271), action, control and backends: those of
    crlx.envs.humanoid (qpos 26, qvel 25, cinert 12 x 10, cvel 12 x 6, qfrc_actuator 25; 17 motors)
goal: (x, y, 1.25), (x, y) the center of a uniformly drawn 'G' cell (every free cell but the start),
    without jitter; the target body sits there all episode (JaxGCRL's obs reads its xy and TARGET_Z_COORD)
start: init_qpos + U(-reset_noise_scale, reset_noise_scale) on qpos and qvel (JaxGCRL's default 0), then
    the torso xy = the 'S' cell center (2, 2) exactly, torso z 1.4 standing; the target at rest
success: ||torso xyz - goal|| < 0.5 after the step (JaxGCRL's `success`; the z term counts, as in its humanoid)
done: torso z outside (1.0, 2.0); a wall contact does not end the episode
dt = 0.015 s: 'spring' (JaxGCRL's default, create_env's backend or "spring") and 'positional' 0.0015 x 10
    frames, 'generalized' and 'mjx' 0.003 x 5; episodes of JAXGCRL_EPISODE_LENGTH = 1001 steps
A fresh goal every episode, also after auto-reset (JaxGCRL keeps the first goal after its
auto-reset, JaxGCRL issue #53); that is crlx's deliberate difference.
JaxGCRL quirks kept: the 3-d goal with a fixed z 1.25 although only the xy is drawn; the centre of mass
    in the observation counts the target's mass 1; the start's xy noise is overwritten by the start cell.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco

from crlx.envs.brax_scene import HUMANOID_SETTINGS, JAXGCRL_EPISODE_LENGTH
from crlx.envs.grid_maze import GridMaze
from crlx.envs.humanoid import TARGET_Z, Humanoid, humanoid_scene
from crlx.envs.target_env import TargetGoalEnv

MAZE_SIZE_SCALING = 2.0
"""jaxgcrl/envs/humanoid_maze.py HumanoidMaze maze_size_scaling: the cell size (m)"""


def humanoid_maze_scene(maze: GridMaze) -> mujoco.MjSpec:
    """brax's humanoid.xml with JaxGCRL's humanoid_maze.xml changes and the maze's walls."""
    spec = humanoid_scene(floor=100.0, target_range=100.0)
    maze.add_walls(spec)
    return spec


class HumanoidMaze(Humanoid):
    """JaxGCRL's humanoid in a maze: the torso xyz to (goal cell xy, 1.25)."""

    def __init__(
        self,
        layout: str = "u",
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.5,
        backend: str = "spring",
        maze_size_scaling: float = MAZE_SIZE_SCALING,
        reset_noise_scale: float = 0.0,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (1.0, 2.0),
        goal_space: str | None = None,
    ):
        name = f"humanoid_{layout}_maze"
        self.layout, self.maze = layout, GridMaze(name, layout, maze_size_scaling)
        self.set_reset_noise(name, reset_noise_scale)
        # Humanoid.__init__ builds the open-floor scene; the maze scene goes straight to TargetGoalEnv
        TargetGoalEnv.__init__(self, name, humanoid_maze_scene(self.maze), HUMANOID_SETTINGS, episode_length,
                               success_threshold, backend, terminate_when_unhealthy, healthy_z_range, goal_space)
        self.finish_init()

    def sample_goal(self, rng: jax.Array) -> jax.Array:
        """(3,) a uniformly drawn goal cell's center (x, y) at z = TARGET_Z."""
        return jnp.append(self.maze.pick(rng, self.maze.goals), TARGET_Z)

    def place(self, rng: jax.Array, q: jax.Array, goal: jax.Array) -> jax.Array:
        """The torso xy at a start cell's center (JaxGCRL's 'r' cell)."""
        return self.maze.at_start(rng, q)
