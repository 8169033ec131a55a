"""The fused epoch: it runs, reports the promised metrics, never recompiles, and learns."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

import crlx
from crlx.agent import TRACE_COUNTS, make_agent
from crlx.config import LogConfig, LossConfig
from crlx.evaluate import make_evaluate, with_sampled
from tests.conftest import preset, tiny_config

EXPECTED_TRAIN_METRICS = {
    "train/success",
    "train/dist",
    "train/goal_spread",
    "critic/loss",
    "critic/accuracy",
    "critic/logits_pos",
    "critic/logits_neg",
    "critic/logsumexp",
    "critic/erank_phi",
    "critic/erank_psi",
    "actor/loss",
    "actor/entropy",
    "actor/alpha",
}
EXPECTED_EVAL_METRICS = {"eval/success", "eval/time_near_goal", "eval/final_dist", "eval/min_dist", "eval/episode_steps"}


@pytest.fixture(scope="module")
def tiny_agent(tmp_path_factory):
    cfg = tiny_config(tmp_path_factory.mktemp("runs"))
    agent = make_agent(cfg)
    state = agent.prefill(agent.init(jax.random.PRNGKey(0)))
    return cfg, agent, state


def test_prefill_and_epochs_share_one_compile(tiny_agent):
    """The fixture's prefill traced the one program; training epochs reuse it (no trace, no compile)."""
    cfg, agent, state = tiny_agent
    traced = TRACE_COUNTS["train_epoch"]
    assert traced >= 1
    state, _ = agent.train_epoch(state)
    state, metrics = agent.train_epoch(state)
    state, metrics = agent.train_epoch(state)
    assert TRACE_COUNTS["train_epoch"] == traced
    assert EXPECTED_TRAIN_METRICS <= set(metrics)
    assert all(np.isfinite(np.asarray(v)).all() for v in metrics.values())
    assert int(state.updates) == 3 * cfg.iterations_per_epoch * cfg.updates_per_iteration


def test_prefill_fills_min_replay_size(tiny_agent):
    cfg, agent, _ = tiny_agent
    state = agent.prefill(agent.init(jax.random.PRNGKey(1)))
    assert int(state.buffer.count) == cfg.prefill_iterations * cfg.unroll_length >= cfg.buffer.min_replay_size
    assert int(state.env_steps) == 0  # prefill does not count as training


def test_sampled_and_uniform_evaluations_move_where_the_mean_stays(tiny_agent):
    """With a zeroed actor (mean 0, log_std mid-range) tanh(mean) = 0 leaves the point where it starts;
    sampled actions and uniform ones (no actor) move it. point_mass never terminates: every episode
    runs its full length."""
    cfg, agent, _ = tiny_agent
    zeroed = jax.tree.map(np.zeros_like, agent.init(jax.random.PRNGKey(2)).actor_params)
    key = jax.random.PRNGKey(3)
    still = make_evaluate(agent.env, agent.actor, cfg.num_eval_envs)(zeroed, key)
    assert float(still["eval/min_dist"]) == pytest.approx(float(still["eval/final_dist"]))
    length = agent.env.spec.episode_length
    assert float(still["eval/episode_steps"]) == length
    for actor, actions in ((agent.actor, "sampled"), (None, "uniform")):
        moved = make_evaluate(agent.env, actor, cfg.num_eval_envs, actions=actions)(zeroed, key)
        assert float(moved["eval/min_dist"]) < float(moved["eval/final_dist"]) - 1e-3, actions
        assert float(moved["eval/episode_steps"]) == length
    with pytest.raises(ValueError, match="actions must be"):
        make_evaluate(agent.env, agent.actor, cfg.num_eval_envs, actions="greedy")
    both = with_sampled(make_evaluate(agent.env, agent.actor, cfg.num_eval_envs),
                        make_evaluate(agent.env, agent.actor, cfg.num_eval_envs, actions="sampled"))(zeroed, key)
    sampled = make_evaluate(agent.env, agent.actor, cfg.num_eval_envs, actions="sampled")(zeroed, key)
    assert set(both) == EXPECTED_EVAL_METRICS | {f"{k}_sampled" for k in EXPECTED_EVAL_METRICS}
    for name in EXPECTED_EVAL_METRICS:
        assert float(both[name]) == float(still[name]) and float(both[f"{name}_sampled"]) == float(sampled[name])


