"""JaxGCRL's pushers (jaxgcrl 0.2.8 jaxgcrl/envs/pusher.py) on brax's scene `brax/envs/assets/pusher.xml`.

scene: brax's pusher.xml unchanged: a 7-DoF arm (no gravity), a capsule "object" on slide joints
    (y, x) and a collision-free "goal" marker on slide joints (y, x); qpos = arm (7) ++ object (2)
    ++ goal (2). Positions below are centres of mass (brax link inertia frames), as JaxGCRL reads them.
pusher_easy / pusher_hard:
    state (state_dim 20) = arm q (7) ++ tip xyz (3) ++ object xyz (3) ++ arm qd (7)
        tip = the centre of mass of link r_wrist_flex_link (JaxGCRL's choice: brax fuses tips_arm away)
    goal_indices = (10, 11, 12): the object xyz; goal = the goal marker's xyz; obs = 23 values
    goal spaces: "object" (default, the above) and "object_and_hand": achieved [object, tip - object]
        (6), commanded [goal, 0]; success and dist judge the object alone in both
    start: arm at init_qpos, qvel U(-0.005, 0.005) (object and goal at rest); the object's slide
        offsets (y, x) = (U(-0.3, -1e-6), U(-0.2, 0.2)), scaled by 0.17 / |object - goal| when the
        offsets are closer than 0.17 to the goal's
    goal offsets (y, x): easy (U(-0.3, -1e-6) - 0.25, U(-0.2, 0.2)); hard (U(-0.65, 0.35), U(-0.55, 0.45))
    success: ||object - goal|| < 0.1 (3D: the marker sits 0.048 m below the object's centre)
pusher_reacher (JaxGCRL's PusherReacher):
    state (state_dim 17) = arm q (7) ++ arm qd (7) ++ tip xyz (3); goal_indices = (14, 15, 16)
    start: object offsets (1, 1) (out of the way); goal offsets (U(-0.3, -1e-6), U(-0.2, 0.2))
    success: ||tip - goal|| < 0.1
action = 7 joint torques in [-1, 1] (gear 1; 20 on 'spring' / 'positional'); no termination
dt = 0.05 s: 'generalized' (JaxGCRL's default) and 'mjx' timestep 0.01 x 5 frames,
    'spring' / 'positional' 0.001 x 50; episodes of 1001 steps
Differences, on purpose: a fresh goal every episode, also after auto-reset (JaxGCRL issue #53);
success is measured on the state an action reaches (JaxGCRL measures it on the state before the
step, one step late); reward = -dist (JaxGCRL: the success flag).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from brax import math
from brax.envs.base import State

from crlx.envs.base import EnvSpec, object_goal_spaces
from crlx.envs.brax_scene import JAXGCRL_EPISODE_LENGTH, PUSHER_SETTINGS, brax_scene_spec
from crlx.envs.physics import BACKENDS, PhysicsGoalEnv, check_positive

ARM_DOF = 7
MIN_OFFSET_GAP = 0.17
"""the object's offsets are pushed out to this distance from the goal's (JaxGCRL's rule)"""


class PusherBase(PhysicsGoalEnv):
    """brax's 7-DoF pusher arm, object and goal marker; tasks set the state layout and the draws."""

    backends = BACKENDS

    def __init__(self, name: str, episode_length: int, success_threshold: float, backend: str,
                 goal_space: str | None):
        check_positive(name, episode_length=episode_length, success_threshold=success_threshold)
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
        super().__init__(brax_scene_spec("pusher.xml"), backend=backend, settings=PUSHER_SETTINGS)
        self._links = jnp.array([self.sys.link_names.index(n) for n in ("r_wrist_flex_link", "object", "goal")])
        self.select_goal_space(goal_space)

    def centres(self, pipeline_state) -> jax.Array:
        """(3, 3) centres of mass of the tip link, the object and the goal marker (world xyz)."""
        frames = pipeline_state.x.take(self._links)
        offsets = self.sys.link.inertia.transform.pos[self._links]
        return frames.pos + jax.vmap(math.rotate)(offsets, frames.rot)

    def offsets(self, rng: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(object, goal) slide offsets (2,) each, in the scene's joint order (y, x)."""
        raise NotImplementedError

    def reset(self, rng: jax.Array) -> State:
        offsets_rng, qd_rng = jax.random.split(rng)
        obj, goal = self.offsets(offsets_rng)
        q = self.sys.init_q.at[-4:].set(jnp.concatenate([obj, goal]))
        qd = jax.random.uniform(qd_rng, (self.sys.qd_size(),), minval=-0.005, maxval=0.005).at[-4:].set(0.0)
        pipeline_state = self.pipeline_init(q, qd)
        goal = self.command(self.centres(pipeline_state)[2])
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)


def uniform(rng: jax.Array, low: tuple[float, float], high: tuple[float, float]) -> jax.Array:
    """(2,) U(low, high) per entry."""
    return jax.random.uniform(rng, (2,), minval=jnp.array(low), maxval=jnp.array(high))


class Pusher(PusherBase):
    """Push the object to the goal marker; `kind` "easy" or "hard" sets where the goal is drawn."""

    state_dim = 20
    goal_indices = (10, 11, 12)
    object_indices = (10, 11, 12)
    GOAL_RANGES = {"easy": ((-0.55, -0.2), (-0.25, 0.2)), "hard": ((-0.65, -0.55), (0.35, 0.45))}
    """kind: (low, high) of the goal's slide offsets (y, x)"""

    def __init__(self, kind: str, episode_length: int = JAXGCRL_EPISODE_LENGTH, success_threshold: float = 0.1,
                 backend: str = "generalized", goal_space: str | None = None):
        if kind not in self.GOAL_RANGES:
            raise ValueError(f"pusher: kind must be one of {sorted(self.GOAL_RANGES)}, got {kind!r}")
        self.kind = kind
        super().__init__(f"pusher_{kind}", episode_length, success_threshold, backend, goal_space)

    def goal_spaces(self):
        """object: s[10:13]; object_and_hand: [s[10:13], s[7:10] - s[10:13]] (object, tip minus object)."""
        return object_goal_spaces(lambda s: s[..., 10:13], lambda s: s[..., 7:10])

    def _state_vec(self, pipeline_state) -> jax.Array:
        tip, obj, _ = self.centres(pipeline_state)
        return jnp.concatenate([pipeline_state.q[:ARM_DOF], tip, obj, pipeline_state.qd[:ARM_DOF]])

    def offsets(self, rng: jax.Array) -> tuple[jax.Array, jax.Array]:
        obj_rng, goal_rng = jax.random.split(rng)
        obj = uniform(obj_rng, (-0.3, -0.2), (-1e-6, 0.2))
        goal = uniform(goal_rng, *self.GOAL_RANGES[self.kind])
        gap = jnp.linalg.norm(obj - goal)
        return obj * jnp.where(gap < MIN_OFFSET_GAP, MIN_OFFSET_GAP / gap, 1.0), goal


class PusherEasy(Pusher):
    """JaxGCRL's pusher_easy: the goal's offsets (y, x) in (-0.55, -0.25) x (-0.2, 0.2), past the object's."""

    def __init__(self, episode_length: int = JAXGCRL_EPISODE_LENGTH, success_threshold: float = 0.1,
                 backend: str = "generalized", goal_space: str | None = None):
        super().__init__("easy", episode_length, success_threshold, backend, goal_space)


class PusherHard(Pusher):
    """JaxGCRL's pusher_hard: the goal's offsets (y, x) anywhere in (-0.65, 0.35) x (-0.55, 0.45)."""

    def __init__(self, episode_length: int = JAXGCRL_EPISODE_LENGTH, success_threshold: float = 0.1,
                 backend: str = "generalized", goal_space: str | None = None):
        super().__init__("hard", episode_length, success_threshold, backend, goal_space)


class PusherReacher(PusherBase):
    """JaxGCRL's pusher_reacher: the arm's tip to the goal marker; the object is parked out of reach."""

    state_dim = 17
    goal_indices = (14, 15, 16)

    def __init__(self, episode_length: int = JAXGCRL_EPISODE_LENGTH, success_threshold: float = 0.1,
                 backend: str = "generalized", goal_space: str | None = None):
        super().__init__("pusher_reacher", episode_length, success_threshold, backend, goal_space)

    def _state_vec(self, pipeline_state) -> jax.Array:
        tip = self.centres(pipeline_state)[0]
        return jnp.concatenate([pipeline_state.q[:ARM_DOF], pipeline_state.qd[:ARM_DOF], tip])

    def offsets(self, rng: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jnp.ones(2), uniform(rng, (-0.3, -0.2), (-1e-6, 0.2))
