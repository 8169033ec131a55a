"""crlx's own light ant (MJCF scene `envs/ant.xml`, motor gear 75) for the ball and push tasks.

These tasks are crlx's (`ant_light_ball`, `ant_light_push`): JaxGCRL's `ant_ball` and `ant_push`
(crlx.envs.ant_ball, crlx.envs.ant_push) use brax's ant; the versions below keep the light body
and their own layouts (see docs/ENVIRONMENTS.md). The JaxGCRL ant itself is crlx.envs.ant.

Common to every light-ant env (a `Walker`, see crlx.envs.walker):
state = qpos ++ qvel of the whole scene: the ant's 15 qpos (torso xyz, torso quaternion wxyz,
        8 joint angles) and 14 qvel come first, then the free bodies the task adds
        (ball, block: 7 qpos, 6 qvel each), so state_dim = 42 with one extra body
action = 8 joint torque commands in [-1, 1] (hip, ankle per leg; motor gear 75)
start: the "home" keyframe + U(-0.1, 0.1) on the ant's qpos (quaternion renormalized),
       ant qvel ~ 0.1 * N(0, 1), then the task places the torso xy and its extra bodies
done: torso z outside healthy_z_range (default (0.2, 1.0)), else only by time
reward = -dist; dt = 0.05 s (timestep 0.01, n_frames 5); backends "mjx" (default), "generalized"

Tasks:
ant_light_ball    soccer: the ball (radius 0.25 m) starts 1.5 m from the torso in a random direction,
                  the goal is goal_distance (3 m) from the ball in a random direction. Goal spaces
                  "ball" (ball xy, default) and "ball_and_torso" (ball xy ++ torso xy, commanding
                  the ball at g and the torso 1 m from g on the side it came from)
ant_light_push    a movable block (0.6 m cube, 5 kg) plugs a corridor (walls at y = +-1.2 m from
                  x = 1 to 5 m); the torso goal lies past the corridor's end
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from crlx.envs.physics import check_positive
from crlx.envs.walker import Walker

ANT_QPOS, ANT_QVEL = 15, 14
"""size of the ant's own qpos (free joint 7 + 8 hinges) and qvel (6 + 8)"""


def add_free_body(spec: mujoco.MjSpec, name: str, geom_type: mujoco.mjtGeom, size, mass: float, rgba, pos=(0, 0, 0)):
    """A free body with one geom that touches the floor, walls, the ant and other free bodies.

    Keyframes that set qpos get the body's own 7 values (pos, quaternion 1 0 0 0) appended; MuJoCo
    3.3 rejects a keyframe shorter than the model's qpos instead of padding it.
    """
    for key in spec.keys:
        if len(key.qpos):
            key.qpos = np.concatenate([key.qpos, pos, [1.0, 0.0, 0.0, 0.0]])
    body = spec.worldbody.add_body(name=name, pos=list(pos))
    body.add_freejoint(name=name)
    body.add_geom(name=name, type=geom_type, size=list(size), mass=mass, rgba=list(rgba), contype=1, conaffinity=1,
                  condim=3, friction=[1.0, 0.5, 0.5])


def add_wall(spec: mujoco.MjSpec, name: str, center, half_size, rgba=(0.55, 0.5, 0.45, 1)):
    """A static box that the ant and free bodies collide with (but not the floor or other walls)."""
    spec.worldbody.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_BOX, pos=list(center), size=list(half_size),
                            rgba=list(rgba), contype=1, conaffinity=0, condim=3)


BALL_RADIUS = 0.25


def add_ball(spec: mujoco.MjSpec, pos) -> None:
    """The soccer ball: a free 0.5 kg sphere of radius BALL_RADIUS, joint and geom named "ball"."""
    add_free_body(spec, "ball", mujoco.mjtGeom.mjGEOM_SPHERE, (BALL_RADIUS, 0, 0), 0.5, (0.9, 0.9, 0.9, 1), pos=pos)


def random_direction(rng: jax.Array) -> jax.Array:
    angle = jax.random.uniform(rng, (), minval=-jnp.pi, maxval=jnp.pi)
    return jnp.stack([jnp.cos(angle), jnp.sin(angle)])


