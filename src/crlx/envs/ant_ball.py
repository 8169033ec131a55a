"""JaxGCRL's ant soccer tasks (jaxgcrl 0.2.8 jaxgcrl/envs/ant_ball.py, ant_ball_maze.py, assets/ant_ball.xml)
on brax's scene `brax/envs/assets/ant.xml`: push the ball onto the goal.

scene: brax's ant.xml + JaxGCRL's changes made at load time: the torso and foot geoms get
       conaffinity 1 (so the ball, contype 1, collides with them; the hip and leg capsules pass
       through it), a 150 m floor (brax: 40 m), a ball body "object" at (0, 0, 0.5) on slide
       joints obj_slidex, obj_slidey (range +-100 m, armature 1 from the scene's default joint
       class, no damping) with two radius 0.5 m spheres: a collision-free one of density 1 and
       "object_geom" of density 0.1 (contype 1, conaffinity 0: it touches the floor, the ant's
       torso and feet and the walls), mass 0.576 kg in all; then a target body (slide joints
       target_x, target_y, range +-100 m, sphere radius 0.9, no collisions). The ball sits on the
       floor (z fixed at its radius): it slides, it does not roll. (JaxGCRL's copy also drops the
       default geom colour; crlx keeps brax's.)
qpos (19) = ant 15 (torso xyz, quaternion wxyz, 8 joint angles) ++ ball xy offset 2 ++ target xy 2;
qvel (18) = ant 14 ++ ball 2 ++ target 2
state (state_dim 31) = ant qpos (15) ++ ant qvel (14) ++ ball xy (2, the "object" body's world position)
goal_indices = (29, 30): the ball xy; obs = state ++ goal = 33 values (JaxGCRL's obs, goal = target xy)
action = 8 joint torques in [-1, 1] (brax's gear 150; 200 on 'positional')
goal = goal_distance * (cos a, sin a), a ~ U(0, 2 pi): on a circle of 5 m around the origin
start: init_qpos (torso z 0.55) + U(-reset_noise_scale, reset_noise_scale) on the ant's qpos,
       ant qvel ~ reset_noise_scale * N(0, 1) (JaxGCRL's 0.1), the ball and target at rest; the ball at
       0.2 * goal + (cos b, sin a), b ~ U(0, 2 pi): JaxGCRL's y offset reuses the goal's angle a
       (its `obj_y_offset = sin(ang)`), kept for parity, so ball = (cos a + cos b, 2 sin a), within
       sqrt(5) m of the origin; it may start touching the ant
success: ||ball xy - goal|| < 0.5 after the step; done: torso z outside (0.2, 1.0); episodes of 1001 steps
dt = 0.05 s: 'spring' (JaxGCRL's default) and 'positional' timestep 0.005 x 10 frames,
    'generalized' and 'mjx' 0.01 x 5 (mjx: Newton, 1 iteration, 4 line-search iterations)
reward = -dist (JaxGCRL: success, or a dense shaping); CRL reads neither

ant_ball_maze (AntBallMaze): the same scene plus JaxGCRL's ball-maze walls (jaxgcrl/envs/ant_ball_maze.py:
       U_MAZE, BIG_MAZE with ball cells 'b', 4 m cells, 4 x 4 x 2 m of wall per wall cell
       (one box per row run), contype 1 and
       conaffinity 1, see crlx.envs.grid_maze); JaxGCRL's default layout "big". The walls stop the
       torso, the feet and the ball; the hip and leg capsules pass through them (conaffinity 0).
       start: the ant's qpos noise as above, then the torso xy = the 'S' cell center (4, 4) exactly;
       goal: the center of a uniformly drawn 'G' cell; the ball: at the center of a 'B' cell, at rest.
       JaxGCRL draws the goal cell and the ball cell with the same key, which pairs them: ball cell
       index = goal cell index mod the number of ball cells (big: 2 ball cells, 20 goal cells, each
       goal cell comes with one fixed ball cell; u: 1 ball cell); crlx keeps that pairing.
       goal_indices = (29, 30), the ball xy: JaxGCRL's ant_ball_maze.py says [28, 29] (the last ant
       joint velocity and the ball x), an off-by-one against its own success test (ball xy,
       obs[-4:-2], to target); crlx's deliberate difference. Sizes, backends, dt, done, threshold
       and episode length as ant_ball.

A fresh goal every episode, also after auto-reset (JaxGCRL keeps the first goal after its
auto-reset, JaxGCRL issue #53); that is crlx's deliberate difference.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
from brax.envs.base import State

from crlx.envs.brax_scene import (ANT_SETTINGS, JAXGCRL_EPISODE_LENGTH, add_target, brax_scene_spec, set_floor_size,
                                  set_geom_attr)
from crlx.envs.grid_maze import GridMaze
from crlx.envs.physics import check_positive
from crlx.envs.target_env import TargetGoalEnv

BALL_TOUCHING_GEOMS = ("torso_geom", "left_foot_geom", "right_foot_geom", "third_foot_geom", "fourth_foot_geom")
"""the ant geoms JaxGCRL's ant_ball.xml gives conaffinity 1"""
BALL_RADIUS = 0.5
"""both ball spheres' radius (m); the ball body sits at z = BALL_RADIUS, on the floor"""
ANT_QPOS, ANT_QVEL = 15, 14
"""the ant's own qpos (free joint 7 + 8 hinges) and qvel (6 + 8), first in the scene"""

