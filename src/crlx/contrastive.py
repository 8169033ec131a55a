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

from crlx.registry import register

Metrics = dict[str, Array]


def _offdiag_mean(x: Array) -> Array:
    """Mean of x_ij over the B(B-1) entries with i != j."""
    b = x.shape[0]
    return jnp.sum(jnp.where(jnp.eye(b, dtype=bool), 0.0, x)) / (b * (b - 1))


def infonce(logits: Array) -> tuple[Array, Metrics]:
    """Forward InfoNCE (softmax over goals j): mean_i [ logsumexp_j L_ij - L_ii ].

    Reference: Eysenbach et al. 2022 (CRL, eq. 4); JaxGCRL's "fwd_infonce" (agents/crl/losses.py)."""
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.diag(logits)), {}


def infonce_backward(logits: Array) -> tuple[Array, Metrics]:
    """Backward InfoNCE (softmax over state-actions i): mean_j [ logsumexp_i L_ij - L_jj ].

    Reference: JaxGCRL's "bwd_infonce" (agents/crl/losses.py)."""
    return infonce(logits.T)


def infonce_symmetric(logits: Array) -> tuple[Array, Metrics]:
    """Symmetric InfoNCE: infonce + infonce_backward
    = mean_i [ logsumexp_j L_ij + logsumexp_j L_ji - 2 L_ii ].

    Reference: JaxGCRL's "sym_infonce" (agents/crl/losses.py) and the JaxGCRL paper's
    "symmetric_infonce" (Bortkiewicz et al. 2025): the sum, not the mean, of the two directions,
    so the logsumexp penalty weighs half as much relative to it as to infonce."""
    return infonce(logits)[0] + infonce_backward(logits)[0], {}


def binary(logits: Array) -> tuple[Array, Metrics]:
    """Binary NCE: mean_ij -[ I_ij log sigmoid(L_ij) + (1 - I_ij) log sigmoid(-L_ij) ].

    Reference: Eysenbach et al. 2022 (CRL's NCE-binary critic, eq. 3); the JaxGCRL paper's "binary"
    (sigmoid cross-entropy against the identity, the same value)."""
    eye = jnp.eye(logits.shape[0], dtype=bool)
    return -jnp.mean(jnp.where(eye, jax.nn.log_sigmoid(logits), jax.nn.log_sigmoid(-logits))), {}


def flatnce(logits: Array) -> tuple[Array, Metrics]:
    """FlatNCE (Chen et al. 2021), over goals j.

    c_i = logsumexp_{j != i} (L_ij - L_ii);  loss = mean_i exp(c_i - stop_gradient(c_i)).
    The value is always 1 while the gradient equals that of mean_i c_i.
    The JaxGCRL paper's code (Bortkiewicz et al. 2025, "flatnce") takes the logsumexp over every j,
    the diagonal's exp(0) = 1 included; crlx keeps Chen et al.'s sum over j != i.
    """
    offdiag = ~jnp.eye(logits.shape[0], dtype=bool)
    c = jax.nn.logsumexp(logits - jnp.diag(logits)[:, None], axis=1, where=offdiag)
    loss = jnp.mean(jnp.exp(c - jax.lax.stop_gradient(c)))
    return loss, {"critic/flatnce_logit_gap": jnp.mean(c)}


def flatnce_backward(logits: Array) -> tuple[Array, Metrics]:
    """FlatNCE over state-actions i: c_j = logsumexp_{i != j} (L_ij - L_jj); loss = mean_j exp(c_j - sg(c_j)).

    Reference: as flatnce (Chen et al. 2021), transposed; the JaxGCRL paper's "flatnce_backward" also
    keeps the diagonal term in the logsumexp."""
    return flatnce(logits.T)


def fb(logits: Array) -> tuple[Array, Metrics]:
    """Forward-backward representation loss (no TD term): -mean_i L_ii + 0.5 offdiag_mean(L_ij^2).

    Reference: Touati et al. 2023 ("Does Zero-Shot RL Exist?"), Monte Carlo form as in the JaxGCRL
    paper's "fb" (Bortkiewicz et al. 2025)."""
    return -jnp.mean(jnp.diag(logits)) + 0.5 * _offdiag_mean(logits**2), {}


def dpo(logits: Array) -> tuple[Array, Metrics]:
    """DPO-style preference loss: -offdiag_mean log sigmoid(L_ii - L_ij).

    Reference: Rafailov et al. 2023 (DPO); the JaxGCRL paper's "dpo" averages over all B^2 pairs,
    diagonal zeros included, which scales the gradient by (B - 1) / B."""
    margin = jnp.diag(logits)[:, None] - logits
    return -_offdiag_mean(jax.nn.log_sigmoid(margin)), {}


def ipo(logits: Array) -> tuple[Array, Metrics]:
    """IPO-style preference loss with target margin 1: offdiag_mean (L_ii - L_ij - 1)^2.

    Reference: Azar et al. 2023 (IPO); the JaxGCRL paper's "ipo" averages over all B^2 pairs, whose
    diagonal terms (L_ii - L_ii - 1)^2 = 1 are constant."""
    margin = jnp.diag(logits)[:, None] - logits
    return _offdiag_mean((margin - 1.0) ** 2), {}


