"""The scenes brax ships (`brax/envs/assets/*.xml`), read from the installed brax and adapted at load time.

JaxGCRL's tasks run on copies of these scenes with a few changes (jaxgcrl 0.2.8,
`jaxgcrl/envs/assets/*.xml`); crlx makes the same changes with `mujoco.MjSpec` when it loads
brax's file, so no copy of the scene lives in crlx:

    add_target(spec, axes, z, radius, joint_range)   a collision-free sphere on slide joints that
                                                      marks the goal (JaxGCRL's body "target")
    set_floor_size(spec, half_extent)                the floor plane's half extent (m)
    set_geom_attr(spec, names, **attrs)              e.g. conaffinity = 1 on the ant's geoms in mazes

`brax_scene_spec` first folds bodies without joints into their parents with brax's own
`brax.io.mjcf.fuse_bodies`, as `brax.io.mjcf.load` does (the same bodies, masses and inertias);
MuJoCo's `compiler.fusestatic` is not used, as MuJoCo 3.3 keeps e.g. the reacher's jointless
fingertip body where 4.0 folds it.

`BackendSettings` holds the per-backend physics changes brax's and JaxGCRL's envs make: the
spring and positional pipelines use a smaller `opt.timestep` with more frames (same control
step dt = timestep * n_frames) and other gears; the ant and humanoid use MJX's Newton solver with
1 iteration and 4 line-search iterations, Euler damping off.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import pathlib
from typing import Sequence

import mujoco
import numpy as np
from brax.base import System
from brax.io import mjcf

BRAX_SCENES = ("ant.xml", "half_cheetah.xml", "humanoid.xml", "pusher.xml", "reacher.xml")
"""the brax scenes crlx's JaxGCRL tasks run on"""
JAXGCRL_EPISODE_LENGTH = 1001
"""jaxgcrl/utils/config.py RunConfig.episode_length, the same for every JaxGCRL env"""


def brax_asset(name: str) -> pathlib.Path:
    """Path of brax's shipped scene `name` (e.g. "ant.xml") in the installed brax package."""
    path = pathlib.Path(str(importlib.resources.files("brax"))) / "envs" / "assets" / name
    if not path.is_file():
        raise FileNotFoundError(f"brax scene {name!r} not found at {path}; is brax installed (pip install brax)?")
    return path


def brax_scene_spec(name: str) -> mujoco.MjSpec:
    """brax's scene `name` as an editable MjSpec, jointless bodies fused into their parents."""
    return mujoco.MjSpec.from_string(mjcf.fuse_bodies(brax_asset(name).read_text()))


def _numeric(spec: mujoco.MjSpec, name: str):
    return next((n for n in spec.numerics if n.name == name), None)


def _set_numeric(numeric, values: np.ndarray) -> None:
    numeric.size = len(values)
    numeric.data = [float(v) for v in values]


def add_target(spec: mujoco.MjSpec, axes: str = "xy", z: float = 0.01, radius: float = 0.9,
               joint_range: float = 20.0) -> None:
    """A body "target" at (0, 0, z) on slide joints target_<axis> for each of `axes`.

    Its sphere geom (mass 1) touches nothing (contype = conaffinity = 0), so it leaves the rest of
    the scene's dynamics as they are; its joints come last in qpos / qvel. brax's `init_qpos` and
    the per-body `constraint_ang_damping` numerics grow with it (by zeros and by 1).
    """
    body = spec.worldbody.add_body(name="target", pos=[0.0, 0.0, z])
    for axis in axes:
        direction = [1.0 if axis == a else 0.0 for a in "xyz"]
        body.add_joint(name=f"target_{axis}", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=direction, armature=0.0,
                       damping=0.0, stiffness=0.0, limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                       range=[-joint_range, joint_range])
    body.add_geom(name="target", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[radius, 0, 0], mass=1.0, contype=0,
                  conaffinity=0)
    init = _numeric(spec, "init_qpos")
    if init is not None:
        _set_numeric(init, np.concatenate([np.asarray(init.data), np.zeros(len(axes))]))
    damping = _numeric(spec, "constraint_ang_damping")
    if damping is not None and len(damping.data) > 1:  # one value per body
        _set_numeric(damping, np.append(np.asarray(damping.data), 1.0))


