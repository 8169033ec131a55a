"""Manipulation tasks for a two-finger gripper on a Cartesian stage (MJCF scene `arm.xml`).

Common to every arm env (lengths in m, world frame, table top at z = 0):
state (state_dim 23) = qpos ++ qvel:
    [0:3]   hand xyz: the grip point, midway between the finger pads (which span z - 0.015 .. z + 0.035)
    [3:5]   finger_l, finger_r: each pad's inner face distance from the grip point (0 closed,
            0.05 open); the pad gap is s[3] + s[4]
    [5:8]   cube center xyz (cube side 0.05; resting on the table z = 0.025)
    [8:12]  cube quaternion wxyz
    [12:15] hand velocity, [15:17] finger velocities, [17:23] cube linear and angular velocity
action (4,) in [-1, 1]: [0:3] hand velocity command (0.5 m/s per unit, a velocity servo);
    [3] gripper: both fingers servo to 0.025 * (1 + a), -1 closed, +1 open (gap 0.1)
hand workspace: x, y in [-0.3, 0.3], z in [0.02, 0.3] (joint limits; pads stay 5 mm above the table)
cube region on the table: x in [-0.25, 0.25], y in [-0.25, 0.08]; the bin (inner 0.12 x 0.12,
    walls 0.05 high) is centered at (0, 0.2), beyond the region's far edge
start: cube axis-aligned at rest in its task region; hand xy ~ U(-0.25, 0.25), z ~ U(0.08, 0.2),
    fingers at 0.025 (the servo's neutral), velocities 0, unless a task says otherwise
reward = -dist; done = 0 (episodes end by time)
dt = 0.025 s (timestep 0.005, n_frames 5); backend "mjx"

Tasks (goal_dim, threshold, episode_length):
arm_reach         hand xyz to a goal ~ U(goal_low, goal_high) (default x, y in [-0.25, 0.25],
                  z in [0.05, 0.25]); 3, 0.05, 100
arm_push_easy     cube xyz to a goal on the table (z = 0.025) with xy in the cube region,
                  goal_min_distance..goal_max_distance (0.06..0.15) from the cube's start; 3, 0.05, 150
arm_push_hard     as push_easy with the goal >= 0.2 from the cube's start (anywhere else in the
                  region); 3, 0.05, 200. Both pushes offer the goal spaces "object" (default: the
                  cube xyz) and "object_and_hand": achieved [cube xyz, hand - cube xyz], commanded
                  [goal, 0] (6-d); success and dist judge the cube alone in both
arm_binpick_easy  cube xyz to a goal resting in the bin: xy ~ (0, 0.2) + U(-goal_jitter,
                  goal_jitter) (0.03), z = 0.025; the cube starts at x in [-0.1, 0.1],
                  y in [-0.02, 0.06] (0.14..0.24 from the bin center) between the open fingers
                  (hand at the cube, grip z 0.025..0.035, fingers at 0.04); 3, 0.05, 150
arm_binpick_hard  as binpick_easy with the cube anywhere in x in [-0.25, 0.25], y in [-0.25, 0]
                  (>= 0.2 from the bin center) and the hand at a random start; 3, 0.05, 200
arm_grasp         hold the cube lifted: achieved = cube xyz ++ finger_l ++ finger_r (5-d, state
                  indices (5, 6, 7, 3, 4)); goal = the cube's start xy, z = 0.025 + U(lift_min,
                  lift_max) (0.1..0.2), fingers 0.025 each (pads on the cube faces); 5, 0.05, 150
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from brax.envs.base import State

from crlx.envs.base import EnvSpec, GoalEnv, object_goal_spaces
from crlx.envs.physics import PhysicsGoalEnv, check_min_max, check_positive

CUBE_HALF = 0.025
"""half the cube side; the resting cube center is at z = CUBE_HALF"""
HAND_LOW, HAND_HIGH = (-0.3, -0.3, 0.02), (0.3, 0.3, 0.3)
"""hand (grip point) joint limits"""
CUBE_REGION = ((-0.25, -0.25), (0.25, 0.08))
"""(low xy, high xy) where cubes start and push goals lie"""
BIN_CENTER = (0.0, 0.2)
BIN_INNER_HALF = 0.06
"""half the bin's inner side; the cube center can be within BIN_INNER_HALF - CUBE_HALF of BIN_CENTER"""
FINGER_OPEN = 0.05
"""finger joint upper limit: gap 0.1 when fully open"""
CANDIDATES = 32
HAND_STARTS = ("random", "near_object")
"""where a push episode starts the hand: anywhere above the table (random), or beside the cube at its
height (near_object, JaxGCRL's arm tasks start the hand near the cube)"""
NEAR_OBJECT_DISTANCE = 0.08
"""near_object: the grip point's horizontal distance from the cube center (clear of the cube and pads)"""
NEAR_OBJECT_Z = 0.03
"""near_object: the grip point's height; the pads span z - 0.015 .. z + 0.035, the cube's side 0 .. 0.05"""
"""goal draws per reset for rejection sampling of distance-constrained goals"""

