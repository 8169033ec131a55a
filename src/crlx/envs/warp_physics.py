"""MuJoCo Warp under MJX (`impl="warp"`) for crlx's MJX envs: physics steps of per-env data.

MJX's Warp implementation steps a batch of worlds in one kernel launch per stage. Its contact
arena (`naconmax`, and `naccdmax`) is shared by all worlds of the batch, so its size depends on
how many envs are stepped together, which an env's `step` under `jax.vmap` does not know.
`WarpPhysics.advance` hides that:

- an env's state carries a plain per-env `mjx.Data` of the public fields only (`_impl=None`:
  qpos, qvel, mocap, ctrl, the warm start, positions, ...), so wrappers that pick per env with
  `jnp.where` (auto-reset) and `jax.tree.map` work unchanged and both backends carry the same
  fields;
- a `jax.custom_batching.custom_vmap` rule sees the batch size, builds MJX's Warp data for that
  many worlds (the public fields, Warp's internal arrays from a one-world template, a contact
  arena of `contacts_per_world` x worlds), runs the physics steps and returns the public fields.
  Nested vmaps (seeds x envs) flatten into one batch of worlds.

Positions in the returned data are those MuJoCo's `mj_step` leaves (computed before the last
integration) unless `advance(..., kinematics=True)` recomputes them from the final qpos (Warp's
forward kinematics, as the Meta-World ports observe them; with 0 steps, a reset's kinematics).

`warp_available()` says whether this MuJoCo/MJX can run it; without it `require_warp` raises
`WarpNotInstalled` naming the `warp` extra.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

WARP_INSTALL_HINT = (
    'install the warp extra: pip install -e ".[warp]" (warp-lang, mujoco >= 4.0.1, mujoco-mjx >= 3.17), and for '
    "the mw_* envs Meta-World's scene files beside it: pip install --no-deps metaworld==3.1.1 (the metaworld "
    "extra's environment cannot have it: metaworld pins mujoco 3.3.0)"
)
OVERFLOW_DROPS = 1 | 2 | 4 | 8 | 16
"""bits of MuJoCo Warp's `overflow` that mean dropped contacts or constraints (NEFC, NJMAX_NNZ,
BROADPHASE, NARROWPHASE, CCD); the solver's iteration limits (other bits) drop nothing"""
ITERATION_LIMITS = (1 << 9) | (1 << 10)
"""MuJoCo Warp's ITERATIONS and LS_ITERATIONS bits: scenes that set few solver iterations on purpose
(the ant's 1 Newton iteration, as on MJX) reach them at every step; Warp does not print them here"""


class WarpNotInstalled(ImportError):
    """MJX's Warp implementation cannot run here (warp-lang missing or an MJX without it)."""


@functools.cache
def _mjx_warp():
    """MJX's warp module when warp-lang imports and this MJX has impl='warp', else None."""
    if importlib.util.find_spec("warp") is None:
        return None
    try:
        import warp

        warp.config.quiet = True  # no start-up banner on stdout
        if warp.config.log_level == warp.LOG_INFO:  # Warp's default: a line per kernel module loaded
            warp.config.log_level = warp.LOG_WARNING
        from mujoco.mjx import warp as mjxw
    except (ImportError, RuntimeError):
        return None
    return mjxw if getattr(mjxw, "WARP_INSTALLED", False) else None


def warp_available() -> bool:
    """True when `backend="warp"` can run: warp-lang imports and MJX has its Warp implementation."""
    return _mjx_warp() is not None


def require_warp(label: str) -> None:
    """Raise WarpNotInstalled naming the extra unless `warp_available()`."""
    if not warp_available():
        raise WarpNotInstalled(f"{label}: backend 'warp' needs MuJoCo Warp through MJX; {WARP_INSTALL_HINT}")


def public_data(data) -> Any:
    """`data` (an mjx.Data of either implementation) with its implementation fields dropped."""
    return data.replace(_impl=None)


def _broadcast(tree, batched, size: int):
    return jax.tree.map(lambda x, b: x if b else jnp.broadcast_to(x, (size,) + jnp.shape(x)), tree, tuple(batched))


