"""Base class for goal envs simulated by a brax physics pipeline from an MJCF scene.

`PhysicsGoalEnv` is a `GoalEnv` (obs = concat(state, goal), goal metrics, eval_shape sizes)
and a brax `PipelineEnv` (pipeline_init / pipeline_step over `self.sys`). The MRO puts
GoalEnv first, so `observation_size` is GoalEnv's state_dim + goal_dim, not brax's host reset.
"""

from __future__ import annotations

import copy
import warnings
from typing import Callable

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from brax import math
from brax.base import Motion, Transform
from brax.envs.base import PipelineEnv, State
from brax.io import mjcf

from crlx.envs.assets import asset_path
from crlx.envs.base import EnvSpec, GoalEnv
from crlx.envs.brax_scene import BackendSettings
from crlx.envs.warp_physics import WarpPhysics, require_warp

BACKENDS = ("mjx", "generalized", "positional", "spring")
"""brax physics pipelines a `PhysicsGoalEnv` can run on (default 'mjx')."""
WARP = "warp"
"""MJX's MuJoCo Warp implementation: accepted by every env that accepts 'mjx' (the warp extra)"""
WARP_OPTIONS = ("timestep", "solver", "iterations", "ls_iterations", "disableflags")
"""the MjOption fields a backend's settings may change on the brax System; copied onto the Warp model"""


class PhysicsGoalEnv(GoalEnv, PipelineEnv):
    """A GoalEnv whose dynamics are the MJCF scene `asset` stepped `n_frames` times per env step.

    Subclasses set `spec` before calling `super().__init__(asset, backend, n_frames)`, may
    narrow `backends` to the pipelines their scene is tested on, and can use `self.mj_model`
    (the compiled MuJoCo model) for name lookups. Where 'mjx' is among `backends`, 'warp' is too:
    the same MJX scene and settings, stepped by MuJoCo Warp (`pipeline_init` is MJX's JAX forward
    pass, `pipeline_step` runs the frames on Warp; `crlx.envs.warp_physics`).
    """

    backends: tuple[str, ...] = BACKENDS
    """the backends this env accepts (a subset of BACKENDS)"""

    def __init__(self, asset: str | mujoco.MjSpec, backend: str, n_frames: int | None = None,
                 edit: Callable[[mujoco.MjSpec], None] | None = None, settings: BackendSettings | None = None):
        """`asset`: a crlx scene file name (under envs/) or a parsed MjSpec (e.g. `brax_scene_spec("ant.xml")`).

        `edit`, when given, changes the parsed scene (e.g. adds maze walls or a ball) before compiling.
        `settings`, when given, sets the per-backend timestep, gear and n_frames (then n_frames is None).
        """
        accepted = self.backends + ((WARP,) if "mjx" in self.backends else ())
        if backend not in accepted:
            raise ValueError(f"{type(self).__name__}: backend must be one of {list(accepted)}, got {backend!r}")
        if backend == WARP:
            require_warp(type(self).__name__)
        pipeline = "mjx" if backend == WARP else backend
        if (n_frames is None) == (settings is None):
            raise ValueError(f"{type(self).__name__}: give exactly one of n_frames and settings")
        if n_frames is not None and n_frames < 1:
            raise ValueError(f"{type(self).__name__}: n_frames must be >= 1, got {n_frames}")
        spec = asset if isinstance(asset, mujoco.MjSpec) else mujoco.MjSpec.from_file(str(asset_path(asset)))
        if edit is not None:
            edit(spec)
        with warnings.catch_warnings():  # 'settotalmass' in brax's humanoid.xml is deprecated in MuJoCo 3.3+
            warnings.filterwarnings("ignore", message=".*settotalmass")
            self.mj_model = spec.compile()
        with warnings.catch_warnings():  # brax's "pipelines are not actively maintained" notice
            warnings.filterwarnings("ignore", message="Brax System", category=UserWarning)
            sys = mjcf.load_model(self.mj_model)  # note: writes +-inf into mj_model's unlimited ranges
        if settings is not None:
            sys, n_frames = settings.apply(sys, pipeline)
        PipelineEnv.__init__(self, sys, backend=pipeline, n_frames=n_frames)
        self.warp = WarpPhysics(warp_model(self.mj_model, sys)) if backend == WARP else None

    def pipeline_init(self, q: jax.Array, qd: jax.Array, act: jax.Array | None = None, ctrl: jax.Array | None = None):
        """brax's pipeline state at (q, qd); on 'warp' without MJX's implementation arrays or contacts."""
        state = PipelineEnv.pipeline_init(self, q, qd, act, ctrl)
        return state if self.warp is None else state.replace(_impl=None, contact=None)

    def pipeline_step(self, pipeline_state, action: jax.Array):
        """n_frames physics steps under `action` (brax's mjx pipeline, or MuJoCo Warp on 'warp')."""
        if self.warp is None:
            return PipelineEnv.pipeline_step(self, pipeline_state, action)
        data, _ = self.warp.advance(pipeline_state.replace(ctrl=action), self._n_frames)
        return brax_frames(data, np.asarray(self.mj_model.body_rootid))

    def scene_fields(self, state: State) -> dict[str, jax.Array]:
        """What places `state`'s scene in `mj_model` for drawing: MjData fields by name."""
        return {"qpos": state.pipeline_state.q, "qvel": state.pipeline_state.qd}

    def _state_vec(self, pipeline_state) -> jax.Array:
        """The state the goal env observes; default qpos ++ qvel."""
        return jnp.concatenate([pipeline_state.q, pipeline_state.qd])

    def _done(self, pipeline_state) -> jax.Array:
        """1.0 when the episode terminates early; default never."""
        return jnp.zeros(())

    def step(self, state: State, action: jax.Array) -> State:
        """Clip the action to [-1, 1], step the physics n_frames times, keep the episode's goal."""
        pipeline_state = self.pipeline_step(state.pipeline_state, jnp.clip(action, -1.0, 1.0))
        return self.next_state(state, pipeline_state, self._state_vec(pipeline_state), self._done(pipeline_state))

    def joint_qpos(self, name: str) -> int:
        """First qpos index of joint `name` (a free joint spans 7: xyz, quaternion wxyz)."""
        return int(self.mj_model.jnt_qposadr[self._id(mujoco.mjtObj.mjOBJ_JOINT, name)])

    def _id(self, kind: mujoco.mjtObj, name: str) -> int:
        index = mujoco.mj_name2id(self.mj_model, kind, name)
        if index < 0:
            raise ValueError(f"{type(self).__name__}: no {kind.name[6:].lower()} named {name!r} in the scene")
        return index

    def geom_anchor(self, name: str) -> tuple[int, np.ndarray]:
        """(brax link index of geom `name`'s body, the geom's position (3,) in that body's frame)."""
        geom = self._id(mujoco.mjtObj.mjOBJ_GEOM, name)
        return int(self.mj_model.geom_bodyid[geom]) - 1, np.array(self.mj_model.geom_pos[geom], dtype=np.float32)

    @staticmethod
    def world_position(pipeline_state, anchor: tuple[int, np.ndarray]) -> jax.Array:
        """(3,) world position of a point given as (link index, position in the link frame)."""
        frame = pipeline_state.x.take(anchor[0])
        return frame.pos + math.rotate(jnp.asarray(anchor[1]), frame.rot)