HAND, FINGERS, CUBE_POS, CUBE_QUAT = slice(0, 3), slice(3, 5), slice(5, 8), slice(8, 12)
"""qpos (and state) slices"""


def uniform_box(rng: jax.Array, low, high, shape=()) -> jax.Array:
    """Uniform samples of shape shape + (len(low),) in the box [low, high]."""
    low, high = jnp.asarray(low, jnp.float32), jnp.asarray(high, jnp.float32)
    return jax.random.uniform(rng, shape + low.shape, minval=low, maxval=high)


def pick_in_annulus(rng: jax.Array, center: jax.Array, min_distance: float, max_distance: float) -> jax.Array:
    """A point of CUBE_REGION with min_distance <= |p - center| <= max_distance (xy).

    Rejection sampling over CANDIDATES uniform draws; when none fits, the one closest to fitting.
    """
    xy = uniform_box(rng, *CUBE_REGION, shape=(CANDIDATES,))  # (K, 2)
    d = jnp.linalg.norm(xy - center, axis=-1)  # (K,)
    violation = jnp.maximum(min_distance - d, 0.0) + jnp.maximum(d - max_distance, 0.0)
    return xy[jnp.argmin(violation)]  # argmin takes the first of the zero violations


def check_box(env: str, field: str, value, low, high) -> tuple[float, ...]:
    """`value` as a tuple of len(low) floats within [low, high]; ValueError naming `field` otherwise."""
    value = tuple(float(v) for v in value)
    if len(value) != len(low) or not all(lo <= v <= hi for v, lo, hi in zip(value, low, high)):
        raise ValueError(f"{env}: {field} must be {len(low)} values within {list(low)}..{list(high)}, got {value!r}")
    return value


class ArmBase(PhysicsGoalEnv):
    """The shared arm machinery; tasks override `place` (start qpos) and `sample_goal`."""

    state_dim = 23
    goal_indices = (5, 6, 7)
    object_indices = (5, 6, 7)
    """the cube xyz, for every task but arm_reach"""
    backends = ("mjx",)
    """the scene uses gravcomp, general actuators and box-box contacts: brax's own pipelines lack them"""

    def __init__(self, name: str, episode_length: int, success_threshold: float, backend: str, goal_space: str | None):
        check_positive(name, episode_length=episode_length, success_threshold=success_threshold)
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
        super().__init__("arm.xml", backend=backend, n_frames=5)
        assert self.mj_model.nq + self.mj_model.nv == self.state_dim
        self.select_goal_space(goal_space)

    @property
    def action_size(self) -> int:
        """hand velocity xyz ++ gripper (both finger servos get the same command)"""
        return 4

    def step(self, state: State, action: jax.Array) -> State:
        action = jnp.clip(action, -1.0, 1.0)
        ctrl = jnp.concatenate([action, action[3:]])  # (5,): hand xyz, finger_l, finger_r
        pipeline_state = self.pipeline_step(state.pipeline_state, ctrl)
        return self.next_state(state, pipeline_state, self._state_vec(pipeline_state), self._done(pipeline_state))

    def place(self, rng: jax.Array) -> jax.Array:
        """Start qpos (12,): hand random above the table, fingers neutral, cube in CUBE_REGION."""
        hand_rng, cube_rng = jax.random.split(rng)
        hand = uniform_box(hand_rng, (-0.25, -0.25, 0.08), (0.25, 0.25, 0.2))
        return self.qpos(hand, uniform_box(cube_rng, *CUBE_REGION))

    @staticmethod
    def qpos(hand: jax.Array, cube_xy: jax.Array, finger: float | jax.Array = 0.025) -> jax.Array:
        """(12,) qpos: hand xyz, both fingers at `finger`, cube at rest at cube_xy, axis-aligned."""
        return jnp.concatenate(
            [hand, jnp.full((2,), finger), cube_xy, jnp.array([CUBE_HALF, 1.0, 0.0, 0.0, 0.0])]
        ).astype(jnp.float32)

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        raise NotImplementedError

    def reset(self, rng: jax.Array) -> State:
        place_rng, goal_rng = jax.random.split(rng)
        q = self.place(place_rng)
        pipeline_state = self.pipeline_init(q, jnp.zeros((self.sys.qd_size(),)))
        goal = self.command(self.sample_goal(goal_rng, q))
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)