class WarpPhysics:
    """An MjModel on MJX's Warp implementation, stepped on per-env public `mjx.Data`.

    `contacts_per_world` and `constraints_per_world` size MuJoCo Warp's arrays (its defaults for
    the model when None); a batch of N envs gets a contact arena of N x contacts_per_world.
    `world_fields` are the model fields an env may vary per episode (e.g. 'body_pos'), passed
    to `advance` per env.
    """

    def __init__(self, mj_model: mujoco.MjModel, contacts_per_world: int | None = None,
                 constraints_per_world: int | None = None, world_fields: tuple[str, ...] = ()):
        from mujoco import mjx
        from mujoco.mjx._src import types as mjx_types

        self._mjx, self._types = mjx, mjx_types
        model = mjx.put_model(mj_model, impl="warp")
        quiet = model.opt._impl.replace(warn_overflow=int(model.opt._impl.warn_overflow) & ~ITERATION_LIMITS)
        self.model = model.replace(opt=model.opt.replace(_impl=quiet))
        template = mjx.make_data(mj_model, impl="warp", naconmax=contacts_per_world, njmax=constraints_per_world)
        self.contacts_per_world = int(template._impl.naconmax)
        self.ccd_per_world = int(template._impl.naccdmax)
        self.constraints_per_world = int(template._impl.njmax)
        self._template = template._impl
        self.world_fields = tuple(world_fields)
        self._advance = {}

    def advance(self, data, nsteps: int, kinematics: bool = False, **world_fields: jax.Array):
        """(`data` after `nsteps` physics steps, MuJoCo Warp's overflow bits) for public per-env
        mjx.Data `data`; under vmap, one Warp batch of worlds. With `kinematics`, the positions are
        then recomputed from the final qpos (Warp's forward kinematics; nsteps=0: kinematics only).
        `world_fields`: this env's values of the model's `world_fields`."""
        if set(world_fields) != set(self.world_fields):
            raise ValueError(f"WarpPhysics.advance: give exactly the world fields {self.world_fields}, got {sorted(world_fields)}")
        key = (nsteps, kinematics)
        if key not in self._advance:
            self._advance[key] = self._make_advance(nsteps, kinematics)
        fields = {name: getattr(data, name) for name in self._public_names(data)}
        out, overflow = self._advance[key](fields, dict(world_fields))
        return data.replace(**out), overflow

    def _public_names(self, data) -> list[str]:
        """mjx.Data's public fields (`data` may be a subclass with more, e.g. brax's pipeline state)."""
        return [f.name for f in self._types.Data.fields() if f.name != "_impl"]

    def _make_advance(self, nsteps: int, kinematics: bool):
        """A custom_vmap function (fields, world_fields) -> (fields, overflow) for one env, whose
        batching rule steps the batch as Warp worlds; nested batches flatten into one."""

        @jax.custom_batching.custom_vmap
        def worlds(fields, model_fields):  # every leaf: (W, ...) for W worlds
            return self._step_worlds(fields, model_fields, nsteps, kinematics)

        @worlds.def_vmap
        def worlds_batched(axis_size, in_batched, fields, model_fields):
            fields, model_fields = _broadcast((fields, model_fields), in_batched, axis_size)
            inner = int(fields["qpos"].shape[1])
            flat = jax.tree.map(lambda x: x.reshape((axis_size * inner,) + x.shape[2:]), (fields, model_fields))
            out = worlds(*flat)
            out = jax.tree.map(lambda x: x.reshape((axis_size, inner) + x.shape[1:]), out)
            return out, jax.tree.map(lambda _: True, out)

        @jax.custom_batching.custom_vmap
        def one(fields, model_fields):
            out = worlds(*jax.tree.map(lambda x: x[None], (fields, model_fields)))
            return jax.tree.map(lambda x: x[0], out)

        @one.def_vmap
        def one_batched(axis_size, in_batched, fields, model_fields):
            out = worlds(*_broadcast((fields, model_fields), in_batched, axis_size))
            return out, jax.tree.map(lambda _: True, out)

        return one

    def _step_worlds(self, fields: dict, model_fields: dict, nsteps: int, kinematics: bool):
        """`nsteps` MJX Warp steps of W worlds (leading axis of every leaf), then kinematics if
        asked; returns the public fields and each world's overflow bits."""
        num_worlds = int(fields["qpos"].shape[0])
        impl = self._impl_for(num_worlds)
        data = self._types.Data(**fields, _impl=impl)
        model = self.model.replace(**model_fields)
        model_axes = jax.tree.map(lambda _: None, self.model).replace(**{name: 0 for name in model_fields})

        def run(m, d):
            if nsteps:
                d = jax.lax.fori_loop(0, nsteps, lambda _, d: self._mjx.step(m, d), d)
            return self._mjx.kinematics(m, d) if kinematics else d

        out = jax.vmap(run, in_axes=(model_axes, 0))(model, data)
        overflow = jnp.reshape(out._impl.overflow, (num_worlds, -1))[:, 0]
        return {name: getattr(out, name) for name in fields}, overflow

    def _impl_for(self, num_worlds: int):
        """MJX's Warp data for `num_worlds` worlds: the template's per-world arrays (vmapped by
        the caller), a zeroed contact arena of num_worlds x contacts_per_world."""
        from mujoco.mjx.warp import types as warp_types

        template, changes = self._template, {}
        for name in warp_types.DATA_NON_VMAP:
            value = getattr(template, name)
            if name.startswith("contact__") and np.ndim(value) and np.shape(value)[0] == self.contacts_per_world:
                changes[name] = jnp.zeros((num_worlds * self.contacts_per_world,) + np.shape(value)[1:], value.dtype)
        per_world = {name: jnp.broadcast_to(getattr(template, name), (num_worlds,) + np.shape(getattr(template, name)))
                     for name in (f.name for f in template.fields())
                     if name not in warp_types.DATA_NON_VMAP and isinstance(getattr(template, name), (jax.Array, np.ndarray))}
        return template.replace(**changes, **per_world, naconmax=num_worlds * self.contacts_per_world,
                                naccdmax=num_worlds * self.ccd_per_world)
