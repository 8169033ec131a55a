"""JaxGCRL's ant push (jaxgcrl 0.2.8 jaxgcrl/envs/ant_push.py, assets/ant_push.xml) on brax's scene
`brax/envs/assets/ant.xml`: the ant must push a movable block out of the way to reach the goal
(after Nachum et al. 2018, arXiv:1805.08296).

scene: brax's ant.xml + JaxGCRL's changes made at load time:
       default geom density 40 (brax: 5; the ant is 8 x as heavy: torso 3.87 kg, 7.29 kg in all)
       and solimp (0.995, 0.995, 0.01) on every geom; the torso geom gets contype 1 (it lands on
       the floor and meets the walls and the block); a 150 m floor (brax: 40 m); init_qpos torso
       z 0.75 (brax: 0.55); seven fixed 4 m tall boxes (contype 0, conaffinity 1) fused from the
       8 m grid PUSH_LAYOUT; a movable box "block_M" (half size 3.6 x 3.6 x 1.8 m, mass 0.0002 kg,
       contype = conaffinity = 1) in body "movable" at (8, 8, 2) on three unlimited slide joints
       x, y, z (no armature, no damping); a target body (slide joints target_x, target_y, range
       +-20 m, sphere radius 0.9, no collisions). The block starts 0.2 m above the floor and
       drops onto it. (JaxGCRL's copy also drops the default geom colour; crlx keeps brax's.)
qpos (20) = ant 15 (torso xyz, quaternion wxyz, 8 joint angles) ++ block xyz offset 3 ++ target xy 2;
qvel (19) = ant 14 ++ block 3 ++ target 2
state (state_dim 31) = ant qpos (15) ++ ant qvel (14) ++ block xy (2, the "movable" body's world position)
goal_indices = (0, 1): the torso xy; obs = state ++ goal = 33 values (JaxGCRL's obs, goal = target xy)
action = 8 joint torques in [-1, 1] (brax's gear 150 on every backend)
goal = permutation of (16, 8) + 2 * (u1, u2), u ~ U(0, 1)^2: in [16, 18] x [8, 10] (past the block to
       the right) or [8, 10] x [16, 18] (past it to the top), equally likely
start: init_qpos + U(-reset_noise_scale, reset_noise_scale) on every qpos but the target's (the
       block's offsets too), qvel ~ reset_noise_scale * N(0, 1) (JaxGCRL's 0.1), then the last 4 qvel
       (block y, z, target) set to 0: JaxGCRL zeroes qd[-4:] with 5 non-ant dofs, so the block keeps
       its noisy x velocity; kept for parity. The torso starts near (0, 0, 0.75).
success: ||torso xy - goal|| < 0.5 after the step; done: torso z outside (0.2, 1.0); episodes of 1001 steps
dt = 0.05 s: timestep 0.01 x 5 frames; backend 'mjx' only (JaxGCRL's default; jaxgcrl/utils/env.py
    asserts it, "stable only in mjx"): Newton, 4 iterations, 8 line-search iterations, Euler damping off
reward = -dist (JaxGCRL: success, or a dense shaping); CRL reads neither
A fresh goal every episode, also after auto-reset (JaxGCRL keeps the first goal after its
auto-reset, JaxGCRL issue #53); that is crlx's deliberate difference.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from brax.base import System
from brax.envs.base import State

from crlx.envs.brax_scene import JAXGCRL_EPISODE_LENGTH, BackendSettings, add_target, brax_scene_spec, set_floor_size
from crlx.envs.target_env import TargetGoalEnv

ANT_QPOS, ANT_QVEL = 15, 14
"""the ant's own qpos (free joint 7 + 8 hinges) and qvel (6 + 8), first in the scene"""
PUSH_LAYOUT = """
AABCC
AA.CC
D.M.E
D..FF
GGGFF
"""
"""JaxGCRL's ant_push.xml wall plan: 8 m cells, row r and column c centered at (x, y) = (8 (c - 1), 8 (3 - r)),
so the ant's cell (row 3, column 1) is at the origin; each letter A..G is one wall box over its cells,
'M' the movable block's cell, '.' free"""
PUSH_CELL = 8.0
"""the layout's cell size (m)"""
WALL_HALF_HEIGHT = 2.0
"""the walls are 4 m tall boxes on the floor (JaxGCRL: MAZE_HEIGHT 0.5 x 8 m)"""
BLOCK_HALF_SIZE = (3.6, 3.6, 1.8)
BLOCK_MASS = 0.0002
GEOM_DENSITY = 40.0
GEOM_SOLIMP = (0.995, 0.995, 0.01)
"""ant_push.xml's default geom class: density and the first three solimp values (the rest MuJoCo's 0.5, 2)"""
TORSO_Z = 0.75
GOAL_CORNER, GOAL_NOISE = (16.0, 8.0), 2.0
"""goal = a random permutation of GOAL_CORNER + GOAL_NOISE * U(0, 1)^2"""