def set_floor_size(spec: mujoco.MjSpec, half_extent: float) -> None:
    """The plane geom "floor" spans [-half_extent, half_extent]^2 (its third size entry kept)."""
    floor = spec.geom("floor")
    floor.size = [half_extent, half_extent, floor.size[2]]


def set_geom_attr(spec: mujoco.MjSpec, names: Sequence[str], **attrs) -> None:
    """Set attributes (e.g. conaffinity=1) on the geoms `names`."""
    for name in names:
        geom = spec.geom(name)
        if geom is None:
            raise ValueError(f"scene has no geom named {name!r}")
        for key, value in attrs.items():
            setattr(geom, key, value)


@dataclasses.dataclass(frozen=True)
class BackendSettings:
    """Physics step per backend: dt = timestep * n_frames stays the same on every backend."""

    n_frames: int
    """frames per env step on 'generalized' and 'mjx' (the scene's own opt.timestep)"""
    spring_timestep: float | None = None
    """opt.timestep on 'spring' and 'positional' (None: the scene's)"""
    spring_n_frames: int | None = None
    spring_gear: float | tuple[float, ...] | None = None
    """actuator gear on 'spring' and 'positional' (None: the scene's)"""
    positional_gear: float | None = None
    """actuator gear on 'positional' only (overrides spring_gear)"""
    mjx_newton: bool = False
    """MJX: Newton solver, 1 iteration, 4 line-search iterations, Euler damping off"""

    def apply(self, sys: System, backend: str) -> tuple[System, int]:
        """(sys with this backend's changes, n_frames)."""
        n_frames = self.n_frames
        if backend in ("spring", "positional"):
            if self.spring_timestep is not None:
                sys = sys.tree_replace({"opt.timestep": self.spring_timestep})
                n_frames = self.spring_n_frames
            gear = self.positional_gear if backend == "positional" and self.positional_gear else self.spring_gear
            if gear is not None:
                gear = np.broadcast_to(np.asarray(gear, np.float32), sys.actuator.gear.shape)
                sys = sys.replace(actuator=sys.actuator.replace(gear=np.array(gear)))
        if backend == "mjx" and self.mjx_newton:
            sys = sys.tree_replace({
                "opt.solver": mujoco.mjtSolver.mjSOL_NEWTON,
                "opt.disableflags": mujoco.mjtDisableBit.mjDSBL_EULERDAMP,
                "opt.iterations": 1,
                "opt.ls_iterations": 4,
            })
        return sys, n_frames


ANT_SETTINGS = BackendSettings(n_frames=5, spring_timestep=0.005, spring_n_frames=10, positional_gear=200.0,
                               mjx_newton=True)
"""brax envs/ant.py and jaxgcrl/envs/ant.py, ant_maze.py, simple_maze.py"""
REACHER_SETTINGS = BackendSettings(n_frames=2, spring_timestep=0.005, spring_n_frames=4, spring_gear=(25.0, 25.0))
"""brax envs/reacher.py and jaxgcrl/envs/reacher.py"""
CHEETAH_SETTINGS = BackendSettings(n_frames=5, spring_timestep=0.003125, spring_n_frames=16,
                                   spring_gear=(120.0, 90.0, 60.0, 120.0, 100.0, 100.0))
"""brax envs/half_cheetah.py and jaxgcrl/envs/half_cheetah.py"""
PUSHER_SETTINGS = BackendSettings(n_frames=5, spring_timestep=0.001, spring_n_frames=50, spring_gear=20.0)
"""jaxgcrl/envs/pusher.py"""
HUMANOID_SETTINGS = BackendSettings(n_frames=5, spring_timestep=0.0015, spring_n_frames=10,
                                    spring_gear=(350.0,) * 11 + (100.0,) * 6, mjx_newton=True)
"""brax envs/humanoid.py and jaxgcrl/envs/humanoid.py"""
