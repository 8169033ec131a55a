"""JaxGCRL's humanoid (jaxgcrl 0.2.8 jaxgcrl/envs/humanoid.py) on brax's scene `brax/envs/assets/humanoid.xml`.

scene: brax's humanoid.xml + JaxGCRL's changes made at load time: every geom's contype 0 -> 1
       (JaxGCRL's default geom class has contype 1, so every body geom, not only the feet,
       touches the floor; body-body contacts stay off, conaffinity 0), a target body at z 1.25
       (slide joints x, y, range +-20 m, sphere radius 0.5, mass 1, no collisions) and a 150 m
       floor (brax: 20 m)
state (state_dim 268) = JaxGCRL's observation without its last 3 values, over all 12 links
    (11 humanoid bodies + the target) and all joints (the target's included):
    qpos (26: torso xyz, quaternion wxyz, 17 joint angles, target xy)
    ++ qvel (25: torso linear, angular, 17 joints, target xy)
    ++ cinert (12 x 10: each link's inertia tensor (9) about the centre of mass, then its mass)
    ++ cvel (12 x 6: mass / total mass * velocity of the link's inertial point (3), angular velocity (3))
    ++ qfrc_actuator (25: brax.actuator.to_tau of the applied control)
    the centre of mass counts the target's mass 1 (as JaxGCRL); on 'spring' / 'positional' the
    inertias are brax's spring-scaled ones (humanoid.xml: spring_inertia_scale 1, so identity tensors)
goal_indices = (0, 1, 2): the torso xyz; obs = state ++ goal = 271 values (JaxGCRL's obs, goal = target xy, 1.25)
action = 17 values in [-1, 1], scaled to the motors' ctrlrange [-0.4, 0.4] (gears 25 to 300 in the scene;
    350 and 100 on 'spring' / 'positional')
goal = (d cos a, d sin a, 1.25), d ~ U(min_goal_dist, max_goal_dist) = U(1, 5) m, a ~ U(0, 2 pi)
    (denser near the origin, as JaxGCRL)
start: init_qpos + U(-reset_noise_scale, reset_noise_scale) on qpos and qvel, JaxGCRL's default
    reset_noise_scale 0: standing still at the origin, torso z 1.4; the target at the goal, at rest
success: ||torso xyz - goal|| < 0.5 after the step; done: torso z outside (1.0, 2.0); episodes of 1001 steps
dt = 0.015 s: 'spring' (JaxGCRL's default) and 'positional' timestep 0.0015 x 10 frames,
    'generalized' and 'mjx' 0.003 x 5 (mjx: Newton, 1 iteration, 4 line-search iterations, no Euler damping)
reward = -dist (JaxGCRL: success, or a dense shaping); CRL reads neither
A fresh goal every episode, also after auto-reset (JaxGCRL keeps the first goal after its
auto-reset, JaxGCRL issue #53); that is crlx's deliberate difference.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from brax import actuator, math
from brax.envs.base import State

from crlx.envs.brax_scene import HUMANOID_SETTINGS, JAXGCRL_EPISODE_LENGTH, add_target, brax_scene_spec, set_floor_size
from crlx.envs.physics import check_min_max, check_positive
from crlx.envs.target_env import TargetGoalEnv

TARGET_Z = 1.25
"""the goal's fixed height (m): JaxGCRL's target body z, near the standing torso's z"""


def humanoid_scene(floor: float = 150.0, target_range: float = 20.0) -> mujoco.MjSpec:
    """brax's humanoid.xml with JaxGCRL's contact flags, target body and floor size."""
    spec = brax_scene_spec("humanoid.xml")
    for geom in spec.geoms:  # brax: only the feet have contype 1; JaxGCRL's default class gives it to all
        geom.contype = 1
    set_floor_size(spec, floor)
    add_target(spec, "xy", z=TARGET_Z, radius=0.5, joint_range=target_range)
    return spec


