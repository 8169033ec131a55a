"""Tests for crlx.buffer: hindsight goals, ring wrap-around, goal strategies, random-goal mixing.

Every stored state encodes its own provenance,

    state = [env_index, absolute_time, episode_number_within_env, step_in_episode]
    action = [1000 * env_index + absolute_time]

and goal_fn is the identity, so each returned goal names exactly which stored step it came from.
The expected behaviour is computed from the NumPy done-schedule that was inserted.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from crlx import buffer
from crlx.types import Batch, Transition

STATE_DIM, ACTION_DIM = 4, 1
BATCH = 4096  # one batch size everywhere: no recompiles
DISCOUNT = 0.9  # one geometric discount everywhere
P_MIN = 1e-3  # accept a correct distribution
P_REJECT = 1e-6  # a wrong reference must be rejected far below this


def identity(s):
    return s


def goal_slice(s):  # a goal_dim != state_dim goal map, used only for the shape test
    return s[..., 1:3]


# ---------------------------------------------------------------------------------------------
# jitted entry points, compiled once per (static args, shapes) and shared by all tests


_insert = jax.jit(buffer.insert)


@functools.lru_cache(maxsize=None)
def _jit_sample(strategy, random_goal_prob, goal_fn):
    return jax.jit(
        functools.partial(
            buffer.sample,
            batch_size=BATCH,
            goal_fn=goal_fn,
            strategy=strategy,
            discount=DISCOUNT,
            random_goal_prob=random_goal_prob,
        )
    )


def _sampler(strategy="geometric", random_goal_prob=0.0, goal_fn=identity):
    return _jit_sample(strategy, random_goal_prob, goal_fn)


_sample_indices = jax.jit(
    functools.partial(buffer.sample_indices, batch_size=BATCH, strategy="geometric", discount=DISCOUNT)
)
# discount is traced here (only the strategy selects code), so one compile per strategy
_future_offset = jax.jit(buffer.future_offset, static_argnames="strategy")
N_OFFSETS = 40000


def _offsets(key, rest, strategy, discount):
    assert rest.shape == (N_OFFSETS,)
    return _np(_future_offset(key, rest, strategy, jnp.float32(discount)))


# ---------------------------------------------------------------------------------------------
# schedules and NumPy reference


def _done_from_lengths(lengths_per_env, total_t):
    """done (T, E): 1 at the last step of every episode that ends before the final step."""
    num_envs = len(lengths_per_env)
    done = np.zeros((total_t, num_envs), np.float32)
    for e, lengths in enumerate(lengths_per_env):
        ends = np.cumsum(lengths) - 1
        done[ends[ends < total_t], e] = 1.0
    done[-1] = 0.0  # the last episode of every env is still being written
    return done


def _random_done(rng, total_t, num_envs, max_len=12):
    lengths = rng.integers(1, max_len + 1, size=(num_envs, total_t))
    lengths[:, 1] = 1  # every env has a length-1 episode early on
    lengths[::2, 4] = 1  # and some envs a second one
    return _done_from_lengths(lengths, total_t)


class Ref:
    """What the buffer should hold after the first `count` steps of a done schedule."""

    def __init__(self, done, capacity):
        self.done = done
        self.count, self.num_envs = done.shape
        self.capacity = capacity
        t_idx = np.arange(self.count)
        d = done.astype(np.int64)
        self.ep = np.cumsum(d, axis=0) - d  # (T, E) episode number of each step
        start = np.zeros_like(self.ep)
        last = np.zeros_like(self.ep)  # absolute time of the last *written* step of the episode
        for e in range(self.num_envs):
            s = 0
            for t in range(self.count):
                if t > 0 and d[t - 1, e]:
                    s = t
                start[t, e] = s
            nxt = self.count - 1
            for t in reversed(range(self.count)):
                if d[t, e]:
                    nxt = t
                last[t, e] = nxt
        self.last = last
        self.states = np.stack(
            [
                np.broadcast_to(np.arange(self.num_envs)[None, :], self.ep.shape),
                np.broadcast_to(t_idx[:, None], self.ep.shape),
                self.ep,
                t_idx[:, None] - start,
            ],
            axis=-1,
        ).astype(np.float32)
        self.actions = (1000 * self.states[..., :1] + self.states[..., 1:2]).astype(np.float32)
        self.live_start = max(0, self.count - capacity)
        self.ongoing = (last == self.count - 1) & (done[-1][None, :] == 0)  # episode has no done yet


def _transition(states, actions, done):
    return Transition(state=jnp.asarray(states), action=jnp.asarray(actions), done=jnp.asarray(done))


def _build(done, capacity, chunk):
    """Insert `done`'s schedule chunk by chunk; returns [(buffer, Ref)] after every chunk."""
    full = Ref(done, capacity)
    buf = buffer.init(capacity, done.shape[1], STATE_DIM, ACTION_DIM)
    stages = []
    for c0 in range(0, done.shape[0], chunk):
        sl = slice(c0, c0 + chunk)
        buf = _insert(buf, _transition(full.states[sl], full.actions[sl], done[sl]))
        stages.append((buf, Ref(done[: c0 + chunk], capacity)))
    return stages


