"""Planar two-link reacher (MJCF scene `reacher.xml`): bring the fingertip to a goal point.

state (state_dim 8) = [cos q0, cos q1, sin q0, sin q1, qd0, qd1, tip_x, tip_y]
    q0 shoulder angle, q1 elbow angle (limited to +-3 rad), tip = fingertip xy in the world
    frame (m); the arm moves in the plane z = 0.01, so z carries no information and is left out
goal_indices = (6, 7): the fingertip xy; goal_dim 2
action = shoulder and elbow torque commands in [-1, 1]^2 (motor gear 10)
goal ~ uniform over the annulus goal_min_radius <= |g| <= goal_max_radius around the base
    (link lengths 0.10 + 0.11 m: the tip reaches radii ~[0.02, 0.21])
start: q0 ~ U(-pi, pi), q1 ~ U(-0.1, 0.1), joint velocities ~ U(-0.005, 0.005)
reward = -||tip - g||;  no termination (episodes end by time)
dt = 0.02 s (timestep 0.01, n_frames 2); backends "mjx" (default) and "generalized"
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from brax.envs.base import State

from crlx.envs.base import EnvSpec
from crlx.envs.physics import PhysicsGoalEnv, check_min_max, check_positive

MAX_REACH = 0.21
"""upper arm 0.10 m + forearm 0.11 m"""


class Reacher(PhysicsGoalEnv):
    """Two-link arm; success when the fingertip is within `success_threshold` (m) of the goal."""

    state_dim = 8
    goal_indices = (6, 7)
    backends = ("mjx", "generalized")
    """brax's 'positional' and 'spring' pipelines blow up or ignore damping on this scene at dt 0.01"""

    def __init__(
        self,
        episode_length: int = 50,
        success_threshold: float = 0.05,
        backend: str = "mjx",
        goal_min_radius: float = 0.05,
        goal_max_radius: float = 0.2,
        goal_space: str | None = None,
    ):
        check_positive("reacher", episode_length=episode_length, success_threshold=success_threshold)
        check_min_max("reacher", "goal_min_radius", goal_min_radius, "goal_max_radius", goal_max_radius)
        if not 0.0 < goal_max_radius <= MAX_REACH:
            raise ValueError(
                f"reacher: goal_max_radius must be in (0, {MAX_REACH}] (the arm's reach), got {goal_max_radius}"
            )
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
        self.goal_min_radius = goal_min_radius
        self.goal_max_radius = goal_max_radius
        super().__init__("reacher.xml", backend=backend, n_frames=2)
        self._tip = self.geom_anchor("fingertip")  # a geom of the forearm
        self.select_goal_space(goal_space)

    def _state_vec(self, pipeline_state) -> jax.Array:
        q, qd = pipeline_state.q, pipeline_state.qd
        tip = self.world_position(pipeline_state, self._tip)[:2]
        return jnp.concatenate([jnp.cos(q), jnp.sin(q), qd, tip])

    def _sample_goal(self, rng: jax.Array) -> jax.Array:
        r_rng, a_rng = jax.random.split(rng)
        # uniform over the annulus: radius^2 is uniform
        r2 = jax.random.uniform(r_rng, (), minval=self.goal_min_radius**2, maxval=self.goal_max_radius**2)
        angle = jax.random.uniform(a_rng, (), minval=-jnp.pi, maxval=jnp.pi)
        return jnp.sqrt(r2) * jnp.stack([jnp.cos(angle), jnp.sin(angle)])

    def reset(self, rng: jax.Array) -> State:
        q0_rng, q1_rng, qd_rng, goal_rng = jax.random.split(rng, 4)
        q = jnp.stack(
            [
                jax.random.uniform(q0_rng, (), minval=-jnp.pi, maxval=jnp.pi),
                jax.random.uniform(q1_rng, (), minval=-0.1, maxval=0.1),
            ]
        )
        qd = jax.random.uniform(qd_rng, (2,), minval=-0.005, maxval=0.005)
        pipeline_state = self.pipeline_init(q, qd)
        goal = self._sample_goal(goal_rng)
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)