class ArmReach(ArmBase):
    """Bring the grip point to a goal point above the table."""

    goal_indices = (0, 1, 2)
    object_indices = ()

    def __init__(
        self,
        episode_length: int = 100,
        success_threshold: float = 0.05,
        backend: str = "mjx",
        goal_low: tuple[float, float, float] = (-0.25, -0.25, 0.05),
        goal_high: tuple[float, float, float] = (0.25, 0.25, 0.25),
        goal_space: str | None = None,
    ):
        self.goal_low = check_box("arm_reach", "goal_low", goal_low, HAND_LOW, HAND_HIGH)
        self.goal_high = check_box("arm_reach", "goal_high", goal_high, self.goal_low, HAND_HIGH)
        super().__init__("arm_reach", episode_length, success_threshold, backend, goal_space)

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        return uniform_box(rng, self.goal_low, self.goal_high)


class ArmPush(ArmBase):
    """Push the cube across the table to a goal goal_min_distance..goal_max_distance from its start."""

    def __init__(
        self,
        episode_length: int = 150,
        success_threshold: float = 0.05,
        backend: str = "mjx",
        goal_min_distance: float = 0.06,
        goal_max_distance: float = 0.15,
        goal_space: str | None = None,
        name: str = "arm_push",
        hand_start: str = "random",
    ):
        check_min_max(name, "goal_min_distance", goal_min_distance, "goal_max_distance", goal_max_distance)
        check_positive(name, goal_max_distance=goal_max_distance)
        if hand_start not in HAND_STARTS:
            raise ValueError(f"{name}: hand_start must be one of {list(HAND_STARTS)}, got {hand_start!r}")
        self.goal_min_distance, self.goal_max_distance = float(goal_min_distance), float(goal_max_distance)
        self.hand_start = hand_start
        super().__init__(name, episode_length, success_threshold, backend, goal_space)

    def place(self, rng: jax.Array) -> jax.Array:
        """random: ArmBase's start; near_object: the cube in CUBE_REGION and the grip point
        NEAR_OBJECT_DISTANCE from its center in a uniform direction, at NEAR_OBJECT_Z."""
        if self.hand_start == "random":
            return super().place(rng)
        cube_rng, angle_rng = jax.random.split(rng)
        cube_xy = uniform_box(cube_rng, *CUBE_REGION)
        angle = jax.random.uniform(angle_rng, (), minval=0.0, maxval=2 * jnp.pi)
        hand_xy = cube_xy + NEAR_OBJECT_DISTANCE * jnp.stack([jnp.cos(angle), jnp.sin(angle)])
        hand_xy = jnp.clip(hand_xy, jnp.asarray(HAND_LOW[:2]), jnp.asarray(HAND_HIGH[:2]))
        return self.qpos(jnp.append(hand_xy, NEAR_OBJECT_Z), cube_xy)

    def goal_spaces(self) -> dict[str, Callable[[jax.Array], jax.Array]]:
        """object: the cube xyz s[5:8]; object_and_hand: [cube, hand s[0:3] - cube]."""
        return object_goal_spaces(lambda s: s[..., CUBE_POS], lambda s: s[..., HAND])

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        """The cube's goal xyz (3,): on the table, goal_min_distance..goal_max_distance from its start."""
        xy = pick_in_annulus(rng, q[5:7], self.goal_min_distance, self.goal_max_distance)
        return jnp.append(xy, CUBE_HALF)


def arm_push_easy(
    episode_length: int = 150,
    success_threshold: float = 0.05,
    backend: str = "mjx",
    goal_min_distance: float = 0.06,
    goal_max_distance: float = 0.15,
    goal_space: str | None = None,
    hand_start: str = "random",
) -> ArmPush:
    """Push the cube 0.06..0.15 m (default) across the table."""
    return ArmPush(episode_length, success_threshold, backend, goal_min_distance, goal_max_distance, goal_space,
                   name="arm_push_easy", hand_start=hand_start)


def arm_push_hard(
    episode_length: int = 200,
    success_threshold: float = 0.05,
    backend: str = "mjx",
    goal_min_distance: float = 0.2,
    goal_max_distance: float = 1.0,
    goal_space: str | None = None,
    hand_start: str = "random",
) -> ArmPush:
    """Push the cube >= 0.2 m (default) to anywhere in the cube region."""
    return ArmPush(episode_length, success_threshold, backend, goal_min_distance, goal_max_distance, goal_space,
                   name="arm_push_hard", hand_start=hand_start)