@functools.lru_cache(maxsize=None)
def scenario_main():
    """capacity 64, 8 envs, 3 chunks of 16 steps (no wrap yet)."""
    done = _random_done(np.random.default_rng(0), 48, 8)
    return _build(done, capacity=64, chunk=16)


@functools.lru_cache(maxsize=None)
def scenario_wrap():
    """capacity 16, 8 envs, 5 chunks of 7 steps = 35 > 16.

    env 0: a single 35-step episode (longer than the ring); env 1: done at every step (35 episode
    ids > capacity, so ep_end slots are reused); the others random lengths 1..12.
    """
    total = 35
    done = _random_done(np.random.default_rng(1), total, 8)
    done[:, 0] = 0.0
    done[:, 1] = 1.0
    done[-1] = 0.0
    return _build(done, capacity=16, chunk=7)


@functools.lru_cache(maxsize=None)
def scenario_long():
    """Same shapes as scenario_main, one 64-step episode per env: L = 63 - t for every sampled t."""
    done = np.zeros((64, 8), np.float32)
    return _build(done, capacity=64, chunk=16)


# ---------------------------------------------------------------------------------------------
# checks


def _np(x):
    return np.asarray(jax.device_get(x))


def _decode(batch: Batch, ref: Ref):
    """(env, t, goal_env, goal_t) from the self-describing rows, after checking the rows are real."""
    st, act, g = _np(batch.state), _np(batch.action), _np(batch.goal)
    env, t = st[:, 0].astype(np.int64), st[:, 1].astype(np.int64)
    genv, gt = g[:, 0].astype(np.int64), g[:, 1].astype(np.int64)
    for name, e_, t_ in (("state", env, t), ("goal", genv, gt)):
        assert ((e_ >= 0) & (e_ < ref.num_envs)).all(), f"{name}: env index out of range"
        assert ((t_ >= ref.live_start) & (t_ < ref.count)).all(), (
            f"{name}: time outside the live window [{ref.live_start}, {ref.count}): "
            f"{np.unique(t_[(t_ < ref.live_start) | (t_ >= ref.count)])}"
        )
    np.testing.assert_array_equal(st, ref.states[t, env], err_msg="sampled state is not the stored row")
    np.testing.assert_array_equal(act, ref.actions[t, env], err_msg="action does not belong to the state")
    np.testing.assert_array_equal(g, ref.states[gt, genv], err_msg="goal is not a stored row")
    return env, t, genv, gt


def _check_hindsight(env, t, genv, gt, ref: Ref):
    """Goal from the same env and episode, strictly later unless t is the last written step."""
    assert (genv == env).all(), "goal from another env"
    assert (ref.ep[gt, genv] == ref.ep[t, env]).all(), "goal from another episode"
    last = ref.last[t, env]
    assert (gt <= last).all(), "goal beyond the last written step of the episode"
    assert (gt >= t).all(), "goal in the past"
    same = gt == t
    assert (last[same] == t[same]).all(), "goal == state although later steps of the episode exist"
    assert (gt[last > t] > t[last > t]).all()


def _chisquare(obs, probs):
    """Pearson chi-square p-value; adjacent cells merged until every expected count >= 5."""
    obs = np.asarray(obs, np.float64)
    probs = np.asarray(probs, np.float64)
    assert np.isclose(probs.sum(), 1.0), probs.sum()
    assert obs[probs == 0].sum() == 0, f"mass outside the support: {np.nonzero(obs * (probs == 0))}"
    exp = probs * obs.sum()
    o_groups, e_groups, o_acc, e_acc = [], [], 0.0, 0.0
    for o, e in zip(obs, exp):
        o_acc, e_acc = o_acc + o, e_acc + e
        if e_acc >= 5:
            o_groups.append(o_acc)
            e_groups.append(e_acc)
            o_acc = e_acc = 0.0
    if e_acc > 0 or o_acc > 0:
        o_groups[-1] += o_acc
        e_groups[-1] += e_acc
    return stats.chisquare(o_groups, e_groups).pvalue