def test_train_returns_params_history_and_policy(tmp_path):
    cfg = tiny_config(tmp_path, loss=LossConfig(learn_temperature=True, auto_entropy=False), eval_sampled=True)
    result = crlx.train(cfg)
    assert [h["env_steps"] for h in result.history] == [0, cfg.env_steps_per_epoch, 2 * cfg.env_steps_per_epoch]
    assert EXPECTED_EVAL_METRICS | {f"{k}_sampled" for k in EXPECTED_EVAL_METRICS} <= set(result.history[0])
    assert EXPECTED_TRAIN_METRICS | {"perf/env_steps_per_s", "perf/updates_per_s"} <= set(result.history[-1])
    assert result.history[-1]["actor/alpha"] == pytest.approx(cfg.loss.init_alpha)  # fixed without auto_entropy
    assert (result.run_dir / "metrics.jsonl").read_text().count("\n") == 3
    policy = crlx.make_policy(result.params, cfg)
    obs = np.random.default_rng(0).uniform(-1, 1, (5, 4)).astype(np.float32)
    action = np.asarray(policy(obs))
    mean, _ = make_agent(cfg).actor.apply(result.state.actor_params, obs)  # the trained actor's mean, squashed
    np.testing.assert_allclose(action, np.tanh(np.asarray(mean)), rtol=1e-5, atol=1e-6)


def test_nan_stops_the_run_with_metric_and_step(tmp_path):
    cfg = tiny_config(tmp_path, critic_lr=1e30, actor_lr=1e30)
    with pytest.raises(FloatingPointError, match=r"non-finite .* at env step \d+"):
        crlx.train(cfg)


def point_mass_learning_config(run_dir):
    """The shipped point_mass preset (README: success >= 0.9 in about 30 s), logging into run_dir."""
    return preset("point_mass", log=LogConfig(run_dir=str(run_dir), progress=False))


def test_crl_learns_point_mass(tmp_path):
    """CRL reaches eval success >= 0.9 on the point mass (about half a minute on 2 CPU cores)."""
    result = crlx.train(point_mass_learning_config(tmp_path))
    success = [h["eval/success"] for h in result.history]
    assert success[0] < 0.2, success  # the untrained policy rarely reaches the goal
    assert max(success[-3:]) >= 0.9, success


@pytest.mark.slow
def test_bfloat16_compute_trains_point_mass(tmp_path):
    """bfloat16 hidden layers (float32 params and losses) still learn the point mass."""
    cfg = point_mass_learning_config(tmp_path)
    cfg = cfg.replace(
        actor=dataclasses.replace(cfg.actor, compute_dtype="bfloat16"),
        critic=dataclasses.replace(cfg.critic, compute_dtype="bfloat16"),
    )
    result = crlx.train(cfg)
    success = [h["eval/success"] for h in result.history]
    assert max(success[-3:]) >= 0.9, success
    dtypes = {leaf.dtype for leaf in jax.tree_util.tree_leaves(result.params)}
    assert dtypes == {np.dtype("float32")}, dtypes


def test_actor_steps_against_the_critic_before_its_update(tiny_agent):
    """JaxGCRL's order: the actor and alpha step use the critic of before this update's critic step."""
    from crlx.agent import gradient_step

    _, agent, _ = tiny_agent
    state = agent.prefill(agent.init(jax.random.PRNGKey(2)))  # the fixture's state is donated by other tests
    key = jax.random.PRNGKey(3)
    after, _ = jax.jit(agent.update)(state, key)
    k_sample, k_actor = jax.random.split(key)
    batch = agent.sample(state.buffer, k_sample)
    expected, _, _ = jax.jit(lambda s: gradient_step(
        agent.losses.actor, agent.actor_tx, s.actor_params, s.actor_opt, s.critic_params, s.log_alpha, batch, k_actor
    ))(state)
    for got, want in zip(jax.tree.leaves(after.actor_params), jax.tree.leaves(expected)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-7)
    changed = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(after.critic_params), jax.tree.leaves(state.critic_params))]
    assert any(changed)  # the critic did step, so the check above tells the two orders apart
