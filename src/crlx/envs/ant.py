"""Ant quadruped (MJCF scene `ant.xml`): walk the torso to a goal point on the floor.

state (state_dim 29) = qpos (15: torso xyz, torso quaternion wxyz, 8 joint angles)
                       ++ qvel (14: torso linear and angular velocity, 8 joint velocities)
goal_indices = (0, 1): the torso xy; goal_dim 2
action = 8 joint torque commands in [-1, 1] (hip, ankle per leg; motor gear 75)
goal = goal_distance * (cos a, sin a), a ~ U(-pi, pi): a point on a circle around the origin
start: the scene's "home" keyframe + U(-0.1, 0.1) on every qpos (quaternion renormalized),
       qvel ~ 0.1 * N(0, 1)
done: torso z outside healthy_z_range (when terminate_when_unhealthy), else only by time
reward = -||torso_xy - g||
dt = 0.05 s (timestep 0.01, n_frames 5); backends "mjx" (default) and "generalized"
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from brax.envs.base import State

from crlx.envs.base import EnvSpec
from crlx.envs.physics import PhysicsGoalEnv, check_positive


class Ant(PhysicsGoalEnv):
    """Quadruped navigation; success when the torso xy is within `success_threshold` (m) of the goal."""

    state_dim = 29
    goal_indices = (0, 1)
    backends = ("mjx", "generalized")
    """brax's 'positional' and 'spring' pipelines blow up or ignore damping on this scene at dt 0.01"""

    def __init__(
        self,
        episode_length: int = 1000,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        goal_distance: float = 10.0,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
    ):
        check_positive(
            "ant", episode_length=episode_length, success_threshold=success_threshold, goal_distance=goal_distance
        )
        if len(healthy_z_range) != 2 or not healthy_z_range[0] < healthy_z_range[1]:
            raise ValueError(f"ant: healthy_z_range must be (low, high) with low < high, got {healthy_z_range!r}")
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
        self.goal_distance = float(goal_distance)
        self.terminate_when_unhealthy = bool(terminate_when_unhealthy)
        self.healthy_z_range = (float(healthy_z_range[0]), float(healthy_z_range[1]))
        super().__init__("ant.xml", backend=backend, n_frames=5)
        self._home = np.array(self.mj_model.key_qpos[0], dtype=np.float32)

    def _state_vec(self, pipeline_state) -> jax.Array:
        return jnp.concatenate([pipeline_state.q, pipeline_state.qd])

    def _done(self, pipeline_state) -> jax.Array:
        if not self.terminate_when_unhealthy:
            return jnp.zeros(())
        z = pipeline_state.q[2]
        low, high = self.healthy_z_range
        return jnp.where((z < low) | (z > high), 1.0, 0.0)

    def reset(self, rng: jax.Array) -> State:
        q_rng, qd_rng, goal_rng = jax.random.split(rng, 3)
        q = jnp.asarray(self._home) + jax.random.uniform(q_rng, self._home.shape, minval=-0.1, maxval=0.1)
        q = q.at[3:7].set(q[3:7] / jnp.linalg.norm(q[3:7]))
        qd = 0.1 * jax.random.normal(qd_rng, (self.sys.qd_size(),))
        pipeline_state = self.pipeline_init(q, qd)
        angle = jax.random.uniform(goal_rng, (), minval=-jnp.pi, maxval=jnp.pi)
        goal = self.goal_distance * jnp.stack([jnp.cos(angle), jnp.sin(angle)])
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)

    def step(self, state: State, action: jax.Array) -> State:
        pipeline_state = self.pipeline_step(state.pipeline_state, jnp.clip(action, -1.0, 1.0))
        return self.next_state(state, pipeline_state, self._state_vec(pipeline_state), self._done(pipeline_state))