def layout_boxes(layout: str = PUSH_LAYOUT) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{letter: (center xy (2,), half size xy (2,))} of each letter's bounding box of cells."""
    rows = layout.strip("\n").splitlines()
    boxes = {}
    for letter in sorted({ch for row in rows for ch in row} - {"."}):
        rc = np.array([(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == letter], np.float64)
        low = PUSH_CELL * np.stack([rc[:, 1].min() - 1, 3 - rc[:, 0].max()]) - PUSH_CELL / 2  # (x, y) of the corner
        high = PUSH_CELL * np.stack([rc[:, 1].max() - 1, 3 - rc[:, 0].min()]) + PUSH_CELL / 2
        boxes[letter] = ((low + high) / 2, (high - low) / 2)
    return boxes


def ant_push_scene(floor: float = 150.0, target_range: float = 20.0) -> mujoco.MjSpec:
    """brax's ant.xml with JaxGCRL's geom defaults, torso contact, walls, movable block and target (ant_push.xml)."""
    spec = brax_scene_spec("ant.xml")
    spec.default.geom.density = GEOM_DENSITY  # for the geoms added below, as the scene's default class
    spec.default.geom.solimp = [*GEOM_SOLIMP, 0.5, 2.0]
    for geom in spec.geoms:
        geom.density, geom.solimp = GEOM_DENSITY, [*GEOM_SOLIMP, 0.5, 2.0]
    spec.geom("torso_geom").contype = 1
    set_floor_size(spec, floor)
    init = next(n for n in spec.numerics if n.name == "init_qpos")
    data = list(init.data)
    data[2] = TORSO_Z
    data += [0.0, 0.0, 0.0]  # the block's slide joints
    init.size, init.data = len(data), data
    boxes = layout_boxes()
    for letter, (center, half) in boxes.items():
        if letter != "M":
            spec.worldbody.add_geom(name=f"block_{letter}", type=mujoco.mjtGeom.mjGEOM_BOX,
                                    pos=[*center, WALL_HALF_HEIGHT], size=[*half, WALL_HALF_HEIGHT], contype=0,
                                    conaffinity=1, rgba=[0.4, 0.4, 0.4, 1.0])
    body = spec.worldbody.add_body(name="movable", pos=[*boxes["M"][0], WALL_HALF_HEIGHT])
    body.add_geom(name="block_M", type=mujoco.mjtGeom.mjGEOM_BOX, size=list(BLOCK_HALF_SIZE), mass=BLOCK_MASS,
                  contype=1, conaffinity=1, rgba=[0.9, 0.1, 0.1, 1.0])
    for axis, direction in zip("xyz", np.eye(3)):
        body.add_joint(name=f"movable_{axis}_2_2", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=list(direction),
                       armature=0.0, damping=0.0, limited=mujoco.mjtLimited.mjLIMITED_FALSE, range=[-32.0, 32.0],
                       margin=0.01)
    add_target(spec, "xy", z=0.01, radius=0.9, joint_range=target_range)
    return spec


@dataclasses.dataclass(frozen=True)
class PushSettings(BackendSettings):
    """BackendSettings with JaxGCRL's ant_push MJX solver: Newton, `iterations`, `ls_iterations`."""

    iterations: int = 4
    ls_iterations: int = 8

    def apply(self, sys: System, backend: str) -> tuple[System, int]:
        sys, n_frames = super().apply(sys, backend)
        if backend == "mjx":
            sys = sys.tree_replace({"opt.iterations": self.iterations, "opt.ls_iterations": self.ls_iterations})
        return sys, n_frames


PUSH_SETTINGS = PushSettings(n_frames=5, mjx_newton=True)
"""jaxgcrl/envs/ant_push.py: n_frames 5 at the scene's timestep 0.01, Newton 4 / 8 iterations"""


class AntPush(TargetGoalEnv):
    """Ant push: success when the torso xy is within `success_threshold` (m) of the goal past the block."""

    goal_indices = (0, 1)
    object_indices = (29, 30)
    """the block xy: the goal is the torso's, but the block must move out of its way"""
    env_name = "ant_push"
    backends = ("mjx",)

    def __init__(
        self,
        episode_length: int = JAXGCRL_EPISODE_LENGTH,
        success_threshold: float = 0.5,
        backend: str = "mjx",
        reset_noise_scale: float = 0.1,
        terminate_when_unhealthy: bool = True,
        healthy_z_range: tuple[float, float] = (0.2, 1.0),
        goal_space: str | None = None,
    ):
        name = type(self).env_name
        self.set_reset_noise(name, reset_noise_scale)
        super().__init__(name, ant_push_scene(), PUSH_SETTINGS, episode_length, success_threshold, backend,
                         terminate_when_unhealthy, healthy_z_range, goal_space)
        self._block_link = self.sys.link_names.index("movable")
        self.state_dim = ANT_QPOS + ANT_QVEL + 2  # 31

    def sample_goal(self, rng: jax.Array) -> jax.Array:
        """(2,) a random order of GOAL_CORNER plus GOAL_NOISE * U(0, 1)^2."""
        order_rng, noise_rng = jax.random.split(rng)
        corner = jax.random.permutation(order_rng, jnp.asarray(GOAL_CORNER))
        return corner + GOAL_NOISE * jax.random.uniform(noise_rng, (2,))

    def _state_vec(self, pipeline_state) -> jax.Array:
        block = pipeline_state.x.pos[self._block_link, :2]
        return jnp.concatenate([pipeline_state.q[:ANT_QPOS], pipeline_state.qd[:ANT_QVEL], block])

    def reset(self, rng: jax.Array) -> State:
        q_rng, qd_rng, goal_rng = jax.random.split(rng, 3)
        q, qd = self.noisy_start(q_rng, qd_rng)
        goal = self.sample_goal(goal_rng)
        pipeline_state = self.pipeline_init(q.at[-2:].set(goal), qd.at[-4:].set(0.0))  # JaxGCRL's qd[-4:]
        return self.first_state(pipeline_state, self._state_vec(pipeline_state), goal)
