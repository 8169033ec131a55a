"""Tests for crlx.contrastive against loop-based NumPy references."""

import typing

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crlx.contrastive import LOSSES, ContrastiveLoss

B = 8


def _lse(v):
    m = np.max(v)
    return m + np.log(np.sum(np.exp(v - m)))


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _offdiag_mean(f, L):
    n = len(L)
    return sum(f(L, i, j) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))


def _infonce(L):
    return np.mean([_lse(L[i]) - L[i, i] for i in range(len(L))])


def _flat_c(L):
    """c_i = logsumexp_{j != i}(L_ij - L_ii)."""
    n = len(L)
    return np.array([_lse(np.array([L[i, j] - L[i, i] for j in range(n) if j != i])) for i in range(n)])


def _flat_c_grad(L):
    """Analytic d mean_i c_i / dL: softmax_{j != i} off the diagonal, -1 on it, over B."""
    n = len(L)
    g = np.zeros_like(L)
    c = _flat_c(L)
    for i in range(n):
        for j in range(n):
            g[i, j] = -1.0 if i == j else np.exp(L[i, j] - L[i, i] - c[i])
    return g / n


def _binary(L):
    n = len(L)
    total = 0.0
    for i in range(n):
        for j in range(n):
            total -= _log_sigmoid(L[i, j]) if i == j else _log_sigmoid(-L[i, j])
    return total / n**2


REF = {
    "infonce": _infonce,
    "infonce_backward": lambda L: _infonce(L.T),
    "infonce_symmetric": lambda L: _infonce(L) + _infonce(L.T),
    "binary": _binary,
    "flatnce": lambda L: 1.0,
    "flatnce_backward": lambda L: 1.0,
    "fb": lambda L: -np.mean(np.diag(L)) + 0.5 * _offdiag_mean(lambda L, i, j: L[i, j] ** 2, L),
    "dpo": lambda L: -_offdiag_mean(lambda L, i, j: _log_sigmoid(L[i, i] - L[i, j]), L),
    "ipo": lambda L: _offdiag_mean(lambda L, i, j: (L[i, i] - L[i, j] - 1.0) ** 2, L),
    "sppo": lambda L: _sppo(L),
}


def _sppo(L):
    """The JaxGCRL paper's sppo, entry by entry: (1/B^2) sum_ij w_ij (L_ij - t_ij)^2, t = 2I - 1, w_ii = B, else 1."""
    n = len(L)
    total = 0.0
    for i in range(n):
        for j in range(n):
            total += n * (L[i, j] - 1.0) ** 2 if i == j else (L[i, j] + 1.0) ** 2
    return total / n**2

# Losses regressing towards a finite target: the sign test uses that target as |a|.
MARGIN = {"ipo": 1.0, "sppo": 1.0}


@pytest.fixture(scope="module")
def logits():
    return np.random.default_rng(0).standard_normal((B, B)).astype(np.float32)


def _diag_logits(a):
    return a * jnp.eye(B)


def test_literal_matches_registry():
    assert set(typing.get_args(ContrastiveLoss)) == set(LOSSES)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_matches_numpy_reference(name, logits):
    loss, metrics = jax.jit(LOSSES[name])(logits)
    assert loss.shape == ()
    assert isinstance(metrics, dict)
    np.testing.assert_allclose(loss, REF[name](logits.astype(np.float64)), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["flatnce", "flatnce_backward"])
def test_flatnce_gradient_and_metric(name, logits):
    L = logits.astype(np.float64)
    L_oriented = L if name == "flatnce" else L.T
    expected = _flat_c_grad(L_oriented)
    expected = expected if name == "flatnce" else expected.T
    grad = jax.jit(jax.grad(lambda x: LOSSES[name](x)[0]))(logits)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
    (gap,) = LOSSES[name](logits)[1].values()
    np.testing.assert_allclose(gap, np.mean(_flat_c(L_oriented)), rtol=1e-4)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_sign_convention_value(name):
    """Larger positive (diagonal) logits give a lower loss; FlatNCE's value is flat (1)."""
    a = MARGIN.get(name, 3.0)
    fn = jax.jit(lambda x: LOSSES[name](x)[0])
    hi, mid, lo = (float(fn(_diag_logits(s))) for s in (a, 0.0, -a))
    if name.startswith("flatnce"):
        np.testing.assert_allclose([hi, mid, lo], 1.0, rtol=1e-6)
    else:
        assert hi < mid < lo


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_sign_convention_gradient(name):
    """d loss / d a < 0 at a = 0 and the gradient on every diagonal entry is negative."""
    loss_of_a = lambda a: LOSSES[name](_diag_logits(a))[0]  # noqa: E731
    assert jax.grad(loss_of_a)(0.0) < 0
    grad = jax.grad(lambda x: LOSSES[name](x)[0])(_diag_logits(0.0))
    assert np.all(np.diag(grad) < 0)