class AntBase(Walker):
    """The ant walker; tasks override `place` (start layout) and `sample_goal`."""

    asset = "ant.xml"
    n_frames = 5
    body_qpos, body_qvel = ANT_QPOS, ANT_QVEL
    qpos_noise, qvel_noise = 0.1, 0.1
    goal_indices = (0, 1)


class AntLightBall(AntBase):
    """Ant soccer: push the ball to the goal."""

    TORSO_OFFSET = 1.0
    """ball_and_torso: the commanded torso spot lies this far from the ball goal, toward the ball's start"""

    def __init__(
        self,
        episode_length: int = 1000,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        goal_distance: float = 3.0,
        ball_distance: float = 1.5,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        goal_space: str | None = None,
    ):
        check_positive("ant_light_ball", goal_distance=goal_distance, ball_distance=ball_distance)
        self.goal_distance, self.ball_distance = float(goal_distance), float(ball_distance)

        def edit(spec: mujoco.MjSpec) -> None:
            add_ball(spec, (self.ball_distance, 0, BALL_RADIUS))

        super().__init__("ant_light_ball", episode_length, success_threshold, backend, terminate_when_unhealthy,
                         healthy_z_range, goal_space, edit)
        self.ball_q = self.joint_qpos("ball")
        self.goal_indices = self.object_indices = (self.ball_q, self.ball_q + 1)

    def goal_spaces(self):
        ball = lambda s: s[..., self.ball_q : self.ball_q + 2]  # noqa: E731
        return {"ball": ball, "ball_and_torso": lambda s: jnp.concatenate([ball(s), s[..., 0:2]], axis=-1)}

    def place(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        ball_xy = q[:2] + self.ball_distance * random_direction(rng)
        return q.at[self.ball_q : self.ball_q + 3].set(jnp.append(ball_xy, BALL_RADIUS))

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        ball_xy = q[self.ball_q : self.ball_q + 2]
        direction = random_direction(rng)
        goal = ball_xy + self.goal_distance * direction
        if self.goal_space == "ball_and_torso":
            return jnp.concatenate([goal, goal - self.TORSO_OFFSET * direction])
        return goal


class AntLightPush(AntBase):
    """A block plugs a corridor between the ant and its goal; the ant must push it through."""

    BLOCK_HALF = 0.3
    CORRIDOR = (1.0, 5.0, 1.2)
    """corridor x from, x to, half width (m); the walls are 0.2 m thick and 0.6 m high"""

    def __init__(
        self,
        episode_length: int = 1000,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        goal_range: float = 1.0,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        goal_space: str | None = None,
    ):
        check_positive("ant_light_push", goal_range=goal_range)
        self.goal_range = float(goal_range)
        x0, x1, half_width = self.CORRIDOR

        def edit(spec: mujoco.MjSpec) -> None:
            for side in (-1, 1):
                add_wall(spec, f"corridor_{'left' if side > 0 else 'right'}",
                         ((x0 + x1) / 2, side * (half_width + 0.1), 0.3), ((x1 - x0) / 2, 0.1, 0.3))
            half = self.BLOCK_HALF
            add_free_body(spec, "block", mujoco.mjtGeom.mjGEOM_BOX, (half, half, half), 5.0, (0.3, 0.5, 0.8, 1),
                          pos=(x0 + 1.0, 0, half))

        super().__init__("ant_light_push", episode_length, success_threshold, backend, terminate_when_unhealthy,
                         healthy_z_range, goal_space, edit)
        self.block_q = self.joint_qpos("block")
        self.object_indices = (self.block_q, self.block_q + 1)  # the block xy: it must leave the corridor

    def place(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        y = jax.random.uniform(rng, (), minval=-0.5, maxval=0.5)
        return q.at[self.block_q + 1].set(y)

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        far = self.CORRIDOR[1] + 1.5
        offset = jax.random.uniform(rng, (2,), minval=-self.goal_range, maxval=self.goal_range)
        return jnp.array([far, 0.0]) + offset
