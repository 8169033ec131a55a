"""crlx's own light humanoid (MJCF scene `envs/humanoid.xml`): walk the torso to a goal point.

JaxGCRL's `humanoid` (brax's humanoid.xml, a 271-value observation) is crlx.envs.humanoid;
this compact body (a 50-value observation) is `humanoid_light` and the body of the `humanoid_light_*_maze` envs.


state (state_dim 47) = qpos (24: torso xyz, torso quaternion wxyz, 17 joint angles)
                       ++ qvel (23)
goal_indices = (0, 1, 2): the torso xyz; goal_dim 3
action = 17 joint torque commands in [-1, 1] (abdomen 3, legs 2 x 4, arms 2 x 3)
goal = torso start xy + U(goal_min, goal_max) * (random unit direction), z = STAND_HEIGHT
       (default 1..5 m away); threshold 0.5 m
start: standing (torso z 1.4, settling to ~1.35) + U(-0.01, 0.01) on qpos, qvel ~ 0.01 * N(0, 1)
done: the torso z leaves healthy_z_range (default (1.0, 2.0)): it fell
reward = -dist; dt = 0.015 s (timestep 0.005, n_frames 3); backends "mjx" (default), "generalized"
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from crlx.envs.ant_light import random_direction
from crlx.envs.physics import check_min_max, check_positive
from crlx.envs.walker import Walker

STAND_HEIGHT = 1.35
"""torso z (m) of the humanoid standing on its feet"""


class HumanoidBase(Walker):
    """The humanoid walker; tasks override `place` and `sample_goal`."""

    asset = "humanoid.xml"
    n_frames = 3
    body_qpos, body_qvel = 24, 23
    qpos_noise, qvel_noise = 0.01, 0.01


class HumanoidLight(HumanoidBase):
    """Success when the torso xyz is within `success_threshold` (m) of the goal."""

    goal_indices = (0, 1, 2)

    def __init__(
        self,
        episode_length: int = 1000,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        goal_min: float = 1.0,
        goal_max: float = 5.0,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (1.0, 2.0),
        goal_space: str | None = None,
    ):
        check_positive("humanoid_light", goal_max=goal_max)
        check_min_max("humanoid_light", "goal_min", goal_min, "goal_max", goal_max)
        self.goal_min, self.goal_max = float(goal_min), float(goal_max)
        super().__init__("humanoid_light", episode_length, success_threshold, backend, terminate_when_unhealthy,
                         healthy_z_range, goal_space)

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        distance_rng, direction_rng = jax.random.split(rng)
        distance = jax.random.uniform(distance_rng, (), minval=self.goal_min, maxval=self.goal_max)
        return jnp.append(q[:2] + distance * random_direction(direction_rng), STAND_HEIGHT)