class ArmBinPick(ArmBase):
    """Pick the cube up and drop it in the bin; the goal is the cube resting in the bin."""

    def __init__(
        self,
        episode_length: int = 150,
        success_threshold: float = 0.05,
        backend: str = "mjx",
        cube_in_hand: bool = True,
        goal_jitter: float = 0.03,
        goal_space: str | None = None,
        name: str = "arm_binpick",
    ):
        limit = BIN_INNER_HALF - CUBE_HALF
        if not 0.0 <= goal_jitter <= limit:
            raise ValueError(f"{name}: goal_jitter must be in [0, {limit}] (the cube must fit in the bin), "
                             f"got {goal_jitter}")
        self.cube_in_hand, self.goal_jitter = bool(cube_in_hand), float(goal_jitter)
        super().__init__(name, episode_length, success_threshold, backend, goal_space)

    def place(self, rng: jax.Array) -> jax.Array:
        hand_rng, cube_rng, z_rng = jax.random.split(rng, 3)
        if not self.cube_in_hand:
            hand = uniform_box(hand_rng, (-0.25, -0.25, 0.08), (0.25, 0.25, 0.2))
            return self.qpos(hand, uniform_box(cube_rng, (-0.25, -0.25), (0.25, 0.0)))
        cube_xy = uniform_box(cube_rng, (-0.1, -0.02), (0.1, 0.06))
        z = jax.random.uniform(z_rng, (), minval=CUBE_HALF, maxval=CUBE_HALF + 0.01)
        return self.qpos(jnp.append(cube_xy, z), cube_xy, finger=0.04)

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        xy = jnp.asarray(BIN_CENTER) + jax.random.uniform(rng, (2,), minval=-self.goal_jitter, maxval=self.goal_jitter)
        return jnp.append(xy, CUBE_HALF)


def arm_binpick_easy(
    episode_length: int = 150,
    success_threshold: float = 0.05,
    backend: str = "mjx",
    goal_jitter: float = 0.03,
    goal_space: str | None = None,
) -> ArmBinPick:
    """Bin-pick with the cube starting between the open fingers, 0.14..0.24 m from the bin center."""
    return ArmBinPick(episode_length, success_threshold, backend, True, goal_jitter, goal_space,
                      name="arm_binpick_easy")


def arm_binpick_hard(
    episode_length: int = 200,
    success_threshold: float = 0.05,
    backend: str = "mjx",
    goal_jitter: float = 0.03,
    goal_space: str | None = None,
) -> ArmBinPick:
    """Bin-pick with the cube anywhere >= 0.2 m from the bin center and the hand elsewhere."""
    return ArmBinPick(episode_length, success_threshold, backend, False, goal_jitter, goal_space,
                      name="arm_binpick_hard")


class ArmGrasp(ArmBase):
    """Grasp the cube and hold it lift_min..lift_max above its start with the pads on its faces."""

    goal_indices = (5, 6, 7, 3, 4)

    def __init__(
        self,
        episode_length: int = 150,
        success_threshold: float = 0.05,
        backend: str = "mjx",
        lift_min: float = 0.1,
        lift_max: float = 0.2,
        goal_space: str | None = None,
    ):
        top = HAND_HIGH[2] - CUBE_HALF
        if not 0.0 < lift_min <= lift_max:
            raise ValueError(f"arm_grasp: lift_min must be in (0, lift_max={lift_max}], got {lift_min}")
        if not lift_max <= top:
            raise ValueError(f"arm_grasp: lift_max must be <= {top} (the hand's reach), got {lift_max}")
        self.lift_min, self.lift_max = float(lift_min), float(lift_max)
        super().__init__("arm_grasp", episode_length, success_threshold, backend, goal_space)

    def sample_goal(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        z = CUBE_HALF + jax.random.uniform(rng, (), minval=self.lift_min, maxval=self.lift_max)
        return jnp.concatenate([q[5:7], jnp.stack([z, CUBE_HALF, CUBE_HALF])])


ARM_TASKS: dict[str, Callable[..., GoalEnv]] = {
    "arm_reach": ArmReach,
    "arm_push_easy": arm_push_easy,
    "arm_push_hard": arm_push_hard,
    "arm_binpick_easy": arm_binpick_easy,
    "arm_binpick_hard": arm_binpick_hard,
    "arm_grasp": ArmGrasp,
}
