"""ENERGIES registry: (phi, psi) -> logits.

Every entry maps representations ``phi`` (B, d) of state-actions and ``psi``
(B, d) of goals to a logit matrix (B, B) with ``logits[i, j] = f(phi_i, psi_j)``.
The diagonal holds the positive pairs; a higher logit means more compatible.
All entries are pure and jit-able.
"""

from __future__ import annotations

from typing import Callable, Literal

import jax
import jax.numpy as jnp
from jax import Array

from crlx.registry import register

EPS = 1e-6
"""Added under square roots so that distances stay differentiable at zero."""

_NORM_FLOOR = 1e-6


def _sq_dist(x: Array, y: Array) -> Array:
    """Pairwise squared distances ||x_i - y_j||^2 (B, B); the diagonal exact from the differences.

    Off the diagonal: ||x_i||^2 + ||y_j||^2 - 2 x_i . y_j (one matmul, at HIGHEST precision so that
    GPUs do not use TF32), clamped at 0. That expansion cancels catastrophically when x_i ~ y_j and
    the norms are large (0.5% off at ||x|| ~ 50 in float32 on CPU), which is the case of the positive
    pairs on the diagonal; they are computed as sum_k (x_ik - y_ik)^2 instead, O(B d). A (B, B, d)
    difference for every pair would be exact too, but costs ~8x the matmul on a CPU.
    """
    xx = jnp.sum(x * x, axis=-1)[:, None]
    yy = jnp.sum(y * y, axis=-1)[None, :]
    cross = jnp.matmul(x, y.T, precision=jax.lax.Precision.HIGHEST)
    d2 = jnp.maximum(xx + yy - 2.0 * cross, 0.0)  # (B, B)
    if x.shape[0] != y.shape[0]:
        return d2
    positives = jnp.sum((x - y) ** 2, axis=-1)  # (B,)
    return jnp.where(jnp.eye(x.shape[0], dtype=bool), positives[:, None], d2)


def l2(phi: Array, psi: Array) -> Array:
    """Negative Euclidean distance: L_ij = -sqrt(sum_k (phi_ik - psi_jk)^2 + EPS).

    Reference: Eysenbach et al. 2022 (CRL); JaxGCRL's energy "norm" (agents/crl/losses.py, same EPS)."""
    return -jnp.sqrt(_sq_dist(phi, psi) + EPS)


def l2_sq(phi: Array, psi: Array) -> Array:
    """Negative squared Euclidean distance: L_ij = -sum_k (phi_ik - psi_jk)^2.

    Reference: JaxGCRL's energy "l2" (agents/crl/losses.py)."""
    return -_sq_dist(phi, psi)


def l1(phi: Array, psi: Array) -> Array:
    """Negative Manhattan distance: L_ij = -sum_k |phi_ik - psi_jk|.

    Reference: the JaxGCRL paper's energy ablation (Bortkiewicz et al. 2025, energy "l1")."""
    return -jnp.sum(jnp.abs(phi[:, None, :] - psi[None, :, :]), axis=-1)


def dot(phi: Array, psi: Array) -> Array:
    """Inner product: L_ij = phi_i . psi_j.

    Reference: Eysenbach et al. 2022 (CRL's inner-product critic); JaxGCRL's energy "dot"."""
    return phi @ psi.T


def _unit_rows(x: Array) -> Array:
    """x_i / max(||x_i||, 1e-6), with finite gradients also at x_i = 0 (where ||.|| has none)."""
    return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x, axis=-1, keepdims=True), _NORM_FLOOR**2))


def cosine(phi: Array, psi: Array) -> Array:
    """Cosine similarity: L_ij = phi_i . psi_j / (max(||phi_i||, 1e-6) max(||psi_j||, 1e-6)).

    Reference: JaxGCRL's energy "cosine" (agents/crl/losses.py), which divides by ||x|| ||y|| + 1e-6
    instead; both agree for rows of norm >> 1e-6."""
    return _unit_rows(phi) @ _unit_rows(psi).T


def mrn(phi: Array, psi: Array) -> Array:
    """Metric residual network energy (Liu et al. 2023, "Metric Residual Networks", eq. 6).

    With phi_i = (a_i, b_i) and psi_j = (c_j, d_j) split into halves of size d // 2:
    L_ij = -( sqrt(sum_k (a_ik - c_jk)^2 + EPS) + max_k relu(b_ik - d_jk) ).
    The first term is symmetric, the second an asymmetric quasimetric residual.
    """
    dim = phi.shape[-1]
    if dim % 2:
        raise ValueError(f"energy 'mrn' needs an even representation size (repr_dim), got {dim}")
    half = dim // 2
    a, b = phi[:, :half], phi[:, half:]
    c, d = psi[:, :half], psi[:, half:]
    sym = jnp.sqrt(_sq_dist(a, c) + EPS)
    asym = jnp.max(jax.nn.relu(b[:, None, :] - d[None, :, :]), axis=-1)
    return -(sym + asym)