BALL_LAYOUTS = {
    "u": """
#####
#SGB#
###G#
#GGG#
#####
""",
    "big": """
########
#S.##GG#
#..#GGG#
##BGB###
#GG#GGG#
#G#GG#G#
#GGG#GG#
########
""",
}
"""JaxGCRL's ant_ball_maze.py U_MAZE and BIG_MAZE: 'B' ball cell (its "b"), 'S' its "r", 'G' its "g", '.' its 0"""


def add_ball(spec: mujoco.MjSpec, joint_range: float = 100.0) -> None:
    """JaxGCRL's ball: body "object" at (0, 0, BALL_RADIUS) on slide joints obj_slidex, obj_slidey.

    The joints keep the scene's default armature (1) and limits, damping 0; brax's `init_qpos`
    grows by two zeros. A collision-free sphere of density 1 carries most of the mass; the
    colliding "object_geom" (density 0.1) has contype 1 and conaffinity 0.
    """
    body = spec.worldbody.add_body(name="object", pos=[0.0, 0.0, BALL_RADIUS])
    sphere = mujoco.mjtGeom.mjGEOM_SPHERE
    body.add_geom(type=sphere, size=[BALL_RADIUS] * 3, density=1.0, contype=0, conaffinity=0, rgba=[1, 1, 1, 0])
    body.add_geom(name="object_geom", type=sphere, size=[BALL_RADIUS] * 3, density=0.1, contype=1, conaffinity=0,
                  rgba=[1, 1, 1, 1])
    for axis, direction in (("x", [1.0, 0.0, 0.0]), ("y", [0.0, 1.0, 0.0])):
        body.add_joint(name=f"obj_slide{axis}", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=direction, damping=0.0,
                       limited=mujoco.mjtLimited.mjLIMITED_TRUE, range=[-joint_range, joint_range])
    init = next(n for n in spec.numerics if n.name == "init_qpos")
    data = list(init.data) + [0.0, 0.0]
    init.size, init.data = len(data), data


def ant_ball_scene(floor: float = 150.0, target_range: float = 100.0) -> mujoco.MjSpec:
    """brax's ant.xml with JaxGCRL's contact flags, ball, target body and floor size (ant_ball.xml)."""
    spec = brax_scene_spec("ant.xml")
    set_floor_size(spec, floor)
    set_geom_attr(spec, BALL_TOUCHING_GEOMS, conaffinity=1)
    add_ball(spec)
    add_target(spec, "xy", z=0.01, radius=0.9, joint_range=target_range)
    return spec


