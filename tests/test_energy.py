"""Tests for crlx.energy against loop-based NumPy references."""

import typing

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crlx.energy import ENERGIES, EPS, Energy, pairwise_energy

B, D = 8, 4


def _ref_mrn(x, y):
    h = len(x) // 2
    return -(np.sqrt(np.sum((x[:h] - y[:h]) ** 2) + EPS) + np.max(np.maximum(x[h:] - y[h:], 0.0)))


# f(phi_i, psi_j) on single float64 rows.
REF = {
    "l2": lambda x, y: -np.sqrt(np.sum((x - y) ** 2) + EPS),
    "l2_sq": lambda x, y: -np.sum((x - y) ** 2),
    "l1": lambda x, y: -np.sum(np.abs(x - y)),
    "dot": lambda x, y: x @ y,
    "cosine": lambda x, y: x @ y / (max(np.linalg.norm(x), 1e-6) * max(np.linalg.norm(y), 1e-6)),
    "mrn": _ref_mrn,
}


def _reference(name, phi, psi):
    out = np.empty((len(phi), len(psi)))
    for i in range(len(phi)):
        for j in range(len(psi)):
            out[i, j] = REF[name](phi[i], psi[j])
    return out


@pytest.fixture(scope="module")
def reps():
    rng = np.random.default_rng(0)
    phi = rng.standard_normal((B, D)).astype(np.float32)
    psi = rng.standard_normal((B, D)).astype(np.float32)
    return phi, psi


def test_literal_matches_registry():
    assert set(typing.get_args(Energy)) == set(ENERGIES)


@pytest.mark.parametrize("name", sorted(ENERGIES))
def test_matches_numpy_reference(name, reps):
    phi, psi = reps
    logits = jax.jit(ENERGIES[name])(phi, psi)
    assert logits.shape == (B, B)
    assert logits.dtype == jnp.float32
    expected = _reference(name, phi.astype(np.float64), psi.astype(np.float64))
    np.testing.assert_allclose(np.asarray(logits), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(ENERGIES))
def test_pairwise_is_diagonal(name, reps):
    phi, psi = reps
    diag = jax.jit(pairwise_energy(name))(phi, psi)
    assert diag.shape == (B,)
    np.testing.assert_allclose(diag, jnp.diag(ENERGIES[name](phi, psi)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["l2", "l2_sq", "l1", "cosine"])
def test_self_pairs_are_row_maxima(name, reps):
    phi, _ = reps  # random rows, pairwise distinct and non-parallel
    logits = ENERGIES[name](phi, phi)
    np.testing.assert_array_equal(np.argmax(logits, axis=1), np.arange(B))


def test_mrn_odd_dim_raises():
    x = jnp.ones((2, 5))
    with pytest.raises(ValueError, match="repr"):
        ENERGIES["mrn"](x, x)


@pytest.mark.parametrize("name", ["l2", "l2_sq"])
@pytest.mark.parametrize("norm", [1.0, 10.0, 50.0])
def test_distance_energies_are_accurate_for_close_pairs_in_float32(name, norm):
    """Positive pairs: psi_i = phi_i + delta_i with ||phi_i|| = norm and ||delta_i|| ~ 0.01-0.2.

    The norm expansion ||x||^2 + ||y||^2 - 2 x.y loses these distances in float32 (0.5% off at
    ||phi|| ~ 50); the energies must stay within 1e-3 relative of the float64 distances."""
    rng = np.random.default_rng(1)
    d = 64
    phi = rng.standard_normal((B, d))
    phi *= norm / np.linalg.norm(phi, axis=1, keepdims=True)
    delta = rng.standard_normal((B, d))
    delta *= rng.uniform(0.01, 0.2, (B, 1)) / np.linalg.norm(delta, axis=1, keepdims=True)
    psi = phi + delta
    expected = _reference(name, phi, psi)
    got = np.asarray(jax.jit(ENERGIES[name])(phi.astype(np.float32), psi.astype(np.float32)), np.float64)
    # float32 rounding of the inputs themselves moves each coordinate by ~norm * 6e-8
    np.testing.assert_allclose(np.diag(got), np.diag(expected), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", sorted(ENERGIES))
def test_gradients_are_finite_at_zero_rows(name):
    """psi(0) is exactly 0 at init with zero biases: every energy must give finite gradients there."""
    phi = jnp.concatenate([jnp.zeros((1, 6)), jnp.ones((1, 6))])
    psi = jnp.zeros((2, 6))
    grads = jax.grad(lambda a, b: jnp.sum(ENERGIES[name](a, b)), argnums=(0, 1))(phi, psi)
    for g in grads:
        assert np.all(np.isfinite(np.asarray(g))), (name, g)
