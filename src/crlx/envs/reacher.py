"""JaxGCRL's reacher (jaxgcrl 0.2.8 jaxgcrl/envs/reacher.py) on brax's scene `brax/envs/assets/reacher.xml`.

scene: brax's reacher.xml unchanged (it already has the target body on slide joints x, y)
state (state_dim 10) = [cos q0, cos q1, sin q0, sin q1, tip xyz (3), tip velocity (3)]
    q0 shoulder, q1 elbow; tip = the point 0.11 m along the forearm (the fingertip), world frame
goal_indices = (4, 5, 6): the tip xyz; goal = the target's xyz (z = 0.01, the arm's plane);
    obs = 13 values, JaxGCRL's layout (state ++ target position)
action = shoulder and elbow torques in [-1, 1] (gear 200; 25 on 'spring' / 'positional')
goal: radius 0.2 * U(0, 1), angle U(0, 2 pi) around the base (as JaxGCRL; denser near the base)
start: init_qpos + U(-0.1, 0.1) on both joints, joint velocities U(-0.005, 0.005)
success: ||tip - goal|| < 0.05; no termination; episodes of 1001 steps
dt = 0.02 s: timestep 0.01 x 2 frames ('generalized', JaxGCRL's default, and 'mjx'),
    0.005 x 4 on 'spring' / 'positional'
A fresh goal every episode, also after auto-reset (JaxGCRL issue #53: crlx's deliberate difference).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from brax import base
from brax.envs.base import State

from crlx.envs.base import EnvSpec
from crlx.envs.brax_scene import JAXGCRL_EPISODE_LENGTH, REACHER_SETTINGS, brax_scene_spec
from crlx.envs.physics import BACKENDS, PhysicsGoalEnv, check_positive

TIP = base.Transform.create(pos=jnp.array([0.11, 0.0, 0.0]))
"""the fingertip in the forearm's frame"""
ARM, TARGET = 1, 2
"""brax link indices of the forearm and of the target"""


class Reacher(PhysicsGoalEnv):
    """Two-link arm; success when the fingertip is within `success_threshold` (m) of the goal."""

    state_dim = 10
    goal_indices = (4, 5, 6)
    backends = BACKENDS

    def __init__(
        self,
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.05,
        backend: str = "generalized",
        goal_radius: float = 0.2,
        goal_space: str | None = None,
    ):
        check_positive("reacher", episode_length=episode_length, success_threshold=success_threshold,
                       goal_radius=goal_radius)
        if goal_radius > 0.21:
            raise ValueError(f"reacher: goal_radius must be <= 0.21 (the arm's reach), got {goal_radius}")
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
        self.goal_radius = float(goal_radius)
        super().__init__(brax_scene_spec("reacher.xml"), backend=backend, settings=REACHER_SETTINGS)
        self.select_goal_space(goal_space)

    def _state_vec(self, pipeline_state) -> jax.Array:
        theta = pipeline_state.q[:2]
        tip = pipeline_state.x.take(ARM).do(TIP).pos
        tip_vel = TIP.do(pipeline_state.xd.take(ARM)).vel
        return jnp.concatenate([jnp.cos(theta), jnp.sin(theta), tip, tip_vel])

    def reset(self, rng: jax.Array) -> State:
        q_rng, qd_rng, r_rng, a_rng = jax.random.split(rng, 4)
        q = self.sys.init_q + jax.random.uniform(q_rng, (self.sys.q_size(),), minval=-0.1, maxval=0.1)
        qd = jax.random.uniform(qd_rng, (self.sys.qd_size(),), minval=-0.005, maxval=0.005)
        radius = self.goal_radius * jax.random.uniform(r_rng)
        angle = 2.0 * jnp.pi * jax.random.uniform(a_rng)
        q = q.at[2:].set(radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)]))
        pipeline_state = self.pipeline_init(q, qd.at[2:].set(0.0))
        goal = pipeline_state.x.pos[TARGET]
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)
