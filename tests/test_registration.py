"""User-registered energies and contrastive losses: reference values, training with them, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import crlx
from crlx.config import ConfigError, LossConfig
from crlx.contrastive import LOSSES, register_loss
from crlx.energy import ENERGIES, register_energy
from tests.conftest import tiny_config

B, D = 8, 5


def neg_chebyshev(phi, psi):
    """L_ij = -max_k |phi_ik - psi_jk|."""
    return -jnp.max(jnp.abs(phi[:, None, :] - psi[None, :, :]), axis=-1)


def margin(logits):
    """Hinge on the positive-negative gap: offdiag_mean relu(1 - (L_ii - L_ij))."""
    gap = jnp.diag(logits)[:, None] - logits
    off = ~jnp.eye(logits.shape[0], dtype=bool)
    hinge = jax.nn.relu(1.0 - gap)
    return jnp.mean(hinge, where=off), {"critic/margin_violations": jnp.mean(gap < 1.0, where=off)}


def _ref_neg_chebyshev(phi, psi):
    out = np.empty((len(phi), len(psi)))
    for i in range(len(phi)):
        for j in range(len(psi)):
            out[i, j] = -np.max(np.abs(phi[i] - psi[j]))
    return out


def _ref_margin(logits):
    n = len(logits)
    gaps = [logits[i, i] - logits[i, j] for i in range(n) for j in range(n) if i != j]
    return np.mean([max(0.0, 1.0 - g) for g in gaps]), np.mean([g < 1.0 for g in gaps])


@pytest.fixture
def registries(request):
    """Snapshot ENERGIES and LOSSES; the finalizer removes added keys and restores replaced ones."""
    saved = {"energy": dict(ENERGIES), "loss": dict(LOSSES)}

    def restore():
        for registry, before in ((ENERGIES, saved["energy"]), (LOSSES, saved["loss"])):
            for name in set(registry) - set(before):
                del registry[name]
            registry.update(before)

    request.addfinalizer(restore)
    return ENERGIES, LOSSES


@pytest.fixture
def reps():
    rng = np.random.default_rng(0)
    return rng.standard_normal((B, D)).astype(np.float32), rng.standard_normal((B, D)).astype(np.float32)


def test_registered_energy_matches_numpy_reference(registries, reps):
    assert register_energy("test_neg_chebyshev", neg_chebyshev) is neg_chebyshev
    phi, psi = reps
    logits = jax.jit(ENERGIES["test_neg_chebyshev"])(phi, psi)
    assert logits.shape == (B, B) and logits.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(logits), _ref_neg_chebyshev(phi, psi), rtol=1e-6, atol=1e-6)


def test_registered_loss_matches_numpy_reference(registries):
    decorated = register_loss("test_margin")(margin)  # decorator form
    assert decorated is margin and LOSSES["test_margin"] is margin
    logits = np.random.default_rng(1).standard_normal((B, B)).astype(np.float32) * 2.0
    loss, metrics = jax.jit(LOSSES["test_margin"])(logits)
    ref_loss, ref_violations = _ref_margin(logits.astype(np.float64))
    assert loss.shape == ()
    np.testing.assert_allclose(float(loss), ref_loss, rtol=1e-5)
    np.testing.assert_allclose(float(metrics["critic/margin_violations"]), ref_violations, rtol=1e-6)


def test_decorator_registers_at_definition(registries):
    @register_energy("test_dot_decorated")
    def my_dot(phi, psi):
        return phi @ psi.T

    assert ENERGIES["test_dot_decorated"] is my_dot  # registered under its name, the function itself returned
    x = jnp.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(my_dot(x, x), np.asarray(x) @ np.asarray(x).T)


def test_config_validate_accepts_registered_names(registries, tmp_path):
    cfg = tiny_config(tmp_path, loss=LossConfig(energy="test_neg_chebyshev", contrastive="test_margin"))
    with pytest.raises(ConfigError, match="test_neg_chebyshev"):
        cfg.validate()
    register_energy("test_neg_chebyshev", neg_chebyshev)
    with pytest.raises(ConfigError, match="test_margin"):
        cfg.validate()
    register_loss("test_margin", margin)
    assert cfg.validate() is cfg


def test_train_with_registered_energy_and_loss(registries, tmp_path):
    traced = []

    def spy_chebyshev(phi, psi):
        traced.append(phi.shape)  # runs at trace time only: proves training calls this energy
        return neg_chebyshev(phi, psi)

    register_energy("test_neg_chebyshev", spy_chebyshev)
    register_loss("test_margin", margin)
    traced.clear()  # drop the traces of registration's own shape check
    cfg = tiny_config(tmp_path, loss=LossConfig(energy="test_neg_chebyshev", contrastive="test_margin"))
    result = crlx.train(cfg)
    assert traced, "training never called the registered energy"
    assert len(result.history) == cfg.num_epochs + 1
    last = result.history[-1]
    assert "critic/margin_violations" in last  # the registered loss's own metric is logged
    for row in result.history:
        for name, value in row.items():
            assert np.isfinite(value), (name, value, row["env_steps"])
    assert 0.0 <= last["critic/margin_violations"] <= 1.0
    assert last["critic/logits_pos"] <= 0.0  # a negative distance: never above zero


def test_duplicate_names_are_rejected(registries):
    with pytest.raises(ValueError, match=r"energy 'l2' is already registered.*overwrite=True"):
        register_energy("l2", neg_chebyshev)
    with pytest.raises(ValueError, match=r"loss 'infonce' is already registered.*overwrite=True"):
        register_loss("infonce", margin)
    register_energy("test_neg_chebyshev", neg_chebyshev)
    with pytest.raises(ValueError, match="already registered"):
        register_energy("test_neg_chebyshev", neg_chebyshev)
    with pytest.raises(ValueError, match="already registered"):  # the decorator form checks before decorating
        register_energy("test_neg_chebyshev")

    def other(phi, psi):
        return -neg_chebyshev(phi, psi)

    assert register_energy("test_neg_chebyshev", other, overwrite=True) is other
    assert ENERGIES["test_neg_chebyshev"] is other
    register_loss("test_margin", margin)
    register_loss("test_margin", margin, overwrite=True)
    assert LOSSES["test_margin"] is margin


def test_bad_energies_are_rejected(registries):
    with pytest.raises(ValueError, match=r"shape \(4, 3\) it returned shape \(4, 3\), expected \(4, 4\)"):
        register_energy("test_bad", lambda phi, psi: phi - psi)  # elementwise, not pairwise
    with pytest.raises(ValueError, match=r"expected \(1, 1\)"):
        register_energy("test_bad", lambda phi, psi: jnp.zeros((4, 4)))  # ignores B
    with pytest.raises(TypeError, match="must return one"):
        register_energy("test_bad", lambda phi, psi: (phi @ psi.T, {}))
    with pytest.raises(TypeError, match="floating-point"):
        register_energy("test_bad", lambda phi, psi: (phi @ psi.T > 0).astype(jnp.int32))
    with pytest.raises(TypeError, match="must be callable"):
        register_energy("test_bad", "l2")
    with pytest.raises(ValueError, match=r"failed when traced .*TracerArrayConversionError"):
        register_energy("test_bad", lambda phi, psi: np.asarray(phi) @ np.asarray(psi).T)  # not jit-able
    with pytest.raises(TypeError, match="name must be a str"):
        register_energy(3, neg_chebyshev)
    with pytest.raises(ValueError, match="non-empty"):
        register_energy("my energy", neg_chebyshev)
    assert "test_bad" not in ENERGIES  # nothing half-registered


def test_even_only_energy_is_accepted(registries):
    """An energy that splits phi in halves (like mrn) rejects d = 3 but passes the d = 6 probe."""
    register_energy("test_mrn_copy", lambda phi, psi: ENERGIES["mrn"](phi, psi))
    assert "test_mrn_copy" in ENERGIES


def test_bad_losses_are_rejected(registries):
    with pytest.raises(ValueError, match=r"scalar loss \(shape \(\)\) first, got \(4, 4\)"):
        register_loss("test_bad", lambda logits: (logits, {}))
    with pytest.raises(TypeError, match=r"pair \(scalar loss, metrics dict\)"):
        register_loss("test_bad", lambda logits: jnp.mean(logits))
    with pytest.raises(TypeError, match="dict of metrics second"):
        register_loss("test_bad", lambda logits: (jnp.mean(logits), jnp.max(logits)))
    with pytest.raises(ValueError, match=r"metric 'critic/row' with shape \(4,\)"):
        register_loss("test_bad", lambda logits: (jnp.mean(logits), {"critic/row": logits[0]}))
    with pytest.raises(TypeError, match="floating-point loss"):
        register_loss("test_bad", lambda logits: (jnp.argmax(logits[0]), {}))
    with pytest.raises(ValueError, match="failed when traced"):
        register_loss("test_bad", lambda logits: (jnp.mean(logits @ jnp.ones((3, 3))), {}))
    with pytest.raises(TypeError, match="must be callable"):
        register_loss("test_bad", 1.0)
    assert "test_bad" not in LOSSES


def test_registries_are_clean_after_tests():
    """Runs after the tests above (file order): the finalizers removed every test_* entry."""
    assert not [n for n in ENERGIES if n.startswith("test_")]
    assert not [n for n in LOSSES if n.startswith("test_")]