def _trunc_geom(d, L):
    """P(k), k = 0..L, of the truncated geometric on 1..L (L = 0: k = 0 surely)."""
    p = np.zeros(L + 1)
    if L == 0:
        p[0] = 1.0
        return p
    k = np.arange(1, L + 1)
    p[1:] = d ** (k - 1) * (1 - d) / (1 - d**L)
    return p


def _uniform_future(L):
    p = np.zeros(L + 1)
    if L == 0:
        p[0] = 1.0
    else:
        p[1:] = 1.0 / L
    return p


# ---------------------------------------------------------------------------------------------
# 0. layout


def test_init_and_insert_bookkeeping():
    buf = buffer.init(16, 3, STATE_DIM, ACTION_DIM)
    assert buf.capacity == 16 and buf.num_envs == 3
    assert buf.states.shape == (16, 3, STATE_DIM) and buf.states.dtype == jnp.float32
    assert buf.actions.shape == (16, 3, ACTION_DIM) and buf.actions.dtype == jnp.float32
    assert buf.ep_id.shape == (16, 3) and buf.ep_id.dtype == jnp.int32
    assert buf.ep_end.shape == (16, 3) and buf.ep_end.dtype == jnp.int32
    assert int(buf.count) == 0 and int(buffer.size(buf)) == 0
    assert (_np(buf.next_ep) == 0).all()

    for buf, ref in scenario_wrap():
        assert int(buf.count) == ref.count
        assert int(buffer.size(buf)) == min(ref.count, ref.capacity)
        np.testing.assert_array_equal(_np(buf.next_ep), ref.done.sum(axis=0))


# ---------------------------------------------------------------------------------------------
# 1. hindsight goals: same env, same episode, in the future


@pytest.mark.parametrize("strategy", ["geometric", "uniform_future", "final"])
def test_goals_same_episode_future(strategy):
    stages = scenario_main()
    sample = _sampler(strategy)
    for i, (buf, ref) in enumerate(stages):
        batch = sample(buf, jax.random.key(100 + i))
        env, t, genv, gt = _decode(batch, ref)
        _check_hindsight(env, t, genv, gt, ref)
        # the sampled (env, t) cover the whole live window
        live = ref.num_envs * (ref.count - ref.live_start)
        assert len(np.unique(env * 1000 + t)) == live
    # length-1 episodes (L = 0) give goal == state under every strategy
    buf, ref = stages[-1]
    length1 = (ref.states[..., 3] == 0) & (ref.done == 1)
    assert length1.sum() >= 8, "schedule lacks length-1 episodes"
    env, t, genv, gt = _decode(sample(buf, jax.random.key(7)), ref)
    one = (ref.states[t, env, 3] == 0) & (ref.last[t, env] == t) & (ref.done[t, env] == 1)
    assert one.sum() > 0
    assert (gt[one] == t[one]).all()


def test_sample_indices_same_episode_future():
    for i, (buf, ref) in enumerate(scenario_main() + scenario_wrap()):
        env, t, gt = (_np(x).astype(np.int64) for x in _sample_indices(buf, jax.random.key(200 + i)))
        assert ((t >= ref.live_start) & (t < ref.count)).all()
        _check_hindsight(env, t, env, gt, ref)


def test_uniform_over_live_window():
    buf, ref = scenario_main()[-1]
    env, t, _, _ = _decode(_sampler()(buf, jax.random.key(3)), ref)
    n_t = ref.count - ref.live_start
    assert _chisquare(np.bincount(env, minlength=ref.num_envs), np.full(ref.num_envs, 1 / ref.num_envs)) > P_MIN
    assert _chisquare(np.bincount(t - ref.live_start, minlength=n_t), np.full(n_t, 1 / n_t)) > P_MIN


SHARDS = 4
_sample_sharded = jax.jit(
    functools.partial(buffer.sample, batch_size=BATCH, goal_fn=identity, discount=DISCOUNT, num_shards=SHARDS)
)


