"""JaxGCRL's ant (jaxgcrl 0.2.8 jaxgcrl/envs/ant.py) on brax's scene `brax/envs/assets/ant.xml`.

scene: brax's ant.xml + JaxGCRL's changes made at load time: a target body (slide joints x, y,
       range +-20 m, sphere radius 0.9, no collisions) and a 150 m floor (brax: 40 m)
state (state_dim 29) = ant qpos (15: torso xyz, quaternion wxyz, 8 joint angles) ++ ant qvel (14)
goal_indices = (0, 1): the torso xy; obs = state ++ goal = 31 values (JaxGCRL's obs, goal = target xy)
action = 8 joint torques in [-1, 1] (brax's gear 150; 200 on 'positional')
goal = goal_distance * (cos a, sin a), a ~ U(0, 2 pi): on a circle of 10 m around the origin
start: init_qpos + U(-0.1, 0.1) on every qpos, qvel ~ 0.1 * N(0, 1) (torso near the origin)
ant_random_start: the torso starts at goal + goal_distance * (cos b, sin b), b ~ U(0, 2 pi)
done: torso z outside (0.2, 1.0); success: ||torso xy - goal|| < 0.5; episodes of 1001 steps
dt = 0.05 s: 'spring' (JaxGCRL's default) and 'positional' timestep 0.005 x 10 frames,
    'generalized' and 'mjx' 0.01 x 5 (mjx: Newton, 1 iteration, 4 line-search iterations)
reward = -dist (JaxGCRL: success, or a dense shaping); CRL reads neither
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco

from crlx.envs.brax_scene import ANT_SETTINGS, JAXGCRL_EPISODE_LENGTH, add_target, brax_scene_spec, set_floor_size
from crlx.envs.physics import check_positive
from crlx.envs.target_env import TargetGoalEnv

def ant_scene(floor: float = 150.0, target_range: float = 20.0) -> mujoco.MjSpec:
    """brax's ant.xml with JaxGCRL's target body and floor size."""
    spec = brax_scene_spec("ant.xml")
    set_floor_size(spec, floor)
    add_target(spec, "xy", z=0.01, radius=0.9, joint_range=target_range)
    return spec


def circle_point(rng: jax.Array, radius: float) -> jax.Array:
    """(2,) radius * (cos a, sin a), a ~ U(0, 2 pi)."""
    angle = 2.0 * jnp.pi * jax.random.uniform(rng)
    return radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)])


class Ant(TargetGoalEnv):
    """Quadruped navigation; success when the torso xy is within `success_threshold` (m) of the goal."""

    goal_indices = (0, 1)

    def __init__(
        self,
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.5,
        backend: str = "spring",
        goal_distance: float = 10.0,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        goal_space: str | None = None,
    ):
        name = type(self).env_name
        check_positive(name, goal_distance=goal_distance)
        self.goal_distance = float(goal_distance)
        super().__init__(name, ant_scene(), ANT_SETTINGS, episode_length, success_threshold, backend,
                         terminate_when_unhealthy, healthy_z_range, goal_space)

    env_name = "ant"

    def sample_goal(self, rng: jax.Array) -> jax.Array:
        return circle_point(rng, self.goal_distance)


class AntRandomStart(Ant):
    """JaxGCRL's ant_random_start: the torso starts goal_distance from the goal in a random direction."""

    env_name = "ant_random_start"

    def place(self, rng: jax.Array, q: jax.Array, goal: jax.Array) -> jax.Array:
        return q.at[:2].set(goal + circle_point(rng, self.goal_distance))
