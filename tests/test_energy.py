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
