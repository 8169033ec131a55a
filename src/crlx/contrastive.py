"""LOSSES registry: logits (B, B) -> (loss, metrics); positives on the diagonal.

Notation: L is the logit matrix (rows: state-actions i, columns: goals j), B its
size, I the identity, and offdiag_mean the mean over the B(B-1) entries i != j.
Every loss is a scalar to minimize; metrics use namespaced keys ("critic/...").
"""

from __future__ import annotations

from typing import Callable, Literal

import jax
import jax.numpy as jnp
from jax import Array

Metrics = dict[str, Array]


def _offdiag_mean(x: Array) -> Array:
    """Mean of x_ij over the B(B-1) entries with i != j."""
    b = x.shape[0]
    return jnp.sum(jnp.where(jnp.eye(b, dtype=bool), 0.0, x)) / (b * (b - 1))


def infonce(logits: Array) -> tuple[Array, Metrics]:
    """Forward InfoNCE (softmax over goals j): mean_i [ logsumexp_j L_ij - L_ii ]."""
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.diag(logits)), {}


def infonce_backward(logits: Array) -> tuple[Array, Metrics]:
    """Backward InfoNCE (softmax over state-actions i): mean_j [ logsumexp_i L_ij - L_jj ]."""
    return infonce(logits.T)


def infonce_symmetric(logits: Array) -> tuple[Array, Metrics]:
    """Symmetric InfoNCE: (infonce + infonce_backward) / 2."""
    return 0.5 * (infonce(logits)[0] + infonce_backward(logits)[0]), {}


def binary(logits: Array) -> tuple[Array, Metrics]:
    """Binary NCE: mean_ij -[ I_ij log sigmoid(L_ij) + (1 - I_ij) log sigmoid(-L_ij) ]."""
    eye = jnp.eye(logits.shape[0], dtype=bool)
    return -jnp.mean(jnp.where(eye, jax.nn.log_sigmoid(logits), jax.nn.log_sigmoid(-logits))), {}


def flatnce(logits: Array) -> tuple[Array, Metrics]:
    """FlatNCE (Chen et al. 2021), over goals j.

    c_i = logsumexp_{j != i} (L_ij - L_ii);  loss = mean_i exp(c_i - stop_gradient(c_i)).
    The value is always 1 while the gradient equals that of mean_i c_i.
    """
    offdiag = ~jnp.eye(logits.shape[0], dtype=bool)
    c = jax.nn.logsumexp(logits - jnp.diag(logits)[:, None], axis=1, where=offdiag)
    loss = jnp.mean(jnp.exp(c - jax.lax.stop_gradient(c)))
    return loss, {"critic/flatnce_logit_gap": jnp.mean(c)}


def flatnce_backward(logits: Array) -> tuple[Array, Metrics]:
    """FlatNCE over state-actions i: c_j = logsumexp_{i != j} (L_ij - L_jj); loss = mean_j exp(c_j - sg(c_j))."""
    return flatnce(logits.T)


def fb(logits: Array) -> tuple[Array, Metrics]:
    """Forward-backward representation loss (no TD term): -mean_i L_ii + 0.5 offdiag_mean(L_ij^2)."""
    return -jnp.mean(jnp.diag(logits)) + 0.5 * _offdiag_mean(logits**2), {}


def dpo(logits: Array) -> tuple[Array, Metrics]:
    """DPO-style preference loss: -offdiag_mean log sigmoid(L_ii - L_ij)."""
    margin = jnp.diag(logits)[:, None] - logits
    return -_offdiag_mean(jax.nn.log_sigmoid(margin)), {}


def ipo(logits: Array) -> tuple[Array, Metrics]:
    """IPO-style preference loss with target margin 1: offdiag_mean (L_ii - L_ij - 1)^2."""
    margin = jnp.diag(logits)[:, None] - logits
    return _offdiag_mean((margin - 1.0) ** 2), {}


def sppo(logits: Array) -> tuple[Array, Metrics]:
    """SPPO-style regression: mean_i (L_ii - 0.5)^2 + offdiag_mean (L_ij + 0.5)^2."""
    return jnp.mean((jnp.diag(logits) - 0.5) ** 2) + _offdiag_mean((logits + 0.5) ** 2), {}


LOSSES: dict[str, Callable[[Array], tuple[Array, Metrics]]] = {
    "infonce": infonce,
    "infonce_backward": infonce_backward,
    "infonce_symmetric": infonce_symmetric,
    "binary": binary,
    "flatnce": flatnce,
    "flatnce_backward": flatnce_backward,
    "fb": fb,
    "dpo": dpo,
    "ipo": ipo,
    "sppo": sppo,
}

ContrastiveLoss = Literal[
    "infonce",
    "infonce_backward",
    "infonce_symmetric",
    "binary",
    "flatnce",
    "flatnce_backward",
    "fb",
    "dpo",
    "ipo",
    "sppo",
]