def sppo(logits: Array) -> tuple[Array, Metrics]:
    """SPPO-style regression to +1 on the diagonal and -1 off it, the diagonal weighted by B:

    loss = (1 / B^2) [ B sum_i (L_ii - 1)^2 + sum_{i != j} (L_ij + 1)^2 ]
         = mean_i (L_ii - 1)^2 + (B - 1) / B * offdiag_mean (L_ij + 1)^2.

    Reference: Wu et al. 2024 (SPPO); the form of the JaxGCRL paper's "sppo" (Bortkiewicz et al. 2025)."""
    b = logits.shape[0]
    return jnp.mean((jnp.diag(logits) - 1.0) ** 2) + (b - 1) / b * _offdiag_mean((logits + 1.0) ** 2), {}


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


# ---- user registration ----------------------------------------------------------------------

_PROBE_BATCH = 4


def _describe(out: object) -> str:
    """A readable summary of an eval_shape result: 'an array of shape (4, 4)' or the pytree of shapes."""
    if isinstance(out, jax.ShapeDtypeStruct):
        return f"an array of shape {tuple(out.shape)}"
    return repr(jax.tree.map(lambda s: tuple(s.shape), out))


def _check_loss(name: str, fn: Callable) -> None:
    """Trace fn with jax.eval_shape (no FLOPs) on (4, 4) logits; raise unless it gives (scalar, dict)."""
    b = _PROBE_BATCH
    try:
        out = jax.eval_shape(fn, jax.ShapeDtypeStruct((b, b), jnp.float32))
    except Exception as err:  # noqa: BLE001 - any failure is reported with its cause
        raise ValueError(
            f"register_loss: loss {name!r} failed when traced on logits of shape ({b}, {b}) float32: "
            f"{type(err).__name__}: {err}. Losses must be pure jax.numpy functions logits -> (loss, metrics)."
        ) from err
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(
            f"register_loss: loss {name!r} must return a pair (scalar loss, metrics dict), got "
            f"{_describe(out)}; return (loss, {{}}) when there are no metrics."
        )
    loss, metrics = out
    if not isinstance(loss, jax.ShapeDtypeStruct) or loss.shape != ():
        shape = tuple(loss.shape) if isinstance(loss, jax.ShapeDtypeStruct) else type(loss).__name__
        raise ValueError(
            f"register_loss: loss {name!r} must return a scalar loss (shape ()) first, got {shape} "
            f"for logits of shape ({b}, {b}); reduce it, e.g. with jnp.mean."
        )
    if not jnp.issubdtype(loss.dtype, jnp.floating):
        raise TypeError(f"register_loss: loss {name!r} must return a floating-point loss, got dtype {loss.dtype}.")
    if not isinstance(metrics, dict):
        raise TypeError(
            f"register_loss: loss {name!r} must return a dict of metrics second, got {_describe(metrics)}; "
            "return (loss, {}) when there are no metrics."
        )
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise TypeError(f"register_loss: loss {name!r} returned a metric key {key!r} that is not a str.")
        if not isinstance(value, jax.ShapeDtypeStruct) or value.shape != ():
            shape = tuple(value.shape) if isinstance(value, jax.ShapeDtypeStruct) else type(value).__name__
            raise ValueError(
                f"register_loss: loss {name!r} returned metric {key!r} with shape {shape}; metrics must be "
                "scalars (one logged number each)."
            )


def register_loss(name: str, fn: Callable[[Array], tuple[Array, Metrics]] | None = None, *, overwrite: bool = False):
    """Add a contrastive loss to ``LOSSES`` so that ``LossConfig(contrastive=name)`` can use it.

    ``fn(logits)`` takes the (B, B) logit matrix (rows: state-actions i, columns: goals j,
    positive pairs on the diagonal) and returns ``(loss, metrics)``: a scalar float loss to
    minimize and a dict of scalar metrics, logged as they are (use namespaced keys such as
    ``"critic/my_metric"``; ``{}`` for none). The logsumexp penalty and temperature are applied by
    crlx around it. It must be a pure, jit-able ``jax.numpy`` function; it is checked with
    ``jax.eval_shape`` on float32 logits of shape (4, 4) without computing anything, so a failing
    or wrongly shaped loss raises here, not mid-training.

    Use it as a call or as a decorator; either way it returns ``fn`` unchanged::

        import jax, jax.numpy as jnp
        import crlx
        from crlx.config import LossConfig

        @crlx.register_loss("margin")
        def margin(logits):
            gap = jnp.diag(logits)[:, None] - logits           # L_ii - L_ij
            off = ~jnp.eye(logits.shape[0], dtype=bool)
            return jnp.mean(jax.nn.relu(1.0 - gap), where=off), {}

        cfg = crlx.Config(env="point_mass", loss=LossConfig(contrastive="margin"))
        crlx.train(cfg)   # Config.validate() accepts every name in LOSSES

    Registration lives in this Python process only (the ``python -m crlx.train`` CLI lists the
    built-in names); ``LOSSES.pop(name)`` removes an entry again.

    Raises:
        TypeError: ``name`` is not a str, ``fn`` is not callable, or it does not return a pair
            (floating-point scalar, dict with str keys).
        ValueError: ``name`` is empty or already registered (without ``overwrite=True``), or
            ``fn`` fails to trace, or the loss or a metric is not a scalar.
    """
    return register("loss", LOSSES, name, fn, overwrite, "logits -> (loss, metrics)", _check_loss)