class AntBall(TargetGoalEnv):
    """Ant soccer: success when the ball xy is within `success_threshold` (m) of the goal."""

    goal_indices = (29, 30)
    object_indices = (29, 30)
    """the ball xy (ant_ball and ant_ball_maze)"""
    env_name = "ant_ball"

    def __init__(
        self,
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.5,
        backend: str = "spring",
        goal_distance: float = 5.0,
        reset_noise_scale: float = 0.1,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        goal_space: str | None = None,
    ):
        name = type(self).env_name
        check_positive(name, goal_distance=goal_distance)
        self.goal_distance = float(goal_distance)
        self._setup(name, ant_ball_scene(), reset_noise_scale, episode_length, success_threshold, backend,
                    terminate_when_unhealthy, healthy_z_range, goal_space)

    def _setup(self, name, scene, reset_noise_scale, *options):
        self.set_reset_noise(name, reset_noise_scale)
        super().__init__(name, scene, ANT_SETTINGS, *options)
        self._ball_link = self.sys.link_names.index("object")
        self.state_dim = ANT_QPOS + ANT_QVEL + 2  # 31

    def sample_goal_and_ball(self, rng: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(2,) goal = goal_distance * (cos a, sin a), (2,) ball = 0.2 * goal + (cos b, sin a), a, b ~ U(0, 2 pi)
        (JaxGCRL's _random_target: the ball's y offset reuses the goal's angle a)."""
        goal_rng, ball_rng = jax.random.split(rng)
        angle, ball_angle = 2.0 * jnp.pi * jax.random.uniform(goal_rng), 2.0 * jnp.pi * jax.random.uniform(ball_rng)
        goal = self.goal_distance * jnp.stack([jnp.cos(angle), jnp.sin(angle)])
        return goal, 0.2 * goal + jnp.stack([jnp.cos(ball_angle), jnp.sin(angle)])

    def sample_goal(self, rng: jax.Array) -> jax.Array:
        return self.sample_goal_and_ball(rng)[0]

    def _state_vec(self, pipeline_state) -> jax.Array:
        ball = pipeline_state.x.pos[self._ball_link, :2]
        return jnp.concatenate([pipeline_state.q[:ANT_QPOS], pipeline_state.qd[:ANT_QVEL], ball])

    def reset(self, rng: jax.Array) -> State:
        q_rng, qd_rng, goal_rng, place_rng = jax.random.split(rng, 4)
        q, qd = self.noisy_start(q_rng, qd_rng)
        goal, ball = self.sample_goal_and_ball(goal_rng)
        q = self.place(place_rng, q.at[ANT_QPOS:].set(jnp.concatenate([ball, goal])), goal)
        pipeline_state = self.pipeline_init(q, qd.at[ANT_QVEL:].set(0.0))  # ball and target at rest
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)


class BallMaze(GridMaze):
    """A JaxGCRL ball-maze layout (BALL_LAYOUTS) at a cell size `scaling` (m), with its ball cells."""

    def __init__(self, name: str, layout: str, scaling: float):
        super().__init__(name, layout, scaling, BALL_LAYOUTS)
        self.balls = self.cells("B")


class AntBallMaze(AntBall):
    """Ant soccer in a maze: the ball from its cell to the goal cell."""

    env_name = "ant_ball_maze"

    def __init__(
        self,
        layout: str = "big",
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.5,
        backend: str = "spring",
        maze_size_scaling: float = 4.0,
        reset_noise_scale: float = 0.1,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        goal_space: str | None = None,
    ):
        name = type(self).env_name
        self.layout, self.maze = layout, BallMaze(name, layout, maze_size_scaling)
        scene = ant_ball_scene()
        self.maze.add_walls(scene)
        self._setup(name, scene, reset_noise_scale, episode_length, success_threshold, backend,
                    terminate_when_unhealthy, healthy_z_range, goal_space)

    def sample_goal_and_ball(self, rng: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(2,) a uniformly drawn goal cell's center, (2,) a ball cell's center, both drawn with `rng`
        (as JaxGCRL; jax's randint then gives ball cell index = goal cell index mod the number of ball cells)."""
        goals, balls = jnp.asarray(self.maze.goals), jnp.asarray(self.maze.balls)
        return (goals[jax.random.randint(rng, (), 0, len(goals))],
                balls[jax.random.randint(rng, (), 0, len(balls))])

    def place(self, rng: jax.Array, q: jax.Array, goal: jax.Array) -> jax.Array:
        """Torso xy at the start cell's center."""
        return self.maze.at_start(rng, q)