def test_sharded_sampling_draws_each_block_of_rows_from_its_env_group():
    """num_shards=n (data-parallel training): rows of block i come from envs [i E/n, (i+1) E/n) only,
    with the same hindsight rules, and every env and live time step stays equally likely."""
    for i, (buf, ref) in enumerate(scenario_main() + scenario_wrap()):
        env, t, genv, gt = _decode(_sample_sharded(buf, jax.random.key(300 + i)), ref)
        _check_hindsight(env, t, genv, gt, ref)
        group = np.repeat(np.arange(SHARDS), BATCH // SHARDS)
        np.testing.assert_array_equal(env // (ref.num_envs // SHARDS), group)
    buf, ref = scenario_main()[-1]
    env, t, _, _ = _decode(_sample_sharded(buf, jax.random.key(3)), ref)
    n_t = ref.count - ref.live_start
    assert _chisquare(np.bincount(env, minlength=ref.num_envs), np.full(ref.num_envs, 1 / ref.num_envs)) > P_MIN
    assert _chisquare(np.bincount(t - ref.live_start, minlength=n_t), np.full(n_t, 1 / n_t)) > P_MIN


# ---------------------------------------------------------------------------------------------
# 2. goal strategies


def test_final_is_last_written_step():
    for i, (buf, ref) in enumerate(scenario_main() + scenario_wrap()):
        env, t, _, gt = _decode(_sampler("final")(buf, jax.random.key(300 + i)), ref)
        np.testing.assert_array_equal(gt, ref.last[t, env])


def test_future_offset_support_and_final():
    r = np.tile(np.arange(0, 200, dtype=np.int32), N_OFFSETS // 200)
    rest = jnp.asarray(r)
    for strategy, d in (("geometric", 0.99), ("geometric", 0.5), ("uniform_future", 0.9), ("final", 0.9)):
        k = _offsets(jax.random.key(4), rest, strategy, d)
        assert k.dtype == np.int32
        assert ((k >= np.minimum(1, r)) & (k <= r)).all(), strategy
        assert (k[r == 0] == 0).all()
        assert (k[r > 0] >= 1).all()
    np.testing.assert_array_equal(_offsets(jax.random.key(5), rest, "final", 0.9), r)
    with pytest.raises(ValueError):
        buffer.future_offset(jax.random.key(0), rest, "nearest", 0.9)


def test_future_offset_distribution_fixed_L():
    L = 20
    rest = jnp.full((N_OFFSETS,), L, jnp.int32)
    k_geo = np.bincount(_offsets(jax.random.key(6), rest, "geometric", 0.9), minlength=L + 1)
    assert _chisquare(k_geo, _trunc_geom(0.9, L)) > P_MIN
    assert _chisquare(k_geo, _trunc_geom(0.8, L)) < P_REJECT  # a wrong discount is detected
    assert _chisquare(k_geo, _uniform_future(L)) < P_REJECT
    k_geo8 = np.bincount(_offsets(jax.random.key(6), rest, "geometric", 0.8), minlength=L + 1)
    assert _chisquare(k_geo8, _trunc_geom(0.8, L)) > P_MIN
    k_uni = np.bincount(_offsets(jax.random.key(7), rest, "uniform_future", 0.9), minlength=L + 1)
    assert _chisquare(k_uni, _uniform_future(L)) > P_MIN
    assert _chisquare(k_uni, _trunc_geom(0.9, L)) < P_REJECT


@pytest.mark.parametrize("strategy", ["geometric", "uniform_future"])
def test_buffer_offset_distribution(strategy):
    """Through sample() on one 64-step episode per env: t ~ U{0..63}, L = 63 - t, k = goal_t - t.

    (a) conditioned on t = 43 (L = 20 exactly) k follows P_L (truncated geometric / uniform);
    (b) pooled over all t, k follows the exact mixture (1/64) sum_t P_{63 - t}.
    The same counts must reject the truncated geometric with discount 0.8.
    """
    ref_p = (lambda L: _trunc_geom(DISCOUNT, L)) if strategy == "geometric" else _uniform_future
    buf, ref = scenario_long()[-1]
    n_ep = ref.count
    assert n_ep == 64 and (ref.done == 0).all()
    sample = _sampler(strategy)
    ts, ks = [], []
    for i in range(16):  # 16 x 4096 draws, same compiled function
        env, t, genv, gt = _decode(sample(buf, jax.random.key(800 + i)), ref)
        _check_hindsight(env, t, genv, gt, ref)
        ts.append(t)
        ks.append(gt - t)
    t, k = np.concatenate(ts), np.concatenate(ks)

    sel = t == n_ep - 1 - 20
    assert sel.sum() > 800
    obs = np.bincount(k[sel], minlength=21)
    assert len(obs) == 21, "offset beyond the episode"
    assert _chisquare(obs, ref_p(20)) > P_MIN
    assert _chisquare(obs, _trunc_geom(0.8, 20)) < P_REJECT

    def mixture(p_of_L):
        mix = np.zeros(n_ep)
        for t0 in range(n_ep):
            p = p_of_L(n_ep - 1 - t0)
            mix[: len(p)] += p / n_ep
        return mix

    obs = np.bincount(k, minlength=n_ep)
    assert len(obs) == n_ep
    assert _chisquare(obs, mixture(ref_p)) > P_MIN
    assert _chisquare(obs, mixture(lambda L: _trunc_geom(0.8, L))) < P_REJECT


# ---------------------------------------------------------------------------------------------
# 3. ring wrap-around


def test_wraparound_slots_hold_latest_write():
    stages = scenario_wrap()
    assert stages[-1][1].count == 35 > stages[-1][1].capacity == 16
    for buf, ref in stages:
        states, actions, ep_id, ep_end = _np(buf.states), _np(buf.actions), _np(buf.ep_id), _np(buf.ep_end)
        for slot in range(ref.capacity):
            written = [t for t in range(ref.count) if t % ref.capacity == slot]
            if not written:
                assert (states[slot] == 0).all()
                continue
            t = written[-1]
            np.testing.assert_array_equal(states[slot], ref.states[t], err_msg=f"slot {slot} count {ref.count}")
            np.testing.assert_array_equal(actions[slot], ref.actions[t])
            np.testing.assert_array_equal(ep_id[slot], ref.ep[t])
        # the episode-end table agrees for every live step (env 1 reuses its slots: 35 episodes)
        for t in range(ref.live_start, ref.count):
            e_idx = np.arange(ref.num_envs)
            np.testing.assert_array_equal(ep_end[ref.ep[t] % ref.capacity, e_idx], ref.last[t])


@pytest.mark.parametrize("strategy", ["geometric", "final"])
def test_wraparound_samples_live_and_same_episode(strategy):
    for i, (buf, ref) in enumerate(scenario_wrap()):
        env, t, genv, gt = _decode(_sampler(strategy)(buf, jax.random.key(400 + i)), ref)
        assert (t >= ref.count - ref.capacity).all() and (gt >= ref.count - ref.capacity).all()
        _check_hindsight(env, t, genv, gt, ref)
        # env 1 (done every step): goal is the state itself
        m1 = env == 1
        assert (gt[m1] == t[m1]).all()


# ---------------------------------------------------------------------------------------------
# 4. episodes still being written


@pytest.mark.parametrize("name", ["main", "wrap"])
def test_ongoing_episodes(name):
    stages = scenario_main() if name == "main" else scenario_wrap()
    assert (stages[-1][1].done[-1] == 0).all()
    crossed = 0
    for i, (buf, ref) in enumerate(stages):
        env, t, genv, gt = _decode(_sampler("final")(buf, jax.random.key(500 + i)), ref)
        on = ref.ongoing[t, env]
        assert on.sum() > 100
        # goals of an unfinished episode: only already written steps, never an older episode
        assert (gt[on] <= ref.count - 1).all()
        assert (ref.ep[gt, genv] == ref.ep[t, env]).all()
        # 'final' of an unfinished episode is the newest written step
        assert (gt[on] == ref.count - 1).all()
        _check_hindsight(env, t, genv, gt, ref)
        if i > 0:  # episodes spanning a chunk boundary see steps from the newer chunk
            prev = stages[i - 1][1].count
            crossed += ((t < prev) & (gt >= prev)).sum()
        # geometric goals of unfinished episodes also stay within the write head
        env, t, genv, gt = _decode(_sampler("geometric")(buf, jax.random.key(600 + i)), ref)
        _check_hindsight(env, t, genv, gt, ref)
    assert crossed > 0
    if name == "wrap":  # env 0 never finishes: its final goal tracks the write head
        for i, (buf, ref) in enumerate(stages):
            env, t, _, gt = _decode(_sampler("final")(buf, jax.random.key(700 + i)), ref)
            assert (gt[env == 0] == ref.count - 1).all()


# ---------------------------------------------------------------------------------------------
# 5. random goal mixture


def _decode_actor_goals(batch: Batch, ref: Ref):
    """_decode of the actor's goals, after checking that the critic's goals are all hindsight goals."""
    _check_hindsight(*_decode(batch, ref), ref)
    return _decode(batch._replace(goal=batch.actor_goal), ref)


def test_random_goal_prob_one():
    buf, ref = scenario_main()[-1]
    env, t, genv, gt = _decode_actor_goals(_sampler(random_goal_prob=1.0)(buf, jax.random.key(9)), ref)
    E, n_t = ref.num_envs, ref.count - ref.live_start
    assert set(np.unique(genv)) == set(range(E))
    assert _chisquare(np.bincount(genv, minlength=E), np.full(E, 1 / E)) > P_MIN
    assert _chisquare(np.bincount(gt - ref.live_start, minlength=n_t), np.full(n_t, 1 / n_t)) > P_MIN
    # independent of the sampled state: same env only by chance
    frac_same = (genv == env).mean()
    assert abs(frac_same - 1 / E) < 5 * np.sqrt((1 / E) * (1 - 1 / E) / BATCH)
    assert (gt < t).mean() > 0.3  # past goals exist, unlike hindsight goals


def test_random_goal_prob_zero():
    buf, ref = scenario_main()[-1]
    batch = _sampler(random_goal_prob=0.0)(buf, jax.random.key(10))
    _check_hindsight(*_decode(batch, ref), ref)
    np.testing.assert_array_equal(_np(batch.actor_goal), _np(batch.goal))


def test_random_goal_prob_half():
    buf, ref = scenario_main()[-1]
    E, p = ref.num_envs, 0.5
    env, t, genv, gt = _decode_actor_goals(_sampler(random_goal_prob=p)(buf, jax.random.key(11)), ref)
    cross = (genv != env).mean()
    expected = p * (E - 1) / E
    assert abs(cross - expected) < 5 * np.sqrt(expected * (1 - expected) / BATCH), cross
    # every goal is a live stored row (checked by _decode); hindsight-valid goals (same env and
    # episode, t <= goal_t <= last) are the 1 - p hindsight ones plus the random ones that happen
    # to land on one of the (last - t + 1) valid rows out of E * live
    valid = (genv == env) & (ref.ep[gt, genv] == ref.ep[t, env]) & (gt >= t) & (gt <= ref.last[t, env])
    n_live = E * (ref.count - ref.live_start)
    q = (1 - p) + p * (ref.last[t, env] - t + 1) / n_live
    assert abs(valid.mean() - q.mean()) < 5 * np.sqrt((q * (1 - q)).sum()) / BATCH, (valid.mean(), q.mean())
    assert 0.4 < 1 - valid.mean() < 0.6  # roughly half are not hindsight goals


# ---------------------------------------------------------------------------------------------
# 6. shapes and dtypes


def test_batch_shapes_and_dtypes():
    buf, ref = scenario_main()[-1]
    batch = _sampler()(buf, jax.random.key(12))
    assert isinstance(batch, Batch)
    assert batch.state.shape == (BATCH, STATE_DIM) and batch.state.dtype == jnp.float32
    assert batch.action.shape == (BATCH, ACTION_DIM) and batch.action.dtype == jnp.float32
    assert batch.goal.shape == (BATCH, STATE_DIM) and batch.goal.dtype == jnp.float32
    assert batch.actor_goal.shape == (BATCH, STATE_DIM) and batch.actor_goal.dtype == jnp.float32

    sliced = _sampler(goal_fn=goal_slice)(buf, jax.random.key(12))
    assert sliced.goal.shape == (BATCH, 2) and sliced.goal.dtype == jnp.float32
    # same key, same draws: the goal is goal_fn of the hindsight goal state
    np.testing.assert_array_equal(_np(sliced.state), _np(batch.state))
    np.testing.assert_array_equal(_np(sliced.goal), _np(batch.goal)[:, 1:3])

    env, t, gt = _sample_indices(buf, jax.random.key(13))
    for x in (env, t, gt):
        assert x.shape == (BATCH,) and jnp.issubdtype(x.dtype, jnp.integer)
