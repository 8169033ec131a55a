"""JaxGCRL's simple mazes (jaxgcrl 0.2.8 jaxgcrl/envs/simple_maze.py, assets/simple_maze.xml):
a force-driven sphere among the walls of a JaxGCRL layout (crlx.envs.grid_maze).

scene (built here with MjSpec, JaxGCRL's simple_maze.xml has no brax original): a sphere of radius
       0.25 m (density 5) at height 0.75 m on two slide joints x, y (armature 1, no damping), driven
       by motors of gear 5; a collision-free target body on slide joints; wall boxes over
       the wall cells (one per row run),
       2 m tall at the default 4 m cells; timestep 0.01, brax's spring constants as in the ant
state (state_dim 4) = [x, y, vx, vy]; goal_indices = (0, 1); obs = 6 values
action = x, y forces in [-1, 1] (times gear 5)
start: the 'S' cell center (4, 4) exactly, velocity 0.1 * N(0, 1)
goal: the center of a uniformly drawn 'G' cell (every free cell but the start)
success: ||xy - goal|| < 0.5; never terminates (the sphere's height is fixed); episodes of 1001 steps
dt = 0.05 s: timestep 0.005 x 10 frames on 'spring' (JaxGCRL's default) and 'positional',
     0.01 x 5 on 'generalized' and 'mjx'
A fresh goal every episode, also after auto-reset (JaxGCRL issue #53: crlx's deliberate difference).
"""

from __future__ import annotations

import jax
import mujoco

from crlx.envs.brax_scene import ANT_SETTINGS, JAXGCRL_EPISODE_LENGTH, add_target
from crlx.envs.grid_maze import GridMaze
from crlx.envs.target_env import TargetGoalEnv

BRAX_CONSTANTS = {
    "constraint_limit_stiffness": 1000.0, "constraint_stiffness": 4000.0, "constraint_ang_damping": 10.0,
    "constraint_vel_damping": 20.0, "joint_scale_pos": 0.5, "joint_scale_ang": 0.2, "ang_damping": 0.0,
    "spring_mass_scale": 1.0, "spring_inertia_scale": 1.0, "solver_maxls": 15.0,
}
"""brax custom numerics for the spring / positional pipelines (the values of brax's ant.xml)"""
BALL_RADIUS, BALL_HEIGHT, GEAR = 0.25, 0.75, 5.0


def sphere_maze_scene(maze: GridMaze) -> mujoco.MjSpec:
    """The sphere, its motors, the target and the maze walls."""
    spec = mujoco.MjSpec()
    spec.option.timestep = 0.01
    spec.option.iterations = 4
    for name, value in BRAX_CONSTANTS.items():
        spec.add_numeric(name=name, data=[value], size=1)
    spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[100, 100, 40], contype=0,
                            conaffinity=1, condim=3, rgba=[0.5, 0.5, 0.5, 1])
    spec.worldbody.add_light(pos=[0, 0, 20], dir=[0, 0, -1])
    ball = spec.worldbody.add_body(name="torso", pos=[0, 0, BALL_HEIGHT])
    for axis in "xy":
        ball.add_joint(name=f"slide_{axis}", type=mujoco.mjtJoint.mjJNT_SLIDE,
                       axis=[1.0, 0, 0] if axis == "x" else [0, 1.0, 0], armature=1.0, damping=0.0,
                       limited=mujoco.mjtLimited.mjLIMITED_TRUE, range=[-100, 100])
    ball.add_geom(name="torso_geom", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[BALL_RADIUS, 0, 0], density=5.0,
                  contype=1, conaffinity=1, condim=3, friction=[1.0, 0.5, 0.5], rgba=[0.8, 0.6, 0.4, 1])
    for axis in "xy":
        spec.add_actuator(name=f"move_{axis}", target=f"slide_{axis}", trntype=mujoco.mjtTrn.mjTRN_JOINT,
                          gear=[GEAR, 0, 0, 0, 0, 0])
    add_target(spec, "xy", z=0.01, radius=0.9, joint_range=100.0)
    maze.add_walls(spec)
    return spec


class SimpleMaze(TargetGoalEnv):
    """The sphere in a maze: its xy to the goal cell."""

    goal_indices = (0, 1)

    def __init__(
        self,
        layout: str = "u",
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.5,
        backend: str = "spring",
        maze_size_scaling: float = 4.0,
        goal_space: str | None = None,
    ):
        name = f"simple_{layout}_maze"
        self.layout, self.maze = layout, GridMaze(name, layout, maze_size_scaling)
        super().__init__(name, sphere_maze_scene(self.maze), ANT_SETTINGS, episode_length, success_threshold,
                         backend, True, (0.2, 1.0), goal_space)

    def sample_goal(self, rng: jax.Array) -> jax.Array:
        return self.maze.pick(rng, self.maze.goals)

    def place(self, rng: jax.Array, q: jax.Array, goal: jax.Array) -> jax.Array:
        return self.maze.at_start(rng, q)
