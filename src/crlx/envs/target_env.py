"""JaxGCRL's task pattern on a brax scene: the goal is a collision-free "target" body on slide joints.

The scene carries the target's joints last (see crlx.envs.brax_scene.add_target), k = len(axes):
state = qpos[:-k] ++ qvel[:-k] (everything but the target), state_dim = nq + nv - 2k
goal  = the target's position on its axes = qpos[-k:]; the target sits at the goal all episode
        (it has no actuator, no damping and starts at rest), so renders show the goal
start (jaxgcrl/envs/ant.py reset): qpos = init_qpos + U(-reset_noise, reset_noise) on every entry,
      qvel = reset_noise * N(0, 1), target qpos = goal and qvel = 0; then `place` may move the body
done: with terminate_when_unhealthy, the first body's z (the torso) outside healthy_z_range
A fresh goal every episode, also after auto-reset (JaxGCRL keeps the first goal after its
auto-reset, JaxGCRL issue #53); that is crlx's deliberate difference.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
from brax.envs.base import State

from crlx.envs.brax_scene import BackendSettings
from crlx.envs.physics import BACKENDS, PhysicsGoalEnv, set_walker_options


class TargetGoalEnv(PhysicsGoalEnv):
    """Shared reset / state / termination; tasks set the class constants and override `sample_goal`
    (and `place` for their start)."""

    target_axes: str = "xy"
    reset_noise: float = 0.1
    """U(-reset_noise, reset_noise) on qpos, reset_noise * N(0, 1) on qvel"""
    backends = BACKENDS

    def __init__(self, name: str, scene: mujoco.MjSpec, settings: BackendSettings, episode_length: int,
                 success_threshold: float, backend: str, terminate_when_unhealthy: bool,
                 healthy_z_range: tuple[float, float], goal_space: str | None):
        set_walker_options(self, name, episode_length, success_threshold, backend, terminate_when_unhealthy,
                           healthy_z_range)
        super().__init__(scene, backend=backend, settings=settings)
        k = len(self.target_axes)
        self.state_dim = self.mj_model.nq + self.mj_model.nv - 2 * k
        self.select_goal_space(goal_space)

    def set_reset_noise(self, name: str, reset_noise_scale: float) -> None:
        """Set `reset_noise` from a task's `reset_noise_scale` option; ValueError naming it when < 0."""
        if not reset_noise_scale >= 0:
            raise ValueError(f"{name}: reset_noise_scale must be >= 0, got {reset_noise_scale!r}")
        self.reset_noise = float(reset_noise_scale)

    def noisy_start(self, q_rng: jax.Array, qd_rng: jax.Array) -> tuple[jax.Array, jax.Array]:
        """init qpos + U(-reset_noise, reset_noise) and qvel ~ reset_noise * N(0, 1), both (q_size,) / (qd_size,)."""
        noise = self.reset_noise
        q = self.sys.init_q + jax.random.uniform(q_rng, (self.sys.q_size(),), minval=-noise, maxval=noise)
        return q, noise * jax.random.normal(qd_rng, (self.sys.qd_size(),))

    def sample_goal(self, rng: jax.Array) -> jax.Array:
        """(k,) the episode's target position."""
        raise NotImplementedError

    def place(self, rng: jax.Array, q: jax.Array, goal: jax.Array) -> jax.Array:
        """The start qpos given the noisy init qpos and the goal; default: as drawn."""
        return q

    def _state_vec(self, pipeline_state) -> jax.Array:
        k = len(self.target_axes)
        return jnp.concatenate([pipeline_state.q[:-k], pipeline_state.qd[:-k]])

    def _done(self, pipeline_state) -> jax.Array:
        if not self.terminate_when_unhealthy:
            return jnp.zeros(())
        z = pipeline_state.x.pos[0, 2]
        low, high = self.healthy_z_range
        return jnp.where((z < low) | (z > high), 1.0, 0.0)

    def reset(self, rng: jax.Array) -> State:
        q_rng, qd_rng, goal_rng, place_rng = jax.random.split(rng, 4)
        k = len(self.target_axes)
        q, qd = self.noisy_start(q_rng, qd_rng)
        goal = self.sample_goal(goal_rng)
        q = self.place(place_rng, q.at[-k:].set(goal), goal)
        pipeline_state = self.pipeline_init(q, qd.at[-k:].set(0.0))
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)
