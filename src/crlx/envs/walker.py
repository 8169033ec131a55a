"""A legged body on a free joint (ant, humanoid) whose torso is sent to goals.

state = qpos ++ qvel of the whole scene: the walker's own qpos (torso xyz, quaternion wxyz,
        joint angles) and qvel come first, then those of any free bodies a task adds
start: the scene's home pose (keyframe 0, else qpos0) + U(-qpos_noise, qpos_noise) on the
       walker's qpos (quaternion renormalized), walker qvel ~ qvel_noise * N(0, 1); then the
       task's `place` sets the torso xy and its extra bodies
done: torso z outside healthy_z_range (when terminate_when_unhealthy), else only by time
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from brax.envs.base import State

from crlx.envs.physics import PhysicsGoalEnv, set_walker_options


class Walker(PhysicsGoalEnv):
    """Shared walker machinery; subclasses set the class constants, tasks override `place`
    (start layout) and `sample_goal`."""

    asset: str
    n_frames: int
    body_qpos: int
    """size of the walker's own qpos (free joint 7 + hinges)"""
    body_qvel: int
    qpos_noise: float
    qvel_noise: float
    backends = ("mjx", "generalized")
    """brax's 'positional' and 'spring' pipelines blow up or ignore damping on these scenes"""

    def __init__(
        self,
        name: str,
        episode_length: int,
        success_threshold: float,
        backend: str,
        terminate_when_unhealthy: bool,
        healthy_z_range: tuple[float, float],
        goal_space: str | None,
        edit: Callable[[mujoco.MjSpec], None] | None = None,
    ):
        set_walker_options(self, name, episode_length, success_threshold, backend, terminate_when_unhealthy,
                           healthy_z_range)
        super().__init__(self.asset, backend=backend, n_frames=self.n_frames, edit=edit)
        self.state_dim = self.mj_model.nq + self.mj_model.nv
        home = self.mj_model.key_qpos[0] if self.mj_model.nkey else self.mj_model.qpos0
        self._home = np.array(home, dtype=np.float32)
        self.select_goal_space(goal_space)

    def place(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        """Set the start torso xy (q[0:2]) and the extra bodies' qpos; default: leave home."""
        return q

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        raise NotImplementedError

    def _done(self, pipeline_state) -> jax.Array:
        if not self.terminate_when_unhealthy:
            return jnp.zeros(())
        z = pipeline_state.q[2]
        low, high = self.healthy_z_range
        return jnp.where((z < low) | (z > high), 1.0, 0.0)

    def reset(self, rng: jax.Array) -> State:
        q_rng, qd_rng, place_rng, goal_rng = jax.random.split(rng, 4)
        noise = jax.random.uniform(q_rng, (self.body_qpos,), minval=-self.qpos_noise, maxval=self.qpos_noise)
        q = jnp.asarray(self._home).at[: self.body_qpos].add(noise)
        q = q.at[3:7].set(q[3:7] / jnp.linalg.norm(q[3:7]))
        q = self.place(place_rng, q)
        qd_body = self.qvel_noise * jax.random.normal(qd_rng, (self.body_qvel,))
        qd = jnp.zeros((self.sys.qd_size(),)).at[: self.body_qvel].set(qd_body)
        pipeline_state = self.pipeline_init(q, qd)
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), self.sample_goal(goal_rng, q))
