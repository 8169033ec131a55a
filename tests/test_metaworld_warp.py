"""The Meta-World ports on MuJoCo Warp (`backend="warp"`, MJX's impl="warp") against the JAX
implementation (`backend="mjx"`): the same layouts and actions give the same hand and object
positions within stated tolerances, the same success, batched and nested-vmapped resets and steps,
Meta-World's scripted expert in closed loop, and a tiny CRL training run.

Needs the warp extra and Meta-World's scene files in one environment (README: "Meta-World on
MuJoCo Warp"): `pytest -m warp`. Elsewhere these tests are skipped with the reason; only the
message for a missing warp runs in the base environment.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import crlx
from crlx.envs import make_env, metaworld_available
from crlx.envs.metaworld.env import MW_OBS_INDICES
from crlx.envs.warp_physics import OVERFLOW_DROPS, WarpNotInstalled, warp_available
from tests.conftest import ci_subset, tiny_config

WARP_TASKS = ci_subset(["mw_push", "mw_faucet_close"], {"mw_push"})
"""a free object pushed by the hand (box and prism contacts) and an articulated object on a moved
base (hinge, excluded pair): the two kinds of contact the ports have; CI runs push, `--exhaustive` both"""
NUM_LAYOUTS = 10
STEPS = 100
METAWORLD_EXPERT_SUCCESS = {"mw_push": 1.0, "mw_faucet_close": 1.0}
"""Meta-World's own expert success on these layouts, measured in the metaworld environment: 10/10
for both (`scripts/metaworld_warp_fidelity.py record`; 20/20 on the 20 layouts of test_metaworld.py,
of which these are the first 10). Meta-World 3.1.1's envs do
not run on MuJoCo 4 (its mocap weld reset writes 11 values into MuJoCo 4's 12-column eq_data), so
the warp environment compares against the JAX port, which the metaworld environment compares
against Meta-World."""
POSITION_TOLERANCE = 0.01
"""metres: hand and objects, warp vs JAX, over 100 steps of Meta-World's expert actions: twice the
5 mm the ports are held to against Meta-World (mw_push measured at most 5.0 mm for the puck and
3.4 mm for the hand; two float32 contact solvers whose order of operations differs part as soon as
the fingers touch the object; docs/METAWORLD.md)"""
WARP_GUARD = {"mw_faucet_close": 0.04}
"""faucet-close: the hand pressing the knob around parts the two solvers by up to 30 mm (hand) and
16 mm (knob) on Meta-World's expert actions (docs/METAWORLD.md); held to that plus a third"""
WARP_INSTALL = 'pip install -e ".[dev,warp]" and pip install --no-deps metaworld==3.1.1 (README, Meta-World on MuJoCo Warp)'

WARP_MARKS = [
    pytest.mark.warp,
    pytest.mark.metaworld,
    pytest.mark.skipif(not warp_available(), reason=f"needs MuJoCo Warp through MJX: {WARP_INSTALL}"),
    pytest.mark.skipif(not metaworld_available(), reason=f"needs Meta-World's scene files: {WARP_INSTALL}"),
]


def on_warp(test):
    """Mark `test` warp and metaworld, skipped with the install command where either is missing."""
    for mark in reversed(WARP_MARKS):
        test = mark(test)
    return test


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.skipif(warp_available(), reason="checks the message shown where MuJoCo Warp cannot run")
def test_missing_warp_names_the_extra_before_loading_a_scene():
    with pytest.raises(WarpNotInstalled, match=r"pip install -e \".\[warp\]\""):
        make_env("mw_push", backend="warp")


@functools.cache
def port(name: str, backend: str):
    """(env, jitted batched reset_to, jitted batched step) of `name` on `backend`."""
    env = make_env(name, backend=backend)
    return env, jax.jit(jax.vmap(env.reset_to)), jax.jit(jax.vmap(env.step))


def expert_episode(name: str, backend: str, steps: int, actions: np.ndarray | None = None):
    """From NUM_LAYOUTS layouts (Meta-World's accepted reset vectors, seed 0: the first of those
    test_metaworld.py uses): Meta-World's scripted expert acting on the port's observations, or
    `actions` (N, steps, 4) replayed. Returns actions, observations (N, steps, 42), success
    (N, steps) and warp's overflow bits (N,)."""
    from crlx.envs.metaworld.oracle import expert, reset_vectors

    env, reset, step = port(name, backend)
    state = reset(jnp.asarray(reset_vectors(env, NUM_LAYOUTS)))
    policies = [expert(env.task.name) for _ in range(NUM_LAYOUTS)]
    taken, observations, success = [], [], []
    for t in range(steps):
        if actions is None:
            obs = np.asarray(state.obs, np.float64)[:, MW_OBS_INDICES]
            action = np.stack([np.clip(policy.get_action(o), -1.0, 1.0) for policy, o in zip(policies, obs)])
        else:
            action = actions[:, t]
        state = step(state, jnp.asarray(action, jnp.float32))
        taken.append(action)
        observations.append(np.asarray(state.obs))
        success.append(np.asarray(state.metrics["success"]) > 0)
    overflow = np.asarray(state.info.get("warp_overflow", np.zeros(NUM_LAYOUTS, np.int32)))
    return np.stack(taken, 1).astype(np.float32), np.stack(observations, 1), np.stack(success, 1), overflow


@functools.cache
def jax_expert(name: str):
    """expert_episode on the JAX port, the whole 500-step episode (the tests use its start or all of it)."""
    return expert_episode(name, "mjx", port(name, "mjx")[0].spec.episode_length)


@on_warp
@pytest.mark.parametrize("name", WARP_TASKS)
def test_warp_follows_jax_on_the_experts_actions(name):
    """Meta-World's expert run in closed loop on the JAX port records its actions; replayed on
    warp from the same layouts for 100 steps, hand and objects stay within POSITION_TOLERANCE of
    the JAX port's (WARP_GUARD's tasks: their measured deviation), no contact or constraint is
    dropped, and the success rule agrees."""
    actions, jax_obs, jax_success = (part[:, :STEPS] for part in jax_expert(name)[:3])
    _, warp_obs, warp_success, overflow = expert_episode(name, "warp", STEPS, actions)
    assert np.isfinite(warp_obs).all()
    assert not (overflow & OVERFLOW_DROPS).any(), f"MuJoCo Warp dropped contacts or constraints: {overflow}"
    ours, theirs = warp_obs[..., MW_OBS_INDICES], jax_obs[..., MW_OBS_INDICES]
    bound = WARP_GUARD.get(name, POSITION_TOLERANCE)
    for label, part in (("hand", slice(0, 3)), ("object 1", slice(4, 7)), ("object 2", slice(11, 14))):
        deviation = np.linalg.norm(ours[..., part] - theirs[..., part], axis=-1).max()
        assert deviation <= bound, f"{name} {label}: warp vs JAX {deviation * 1000:.2f} mm"
    # one success rule for both: it agrees wherever the states do not straddle the threshold
    env = port(name, "mjx")[0]
    dist = np.linalg.norm((jax_obs[..., 36:39] - jax_obs[..., 39:42])[..., list(env.task.success_axes)], axis=-1)
    clear = np.abs(dist - env.spec.success_threshold) > bound
    np.testing.assert_array_equal(warp_success[clear], jax_success[clear])


@on_warp
def test_jitted_batched_and_nested_resets_and_steps():
    """Resets give the JAX implementation's observation (the same layouts; Warp's kinematics);
    the state carries no Warp arrays; a seeds x envs nested vmap steps as one batch of worlds,
    equal to the flat batch; auto-reset with fresh goals runs through the training wrapper."""
    from crlx.envs import wrap_for_training

    env, _, _ = port("mw_push", "warp")
    reference = port("mw_push", "mjx")[0]
    keys = jax.random.split(jax.random.PRNGKey(0), 6)
    state = jax.jit(jax.vmap(env.reset))(keys)
    assert state.pipeline_state._impl is None
    np.testing.assert_allclose(np.asarray(state.obs), np.asarray(jax.jit(jax.vmap(reference.reset))(keys).obs), atol=1e-5)
    assert len({tuple(np.round(o, 6)) for o in np.asarray(state.obs)}) == 6
    actions = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (6, 4)), jnp.float32)
    flat = jax.jit(jax.vmap(env.step))(state, actions)
    nested_state = jax.tree.map(lambda x: x.reshape((2, 3) + x.shape[1:]), state)
    nested = jax.jit(jax.vmap(jax.vmap(env.step)))(nested_state, actions.reshape(2, 3, 4))
    np.testing.assert_allclose(np.asarray(nested.obs).reshape(6, -1), np.asarray(flat.obs), atol=1e-5)

    training = wrap_for_training(env, episode_length=2)
    state = jax.jit(training.reset)(keys[:4])
    step = jax.jit(training.step)
    goals = [np.asarray(state.info["goal"])]
    for _ in range(3):
        state = step(state, actions[:4])
        goals.append(np.asarray(state.info["goal"]))
    assert np.isfinite(np.asarray(state.obs)).all()
    assert not np.allclose(goals[0], goals[2]), "the auto-reset after 2 steps should draw fresh goals"
    np.testing.assert_array_equal(goals[2], goals[3])