ENERGIES: dict[str, Callable[[Array, Array], Array]] = {
    "l2": l2,
    "l2_sq": l2_sq,
    "l1": l1,
    "dot": dot,
    "cosine": cosine,
    "mrn": mrn,
}

Energy = Literal["l2", "l2_sq", "l1", "dot", "cosine", "mrn"]


def pairwise_energy(name: str) -> Callable[[Array, Array], Array]:
    """Diagonal-only energy: (phi, psi) (B, d) -> (B,) with out_i = ENERGIES[name](phi, psi)[i, i].

    Computed row by row with vmap, so it costs O(B) instead of O(B^2).
    """
    fn = ENERGIES[name]

    def energy(phi: Array, psi: Array) -> Array:
        return jax.vmap(lambda p, q: fn(p[None], q[None])[0, 0])(phi, psi)

    return energy


# ---- user registration ----------------------------------------------------------------------

_PROBE_BATCH = 4
_PROBE_DIMS = (3, 6)
"""Representation sizes tried when checking a new energy: 3 first (differs from the batch size,
so a (B, d) output is caught), then the even 6 for energies that split phi and psi in halves."""


def _check_energy(name: str, fn: Callable) -> None:
    """Trace fn with jax.eval_shape (no FLOPs) on (B, d) inputs; raise if the output is not (B, B) float."""
    errors = []
    for dim in _PROBE_DIMS:
        for batch in (_PROBE_BATCH, 1):  # 1: the actor evaluates the energy one (phi_i, psi_i) pair at a time
            probe = jax.ShapeDtypeStruct((batch, dim), jnp.float32)
            try:
                out = jax.eval_shape(fn, probe, probe)
            except Exception as err:  # noqa: BLE001 - any failure is reported with its cause
                errors.append((batch, dim, err))
                break
            if not isinstance(out, jax.ShapeDtypeStruct):
                raise TypeError(
                    f"register_energy: energy {name!r} must return one (B, B) array of logits, but on phi, psi "
                    f"of shape ({batch}, {dim}) it returned {jax.tree.map(lambda s: s.shape, out)!r}."
                )
            if out.shape != (batch, batch):
                raise ValueError(
                    f"register_energy: energy {name!r} must map phi, psi of shape (B, d) to logits of shape "
                    f"(B, B); for shape ({batch}, {dim}) it returned shape {tuple(out.shape)}, expected "
                    f"{(batch, batch)}."
                )
            if not jnp.issubdtype(out.dtype, jnp.floating):
                raise TypeError(
                    f"register_energy: energy {name!r} must return floating-point logits, got dtype {out.dtype}."
                )
        else:
            return  # every probe of this representation size passed
    batch, dim, err = errors[0]
    raise ValueError(
        f"register_energy: energy {name!r} failed when traced on phi, psi of shape ({batch}, {dim}) float32: "
        f"{type(err).__name__}: {err}. Energies must be pure jax.numpy functions (phi, psi) -> (B, B)."
    ) from err


def register_energy(name: str, fn: Callable[[Array, Array], Array] | None = None, *, overwrite: bool = False):
    """Add an energy to ``ENERGIES`` so that ``LossConfig(energy=name)`` can use it.

    ``fn(phi, psi)`` maps representations ``phi`` (B, d) of state-actions and ``psi`` (B, d) of
    goals to logits (B, B) with ``logits[i, j] = f(phi_i, psi_j)``; higher means more compatible.
    It must be a pure, jit-able ``jax.numpy`` function (the critic differentiates through it, and
    the actor evaluates it on single pairs, B = 1). It is checked with ``jax.eval_shape`` on
    float32 inputs of shape (4, 3) and (1, 3) -- or (4, 6) and (1, 6) if it rejects an odd d --
    without computing anything; a failing or wrongly shaped energy raises here, not mid-training.

    Use it as a call or as a decorator; either way it returns ``fn`` unchanged::

        import jax.numpy as jnp
        import crlx
        from crlx.config import LossConfig

        @crlx.register_energy("neg_chebyshev")
        def neg_chebyshev(phi, psi):
            return -jnp.max(jnp.abs(phi[:, None, :] - psi[None, :, :]), axis=-1)

        cfg = crlx.Config(env="point_mass", loss=LossConfig(energy="neg_chebyshev"))
        crlx.train(cfg)   # Config.validate() accepts every name in ENERGIES

    Registration lives in this Python process only (the ``python -m crlx.train`` CLI lists the
    built-in names); ``ENERGIES.pop(name)`` removes an entry again.

    Raises:
        TypeError: ``name`` is not a str, ``fn`` is not callable, or it does not return one
            floating-point array.
        ValueError: ``name`` is empty or already registered (without ``overwrite=True``), or
            ``fn`` fails to trace or returns a shape other than (B, B).
    """
    return register("energy", ENERGIES, name, fn, overwrite, "(phi, psi) -> logits", _check_energy)