class Humanoid(TargetGoalEnv):
    """Humanoid navigation; success when the torso xyz is within `success_threshold` (m) of the goal."""

    goal_indices = (0, 1, 2)
    env_name = "humanoid"

    def __init__(
        self,
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.5,
        backend: str = "spring",
        min_goal_dist: float = 1.0,
        max_goal_dist: float = 5.0,
        reset_noise_scale: float = 0.0,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (1.0, 2.0),
        goal_space: str | None = None,
    ):
        name = type(self).env_name
        check_positive(name, max_goal_dist=max_goal_dist)
        check_min_max(name, "min_goal_dist", min_goal_dist, "max_goal_dist", max_goal_dist)
        self.min_goal_dist, self.max_goal_dist = float(min_goal_dist), float(max_goal_dist)
        self.set_reset_noise(name, reset_noise_scale)
        super().__init__(name, humanoid_scene(), HUMANOID_SETTINGS, episode_length, success_threshold, backend,
                         terminate_when_unhealthy, healthy_z_range, goal_space)
        self.finish_init()

    def finish_init(self) -> None:
        """The observed inertias and state_dim, once the scene is built (also for crlx.envs.humanoid_maze)."""
        self._inertia = self._observed_inertia()
        links, nv = self.sys.num_links(), self.sys.qd_size()
        self.state_dim = self.sys.q_size() + nv + 10 * links + 6 * links + nv  # 26 + 25 + 120 + 72 + 25 = 268

    def _observed_inertia(self):
        """The link inertias the observation uses: brax's, spring-scaled on 'spring' / 'positional'."""
        inertia = self.sys.link.inertia
        if self.backend in ("spring", "positional"):
            diagonal = np.diagonal(np.asarray(inertia.i), axis1=1, axis2=2)  # (L, 3)
            scaled = diagonal ** (1.0 - float(self.sys.spring_inertia_scale))
            inertia = inertia.replace(i=jnp.asarray(np.eye(3) * scaled[:, None, :]),  # (L, 3, 3) diagonal
                                      mass=inertia.mass ** (1.0 - float(self.sys.spring_mass_scale)))
        return inertia

    def sample_goal(self, rng: jax.Array) -> jax.Array:
        """(3,) d (cos a, sin a) at z = TARGET_Z, d ~ U(min_goal_dist, max_goal_dist), a ~ U(0, 2 pi)."""
        dist_rng, angle_rng = jax.random.split(rng)
        dist = jax.random.uniform(dist_rng, minval=self.min_goal_dist, maxval=self.max_goal_dist)
        angle = 2.0 * jnp.pi * jax.random.uniform(angle_rng)
        return jnp.stack([dist * jnp.cos(angle), dist * jnp.sin(angle), jnp.asarray(TARGET_Z)])

    def control(self, action: jax.Array) -> jax.Array:
        """(17,) action in [-1, 1] -> motor control in each actuator's ctrlrange (affine)."""
        low, high = self.sys.actuator.ctrl_range[:, 0], self.sys.actuator.ctrl_range[:, 1]
        return low + (jnp.clip(action, -1.0, 1.0) + 1.0) * 0.5 * (high - low)

    def observe(self, pipeline_state, ctrl: jax.Array) -> jax.Array:
        """(state_dim,) JaxGCRL's humanoid state: qpos, qvel, cinert, cvel, qfrc_actuator (see module doc)."""
        inertia = self._inertia
        mass = inertia.mass  # (L,)
        x_i = pipeline_state.x.vmap().do(inertia.transform)  # (L,) inertial frames in the world
        com = jnp.sum(mass[:, None] * x_i.pos, axis=0) / jnp.sum(mass)  # (3,)
        # inertia about the centre of mass, world axes: R I R^T + m (|r|^2 1 - r r^T), r = x_i - com
        rot = jax.vmap(math.quat_to_3x3)(x_i.rot)  # (L, 3, 3)
        r = x_i.pos - com  # (L, 3)
        parallel = jnp.sum(r * r, axis=-1)[:, None, None] * jnp.eye(3) - r[:, :, None] * r[:, None, :]
        cinert = rot @ inertia.i @ jnp.swapaxes(rot, -1, -2) + mass[:, None, None] * parallel  # (L, 3, 3)
        # velocity of each inertial point: v + w x (x_i - x), weighted by mass / total mass
        ang = pipeline_state.xd.ang  # (L, 3)
        vel = pipeline_state.xd.vel + jnp.cross(ang, x_i.pos - pipeline_state.x.pos)  # (L, 3)
        cvel = jnp.concatenate([mass[:, None] * vel / jnp.sum(mass), ang], axis=-1)  # (L, 6)
        qfrc = actuator.to_tau(self.sys, ctrl, pipeline_state.q, pipeline_state.qd)  # (nv,)
        return jnp.concatenate([
            pipeline_state.q,
            pipeline_state.qd,
            jnp.concatenate([cinert.reshape(-1, 9), mass[:, None]], axis=-1).ravel(),
            cvel.ravel(),
            qfrc,
        ])

    def reset(self, rng: jax.Array) -> State:
        q_rng, qd_rng, goal_rng, place_rng = jax.random.split(rng, 4)
        noise = self.reset_noise
        q = self.sys.init_q + jax.random.uniform(q_rng, (self.sys.q_size(),), minval=-noise, maxval=noise)
        qd = jax.random.uniform(qd_rng, (self.sys.qd_size(),), minval=-noise, maxval=noise)
        goal = self.sample_goal(goal_rng)
        q = self.place(place_rng, q.at[-2:].set(goal[:2]), goal)
        pipeline_state = self.pipeline_init(q, qd.at[-2:].set(0.0))
        return self.first_state(pipeline_state, self.observe(pipeline_state, jnp.zeros(self.action_size)), goal)

    def step(self, state: State, action: jax.Array) -> State:
        """Scale the action to the motors' range, step the physics, observe with the applied control."""
        ctrl = self.control(action)
        pipeline_state = self.pipeline_step(state.pipeline_state, ctrl)
        return self.next_state(state, pipeline_state, self.observe(pipeline_state, ctrl), self._done(pipeline_state))