def warp_model(mj_model: mujoco.MjModel, sys) -> mujoco.MjModel:
    """A copy of `mj_model` with the solver options `sys` (the brax System, after the backend's
    settings) has: the model MuJoCo Warp steps."""
    model = copy.copy(mj_model)
    for name in WARP_OPTIONS:
        value = np.asarray(getattr(sys.opt, name))
        setattr(model.opt, name, value.item() if value.ndim == 0 else value)
    return model


def brax_frames(data, body_rootid: np.ndarray):
    """`data` with brax's link frames: q, qd, x (body positions and orientations), xd (velocities
    at the body origins), as brax's mjx pipeline derives them after a step."""
    x = Transform(pos=data.xpos[1:], rot=data.xquat[1:])
    cvel = Motion(vel=data.cvel[1:, 3:], ang=data.cvel[1:, :3])
    offset = Transform.create(pos=data.xpos[1:, :] - data.subtree_com[body_rootid[1:]])
    return data.replace(q=data.qpos, qd=data.qvel, x=x, xd=offset.vmap().do(cvel))


def check_min_max(env: str, low_field: str, low: float, high_field: str, high: float) -> None:
    """Raise ValueError naming `low_field` unless 0 <= low <= high."""
    if not 0.0 <= low <= high:
        raise ValueError(f"{env}: {low_field} must be in [0, {high_field}={high}], got {low}")


def check_positive(env: str, **values: float) -> None:
    """Raise ValueError naming the first field that is not > 0."""
    for field, value in values.items():
        if not value > 0:
            raise ValueError(f"{env}: {field} must be > 0, got {value!r}")


def set_walker_options(env, name: str, episode_length: int, success_threshold: float, backend: str,
                       terminate_when_unhealthy: bool, healthy_z_range: tuple[float, float]) -> None:
    """Check and set a walker's `spec`, `terminate_when_unhealthy` and `healthy_z_range` (low < high)."""
    check_positive(name, episode_length=episode_length, success_threshold=success_threshold)
    if len(healthy_z_range) != 2 or not healthy_z_range[0] < healthy_z_range[1]:
        raise ValueError(f"{name}: healthy_z_range must be (low, high) with low < high, got {healthy_z_range!r}")
    env.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
    env.terminate_when_unhealthy = bool(terminate_when_unhealthy)
    env.healthy_z_range = (float(healthy_z_range[0]), float(healthy_z_range[1]))