@on_warp
@pytest.mark.parametrize("name", ("mw_push",))
def test_expert_closed_loop_succeeds_on_warp_as_on_jax(name):
    """Meta-World's scripted policy, 500 steps on the port's observations: on warp it succeeds on
    at least 90% of METAWORLD_EXPERT_SUCCESS and on at most one layout fewer than on the JAX port
    (the closed loops of two float32 solvers part after contact)."""
    steps = port(name, "mjx")[0].spec.episode_length
    jax_success = jax_expert(name)[2].any(axis=1)
    _, _, warp_success, overflow = expert_episode(name, "warp", steps)
    warp_success = warp_success.any(axis=1)
    assert not (overflow & OVERFLOW_DROPS).any(), f"MuJoCo Warp dropped contacts or constraints: {overflow}"
    assert warp_success.mean() >= 0.9 * METAWORLD_EXPERT_SUCCESS[name], f"{name}: expert success on warp {warp_success.mean():.2f}"
    assert warp_success.sum() >= jax_success.sum() - 1, f"{name}: expert success warp {warp_success.sum()} vs JAX {jax_success.sum()}"


@on_warp
def test_tiny_crl_run_on_warp(tmp_path):
    """The training program (collect, auto-reset, buffer, updates, evaluation) compiles and runs on warp."""
    result = crlx.train(tiny_config(tmp_path, env="mw_push", backend="warp", episode_length=10))
    assert len(result.history) == 3 and np.isfinite(result.history[-1]["critic/loss"])
