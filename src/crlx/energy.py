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

EPS = 1e-6
"""Added under square roots so that distances stay differentiable at zero."""

_NORM_FLOOR = 1e-6


def _sq_dist(x: Array, y: Array) -> Array:
    """Pairwise squared distances ||x_i - y_j||^2 (B, B) without a (B, B, d) tensor.

    Uses ||x_i||^2 + ||y_j||^2 - 2 x_i . y_j, clamped at 0 against round-off.
    """
    xx = jnp.sum(x * x, axis=-1)[:, None]
    yy = jnp.sum(y * y, axis=-1)[None, :]
    return jnp.maximum(xx + yy - 2.0 * (x @ y.T), 0.0)


def l2(phi: Array, psi: Array) -> Array:
    """Negative Euclidean distance: L_ij = -sqrt(sum_k (phi_ik - psi_jk)^2 + EPS)."""
    return -jnp.sqrt(_sq_dist(phi, psi) + EPS)


def l2_sq(phi: Array, psi: Array) -> Array:
    """Negative squared Euclidean distance: L_ij = -sum_k (phi_ik - psi_jk)^2."""
    return -_sq_dist(phi, psi)


def l1(phi: Array, psi: Array) -> Array:
    """Negative Manhattan distance: L_ij = -sum_k |phi_ik - psi_jk|."""
    return -jnp.sum(jnp.abs(phi[:, None, :] - psi[None, :, :]), axis=-1)


def dot(phi: Array, psi: Array) -> Array:
    """Inner product: L_ij = phi_i . psi_j."""
    return phi @ psi.T


def cosine(phi: Array, psi: Array) -> Array:
    """Cosine similarity: L_ij = phi_i . psi_j / (max(||phi_i||, 1e-6) max(||psi_j||, 1e-6))."""
    phi_n = phi / jnp.maximum(jnp.linalg.norm(phi, axis=-1, keepdims=True), _NORM_FLOOR)
    psi_n = psi / jnp.maximum(jnp.linalg.norm(psi, axis=-1, keepdims=True), _NORM_FLOOR)
    return phi_n @ psi_n.T


def mrn(phi: Array, psi: Array) -> Array:
    """Metric residual network energy (Liu et al. 2023).

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
