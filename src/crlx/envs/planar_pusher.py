"""crlx's planar pusher (MJCF scene `envs/planar_pusher.xml`): a three-link arm pushes a block across a table.

state (state_dim 24) = [cos q (3), sin q (3), qd (3), tip xy (2), block qpos (7: xyz,
    quaternion wxyz), block qvel (6)]; q = shoulder, elbow, wrist angles, tip = fingertip xy (m)
action = shoulder, elbow and wrist torque commands in [-1, 1] (motor gear 5)
start: the arm points backward (shoulder ~ pi + U(-0.3, 0.3), elbow and wrist ~ U(-0.1, 0.1)),
    so it never overlaps the block, which lies in front of the base (x > 0)
reward = -dist; no termination (episodes end by time); dt = 0.05 s (timestep 0.01, n_frames 5);
backend "mjx"

Tasks (angles are measured from +x, the direction in front of the base):
planar_pusher_easy     block at (0.3, 0) + U(-0.05, 0.05)^2; goal = block + U(0.1, 0.2) m in a
                       direction within 90 degrees of +x; goal = block xy, threshold 0.1 m, 100 steps
planar_pusher_hard     block anywhere at radius U(0.25, 0.4) and angle U(-60, 60) degrees; goal
                       anywhere at radius U(0.2, 0.5) and angle U(-90, 90) degrees, at least 0.15 m
                       from the block (the first of 8 draws that is); goal = block xy, threshold
                       0.1 m, 200 steps
planar_pusher_reacher  block as in planar_pusher_hard; goal = fingertip xy anywhere at radius
                       U(0.15, 0.5), threshold 0.05 m, 100 steps
planar_pusher_easy and planar_pusher_hard offer the goal spaces "object" (default: block xy) and
"object_and_hand": achieved [block xy, tip xy - block xy] (4), commanded [goal, 0]; success and
dist judge the block alone in both.
(JaxGCRL's pusher_easy, pusher_hard and pusher_reacher are crlx.envs.pusher, on brax's 7-DoF arm.)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from brax.envs.base import State

from crlx.envs.base import EnvSpec, GoalEnv, object_goal_spaces
from crlx.envs.physics import PhysicsGoalEnv, check_min_max, check_positive

ARM_JOINTS = 3
BLOCK_HALF = 0.035
TIP, BLOCK = 9, 11
"""state offsets of the fingertip xy and of the block qpos"""


def polar(radius: jax.Array, angle: jax.Array) -> jax.Array:
    """(...), (...) -> (..., 2): radius * (cos angle, sin angle)."""
    return jnp.asarray(radius)[..., None] * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=-1)


class PlanarPusherBase(PhysicsGoalEnv):
    """The shared arm and block; tasks override `place_block` and `sample_goal`."""

    state_dim = 24
    object_indices = (BLOCK, BLOCK + 1)
    backends = ("mjx",)
    """the block's box contacts need MJX; brax's other pipelines are not tested on this scene"""

    def __init__(self, name: str, episode_length: int, success_threshold: float, backend: str,
                 goal_space: str | None):
        check_positive(name, episode_length=episode_length, success_threshold=success_threshold)
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
        super().__init__("planar_pusher.xml", backend=backend, n_frames=5)
        self._tip = self.geom_anchor("fingertip")  # a geom of the hand
        self.select_goal_space(goal_space)

    def _state_vec(self, pipeline_state) -> jax.Array:
        q, qd = pipeline_state.q, pipeline_state.qd
        tip = self.world_position(pipeline_state, self._tip)[:2]
        arm = q[:ARM_JOINTS]
        return jnp.concatenate([jnp.cos(arm), jnp.sin(arm), qd[:ARM_JOINTS], tip, q[ARM_JOINTS:], qd[ARM_JOINTS:]])

    def place_block(self, rng: jax.Array) -> jax.Array:
        """Block xy at the start of an episode."""
        raise NotImplementedError

    def sample_goal(self, rng: jax.Array, block_xy: jax.Array) -> jax.Array:
        raise NotImplementedError

    def reset(self, rng: jax.Array) -> State:
        shoulder_rng, joints_rng, block_rng, goal_rng = jax.random.split(rng, 4)
        shoulder = jnp.pi + jax.random.uniform(shoulder_rng, (1,), minval=-0.3, maxval=0.3)
        joints = jax.random.uniform(joints_rng, (2,), minval=-0.1, maxval=0.1)
        block_xy = self.place_block(block_rng)
        block = jnp.concatenate([block_xy, jnp.array([BLOCK_HALF, 1.0, 0.0, 0.0, 0.0])])
        q = jnp.concatenate([shoulder, joints, block])
        pipeline_state = self.pipeline_init(q, jnp.zeros((self.sys.qd_size(),)))
        goal = self.command(self.sample_goal(goal_rng, block_xy))
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)

    def goal_spaces(self):
        """object: the block xy s[11:13]; object_and_hand: [block xy, tip xy s[9:11] - block xy]."""
        return object_goal_spaces(lambda s: s[..., BLOCK : BLOCK + 2], lambda s: s[..., TIP : TIP + 2])


class PlanarPusherEasy(PlanarPusherBase):
    """Push the block a short way outward or sideways."""

    goal_indices = (BLOCK, BLOCK + 1)

    def __init__(self, episode_length: int = 100, success_threshold: float = 0.1, backend: str = "mjx",
                 goal_min: float = 0.1, goal_max: float = 0.2, goal_space: str | None = None):
        check_positive("planar_pusher_easy", goal_max=goal_max)
        check_min_max("planar_pusher_easy", "goal_min", goal_min, "goal_max", goal_max)
        self.goal_min, self.goal_max = float(goal_min), float(goal_max)
        super().__init__("planar_pusher_easy", episode_length, success_threshold, backend, goal_space)

    def place_block(self, rng: jax.Array) -> jax.Array:
        return jnp.array([0.3, 0.0]) + jax.random.uniform(rng, (2,), minval=-0.05, maxval=0.05)

    def sample_goal(self, rng: jax.Array, block_xy: jax.Array) -> jax.Array:
        distance_rng, angle_rng = jax.random.split(rng)
        distance = jax.random.uniform(distance_rng, (), minval=self.goal_min, maxval=self.goal_max)
        angle = jax.random.uniform(angle_rng, (), minval=-jnp.pi / 2, maxval=jnp.pi / 2)
        return block_xy + polar(distance, angle)


class PlanarPusherHard(PlanarPusherBase):
    """Push the block from anywhere in front of the arm to anywhere in front of it."""

    goal_indices = (BLOCK, BLOCK + 1)
    MIN_SEPARATION = 0.15
    """the goal is drawn again (up to 8 draws) until it lies this far from the block"""

    def __init__(self, episode_length: int = 200, success_threshold: float = 0.1, backend: str = "mjx",
                 goal_space: str | None = None):
        super().__init__("planar_pusher_hard", episode_length, success_threshold, backend, goal_space)

    def place_block(self, rng: jax.Array) -> jax.Array:
        radius_rng, angle_rng = jax.random.split(rng)
        radius = jax.random.uniform(radius_rng, (), minval=0.25, maxval=0.4)
        return polar(radius, jax.random.uniform(angle_rng, (), minval=-jnp.pi / 3, maxval=jnp.pi / 3))

    def sample_goal(self, rng: jax.Array, block_xy: jax.Array) -> jax.Array:
        radius_rng, angle_rng = jax.random.split(rng)
        radius = jax.random.uniform(radius_rng, (8,), minval=0.2, maxval=0.5)
        candidates = polar(radius, jax.random.uniform(angle_rng, (8,), minval=-jnp.pi / 2, maxval=jnp.pi / 2))
        far = jnp.linalg.norm(candidates - block_xy, axis=-1) >= self.MIN_SEPARATION  # (8,)
        return candidates[jnp.argmax(far)]  # the first far draw (or the first, if none is)


class PlanarPusherReacher(PlanarPusherHard):
    """Reach with the pusher arm: the fingertip to a goal point, the block is an obstacle."""

    goal_indices = (TIP, TIP + 1)
    object_indices = ()
    goal_spaces = GoalEnv.goal_spaces
    """one goal space, "default": the fingertip (no object to move)"""

    def __init__(self, episode_length: int = 100, success_threshold: float = 0.05, backend: str = "mjx",
                 goal_min_radius: float = 0.15, goal_max_radius: float = 0.5, goal_space: str | None = None):
        check_min_max("planar_pusher_reacher", "goal_min_radius", goal_min_radius, "goal_max_radius",
                      goal_max_radius)
        if not 0.0 < goal_max_radius <= 0.55:
            raise ValueError(f"planar_pusher_reacher: goal_max_radius must be in (0, 0.55] (the arm's reach), "
                             f"got {goal_max_radius}")
        self.goal_min_radius, self.goal_max_radius = float(goal_min_radius), float(goal_max_radius)
        PlanarPusherBase.__init__(self, "planar_pusher_reacher", episode_length, success_threshold, backend,
                                  goal_space)

    def sample_goal(self, rng: jax.Array, block_xy: jax.Array) -> jax.Array:
        radius_rng, angle_rng = jax.random.split(rng)
        # uniform over the annulus: radius^2 is uniform
        r2 = jax.random.uniform(radius_rng, (), minval=self.goal_min_radius**2, maxval=self.goal_max_radius**2)
        return polar(jnp.sqrt(r2), jax.random.uniform(angle_rng, (), minval=-jnp.pi, maxval=jnp.pi))
