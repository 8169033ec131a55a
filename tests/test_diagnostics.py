"""train/goal_moved, train/goal_spread and the still-goals warning (crlx.diagnostics), on a
synthetic pure-JAX env whose object moves exactly where a test wants it to."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from brax.envs.base import State

import crlx
from crlx import diagnostics
from crlx.agent import make_agent
from crlx.config import BufferConfig, LogConfig
from crlx.envs import ENVS, wrap_for_training
from crlx.envs.base import EnvSpec, GoalEnv, object_goal_spaces
from crlx.single_goal import SingleGoal, fixed_goal
from tests.conftest import preset, tiny_config

THRESHOLD = 0.5


class Nudge(GoalEnv):
    """state [hand, object] (1-d each); action a (1,): hand += 0.1 a, object += push * a + drift.
    The object starts at U(-1, 1), the goal at U(-1, 1); success within THRESHOLD of the object."""

    state_dim = 2
    goal_indices = (1,)
    object_indices = (1,)

    def __init__(self, episode_length: int = 3, push: float = 1.0, drift: float = 0.0, goal_space: str | None = None):
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=THRESHOLD)
        self.push, self.drift = push, drift
        self.select_goal_space(goal_space)

    def goal_spaces(self):
        return object_goal_spaces(lambda s: s[..., 1:2], lambda s: s[..., 0:1])

    @property
    def action_size(self) -> int:
        return 1

    def reset(self, rng: jax.Array) -> State:
        obj_rng, goal_rng = jax.random.split(rng)
        obj = jax.random.uniform(obj_rng, (1,), minval=-1.0, maxval=1.0)
        goal = self.command(jax.random.uniform(goal_rng, (1,), minval=-1.0, maxval=1.0))
        return self.first_state(None, jnp.concatenate([jnp.zeros(1), obj]), goal)

    def step(self, state: State, action: jax.Array) -> State:
        hand, obj = state.obs[0:1], state.obs[1:2]
        a = jnp.clip(action, -1.0, 1.0)
        return self.next_state(state, None, jnp.concatenate([hand + 0.1 * a, obj + self.push * a + self.drift]), 0.0)


def hand_built_rollout():
    """4 envs, 3-step episodes, 8 steps: 2 ended episodes per env and a third with 2 steps taken.

    env 0 pushes 1.0 every step: moved in all 3 episodes
    env 1 pushes 0.2 every step: 0.6 > THRESHOLD at an episode's 3rd step, so both ended episodes
          moved and the running one (0.4 after 2 steps) did not
    env 2 never pushes: 0 of 3
    env 3 pushes 1.0 once, at step 5 (its second episode): 1 of 3
    goal_moved = (3 + 2 + 0 + 1) / 12 = 0.5 (the ended episodes alone: 5 / 8)."""
    actions = np.zeros((8, 4, 1), np.float32)
    actions[:, 0] = 1.0
    actions[:, 1] = 0.2
    actions[4, 3] = 1.0
    env = wrap_for_training(Nudge(episode_length=3))
    state = env.reset(jax.random.split(jax.random.PRNGKey(0), 4))

    def step(state, action):
        state = env.step(state, action)
        return state, (state.done, state.metrics["goal_moved"])

    state, (done, moved) = jax.lax.scan(step, state, jnp.asarray(actions))
    return state, done, moved


def test_goal_moved_of_a_hand_built_rollout():
    state, done, moved = hand_built_rollout()
    # the flag of each ended episode, on its last step (steps 3 and 6)
    np.testing.assert_array_equal(np.asarray(done)[[2, 5]], 1.0)
    np.testing.assert_array_equal(np.asarray(moved)[[2, 5]], [[1, 1, 0, 0], [1, 1, 0, 1]])
    np.testing.assert_array_equal(np.asarray(state.info["goal_moved"]), [1, 0, 0, 0])  # the running episodes
    counts = diagnostics.ended_episode_counts(done, moved)
    assert (float(counts[diagnostics.ENDED]), float(counts[diagnostics.ENDED_MOVED])) == (8.0, 5.0)
    share = diagnostics.goal_moved(counts, state.info)[diagnostics.GOAL_MOVED]
    assert float(share) == pytest.approx(0.5)


def test_a_fresh_episode_without_steps_is_not_counted():
    """After exactly two episodes (6 steps) every env has just restarted: only the ended episodes
    count (env 0 moved both of its own, the others none: 2 of 8, not 2 of 12)."""
    env = wrap_for_training(Nudge(episode_length=3))
    state = env.reset(jax.random.split(jax.random.PRNGKey(0), 4))
    actions = jnp.zeros((6, 4, 1)).at[:, 0].set(1.0)

    def step(state, action):
        state = env.step(state, action)
        return state, (state.done, state.metrics["goal_moved"])

    state, (done, moved) = jax.lax.scan(step, state, actions)
    np.testing.assert_array_equal(np.asarray(state.info["steps"]), 0)
    counts = diagnostics.ended_episode_counts(done, moved)
    assert float(diagnostics.goal_moved(counts, state.info)[diagnostics.GOAL_MOVED]) == pytest.approx(0.25)
    assert diagnostics.goal_moved({}, state.info) == {}  # no object: no metric


def test_goal_spread_is_the_mean_std_per_dimension():
    goals = np.random.default_rng(0).normal(size=(64, 3)) * np.array([0.0, 1.0, 3.0])
    expected = np.std(goals, axis=0).mean()
    assert float(diagnostics.goal_spread(jnp.asarray(goals, jnp.float32))) == pytest.approx(expected, rel=1e-5)
    assert float(diagnostics.goal_spread(jnp.ones((8, 2)))) == 0.0


@pytest.fixture(scope="module")
def drifting_agent(tmp_path_factory):
    """An agent on Nudge whose object drifts 1.0 per step whatever the action: every episode moves it.
    With the three goal levers at once: object_and_hand, a single commanded goal (as
    crlx.preflight.build_env wraps it for --single_goal True) and random goals for the actor."""
    cfg = tiny_config(tmp_path_factory.mktemp("runs"), buffer=BufferConfig(max_replay_size=100, min_replay_size=10,
                                                                          random_goal_prob=0.5))
    env = Nudge(episode_length=5, drift=1.0, goal_space="object_and_hand")
    agent = make_agent(cfg, env=SingleGoal(env, fixed_goal(env, "nudge", 0)))
    return cfg, agent, agent.prefill(agent.init(jax.random.PRNGKey(0)))


def test_epoch_metrics_carry_goal_moved_and_goal_spread(drifting_agent):
    cfg, agent, state = drifting_agent
    state, metrics = agent.train_epoch(jax.tree.map(jnp.copy, state))  # the epoch donates its input
    assert float(metrics[diagnostics.GOAL_MOVED]) == 1.0
    assert float(metrics[diagnostics.GOAL_SPREAD]) > 0.0
    assert not {diagnostics.ENDED, diagnostics.ENDED_MOVED} & set(metrics)
    goals = np.asarray(state.env_state.info["goal"])  # (num_envs, 2): the one goal [g, 0]
    np.testing.assert_array_equal(goals, np.broadcast_to(goals[0], goals.shape))
    assert goals[0, 1] == 0.0 and agent.env.goal_dim == 2


def test_goal_spread_of_an_update_is_that_of_its_batch(drifting_agent):
    """The metric of one update against NumPy on the batch that update samples (same key)."""
    cfg, agent, state = drifting_agent
    key = jax.random.PRNGKey(7)
    _, metrics = jax.jit(agent.update)(state, key)
    batch = jax.jit(agent.sample)(state.buffer, jax.random.split(key)[0])
    expected = np.std(np.asarray(batch.goal), axis=0).mean()
    assert float(metrics[diagnostics.GOAL_SPREAD]) == pytest.approx(expected, rel=1e-5)


def still_line(metrics: dict, cfg=None, env=None) -> list[str]:
    """The warning lines written over a 10-epoch run whose every epoch reports `metrics`."""
    cfg = cfg or tiny_config(".", num_epochs=10)
    lines = []
    for epoch in range(1, cfg.num_epochs + 1):
        diagnostics.warn_if_goals_still(cfg, env or Nudge(), epoch, [metrics], write=lines.append)
    return lines


def test_the_warning_is_written_once_and_names_numbers_and_levers():
    lines = still_line({diagnostics.GOAL_MOVED: 0.01, diagnostics.GOAL_SPREAD: 0.002})
    assert len(lines) == 1
    line = lines[0]
    assert "train/goal_moved = 0.010" in line and "train/goal_spread = 0.002" in line
    assert "after 2 of 10 epochs" in line  # CHECK_SHARE 0.2 of 10 epochs
    for lever in ("--goal_space object_and_hand", "--single_goal True", "--buffer.random_goal_prob",
                  "configs/jaxgcrl_arm.yaml"):
        assert lever in line
    # levers already in use are not offered again
    cfg = tiny_config(".", num_epochs=10, single_goal=True, updates_per_iteration=40)  # 40 per 8 x 10 env steps
    line = still_line({diagnostics.GOAL_MOVED: 0.0}, cfg, Nudge(goal_space="object_and_hand"))[0]
    assert "--single_goal" not in line and "--goal_space" not in line and "jaxgcrl_arm" not in line
    assert "--buffer.random_goal_prob" in line
    assert "hand_start" not in line  # Nudge has no hand start to change
    random_hand = Nudge()
    random_hand.hand_start = "random"
    assert "--env_options hand_start=near_object" in still_line({diagnostics.GOAL_MOVED: 0.0}, env=random_hand)[0]
    random_hand.hand_start = "near_object"
    assert "hand_start" not in still_line({diagnostics.GOAL_MOVED: 0.0}, env=random_hand)[0]


def test_no_warning_when_goals_move_or_there_is_no_object():
    assert still_line({diagnostics.GOAL_MOVED: 0.2, diagnostics.GOAL_SPREAD: 0.1}) == []
    assert still_line({diagnostics.GOAL_SPREAD: 0.0}) == []  # no object: no goal_moved
    cfg = tiny_config(".", num_epochs=1)  # the check falls on the only epoch
    assert len(still_line({diagnostics.GOAL_MOVED: 0.0}, cfg)) == 1


def test_a_run_whose_object_never_moves_warns_once(tmp_path, monkeypatch, capsys):
    """End to end through crlx.train: Nudge with push 0 (the object cannot move), 5 epochs."""
    monkeypatch.setitem(ENVS, "nudge", functools.partial(Nudge, push=0.0))
    cfg = tiny_config(tmp_path, env="nudge", episode_length=5, num_epochs=5, total_env_steps=5 * 8 * 10,
                      log=LogConfig(run_dir=str(tmp_path), progress=False, plots=False))
    result = crlx.train(cfg)
    assert [row[diagnostics.GOAL_MOVED] for row in result.history[1:]] == [0.0] * 5
    # the hindsight goals are the objects at rest: their spread is that of the start positions
    assert all(0.0 < row[diagnostics.GOAL_SPREAD] < 1.0 for row in result.history[1:])
    assert capsys.readouterr().err.count("crlx warning: train/goal_moved") == 1


def test_the_jaxgcrl_arm_preset_is_one_update_per_two_env_steps():
    """configs/jaxgcrl_arm.yaml (a lever the warning names): UTD 1:2, 256x2 networks with LayerNorm,
    and no env or episode length of its own (the env card keeps them)."""
    cfg = preset("jaxgcrl_arm", env="arm_push_easy")
    assert cfg.updates_per_env_step == 0.5 and cfg.batch_size == 256
    for net in (cfg.actor, cfg.critic):
        assert (net.width, 1 + net.depth, net.residual, net.layer_norm) == (256, 2, False, True)
    assert cfg.episode_length is None and cfg.total_env_steps == crlx.Config().total_env_steps
