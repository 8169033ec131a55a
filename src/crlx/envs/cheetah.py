"""Planar cheetah (MJCF scene `cheetah.xml`): run the torso to a goal x position.

state (state_dim 18) = qpos (9: torso x, torso z offset, torso pitch, 6 leg joint angles)
                       ++ qvel (9)
goal_indices = (0,): the torso x; goal_dim 1
action = 6 joint torque commands in [-1, 1] (back and front thigh, shin, foot)
goal = s * U(goal_min, goal_max), s = +-1 with equal odds (default 1..5 m either way, so the
       farthest goals sit at the JaxGCRL target of 5 m)
start: qpos ~ U(-0.1, 0.1), qvel ~ 0.1 * N(0, 1); no termination (episodes end by time)
reward = -|x - g|; dt = 0.05 s (timestep 0.01, n_frames 5); backends "mjx" (default), "generalized"
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from brax.envs.base import State

from crlx.envs.base import EnvSpec
from crlx.envs.physics import PhysicsGoalEnv, check_min_max, check_positive


class Cheetah(PhysicsGoalEnv):
    """Planar runner; success when the torso x is within `success_threshold` (m) of the goal."""

    state_dim = 18
    goal_indices = (0,)
    backends = ("mjx", "generalized")

    def __init__(
        self,
        episode_length: int = 1000,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        goal_min: float = 1.0,
        goal_max: float = 5.0,
        goal_space: str | None = None,
    ):
        check_positive("cheetah", episode_length=episode_length, success_threshold=success_threshold,
                       goal_max=goal_max)
        check_min_max("cheetah", "goal_min", goal_min, "goal_max", goal_max)
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
        self.goal_min, self.goal_max = float(goal_min), float(goal_max)
        super().__init__("cheetah.xml", backend=backend, n_frames=5)
        self.select_goal_space(goal_space)

    def reset(self, rng: jax.Array) -> State:
        q_rng, qd_rng, side_rng, goal_rng = jax.random.split(rng, 4)
        q = jax.random.uniform(q_rng, (self.sys.q_size(),), minval=-0.1, maxval=0.1)
        qd = 0.1 * jax.random.normal(qd_rng, (self.sys.qd_size(),))
        pipeline_state = self.pipeline_init(q, qd)
        side = jnp.where(jax.random.bernoulli(side_rng), 1.0, -1.0)
        goal = side * jax.random.uniform(goal_rng, (1,), minval=self.goal_min, maxval=self.goal_max)
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)
