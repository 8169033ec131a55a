"""JaxGCRL's cheetah (jaxgcrl 0.2.8 jaxgcrl/envs/half_cheetah.py) on brax's scene `half_cheetah.xml`.

scene: brax's half_cheetah.xml + JaxGCRL's changes made at load time: a target body on one slide
       joint x (range +-20 m, no collisions) and a 150 m floor (brax: 40 m)
state (state_dim 18) = qpos (9: root x, root z, root pitch, 6 leg joint angles) ++ qvel (9)
goal_indices = (0,): the root x; obs = 19 values (state ++ target x)
action = 6 joint torques in [-1, 1] (back / front thigh, shin, foot)
goal: x = goal_x = 5 m, the same every episode (as JaxGCRL)
start: init_qpos + U(-0.1, 0.1) on every qpos, qvel ~ 0.1 * N(0, 1)
success: |x - goal| < 0.5; no termination; episodes of 1001 steps
dt = 0.05 s: timestep 0.01 x 5 frames on 'mjx' (JaxGCRL's default) and 'generalized',
     0.003125 x 16 on 'spring' / 'positional' (with brax's spring gears)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco

from crlx.envs.brax_scene import CHEETAH_SETTINGS, JAXGCRL_EPISODE_LENGTH, add_target, brax_scene_spec, set_floor_size
from crlx.envs.target_env import TargetGoalEnv


def cheetah_scene() -> mujoco.MjSpec:
    spec = brax_scene_spec("half_cheetah.xml")
    set_floor_size(spec, 150.0)
    add_target(spec, "x", z=0.01, radius=0.9, joint_range=20.0)
    return spec


class Cheetah(TargetGoalEnv):
    """Planar runner; success when the root x is within `success_threshold` (m) of the goal."""

    goal_indices = (0,)
    target_axes = "x"

    def __init__(
        self,
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        goal_x: float = 5.0,
        goal_space: str | None = None,
    ):
        if not -20.0 <= goal_x <= 20.0:
            raise ValueError(f"cheetah: goal_x must be in [-20, 20] (the target joint's range), got {goal_x}")
        self.goal_x = float(goal_x)
        super().__init__("cheetah", cheetah_scene(), CHEETAH_SETTINGS, episode_length, success_threshold, backend,
                         False, (-jnp.inf, jnp.inf), goal_space)

    def sample_goal(self, rng: jax.Array) -> jax.Array:
        return jnp.full((1,), self.goal_x)
