"""On-device trajectory replay buffer with hindsight future-state goals.

Layout: a ring of `capacity` time steps per env, all envs written in lockstep,

    states  (capacity, num_envs, state_dim)   slot = absolute time t % capacity
    actions (capacity, num_envs, action_dim)
    ep_id   (capacity, num_envs)   episode counter of the env at that step
    ep_end  (capacity, num_envs)   ep_end[e % capacity, env] = absolute time of the last
                                   *written* step of episode e (scatter-max on insert)

A sample draws (t, env) uniformly over the live window [count - capacity, count) and a goal
offset k in [1, L], L = ep_end - t (the rest of the same episode written so far), so goals never
come from another episode, from an overwritten slot or from the future beyond the write head.
When t is the last step of its episode (L = 0) the goal is s_t itself (the final state).
Every step is O(batch): no (T, T) matrices, no scans over episodes.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
from flax import struct

from crlx.types import Batch, Transition


@struct.dataclass
class BufferState:
    states: jax.Array  # (capacity, num_envs, state_dim)
    actions: jax.Array  # (capacity, num_envs, action_dim)
    ep_id: jax.Array  # (capacity, num_envs) int32
    ep_end: jax.Array  # (capacity, num_envs) int32, indexed by ep_id % capacity
    next_ep: jax.Array  # (num_envs,) int32: episode id of the next inserted step
    count: jax.Array  # () int32: time steps inserted per env so far

    @property
    def capacity(self) -> int:
        return self.states.shape[0]

    @property
    def num_envs(self) -> int:
        return self.states.shape[1]


def init(capacity: int, num_envs: int, state_dim: int, action_dim: int) -> BufferState:
    """An empty buffer."""
    return BufferState(
        states=jnp.zeros((capacity, num_envs, state_dim), jnp.float32),
        actions=jnp.zeros((capacity, num_envs, action_dim), jnp.float32),
        ep_id=jnp.zeros((capacity, num_envs), jnp.int32),
        ep_end=jnp.full((capacity, num_envs), -1, jnp.int32),
        next_ep=jnp.zeros((num_envs,), jnp.int32),
        count=jnp.zeros((), jnp.int32),
    )


def insert(buf: BufferState, traj: Transition) -> BufferState:
    """Append T time steps of every env: traj fields have shape (T, num_envs, ...), T <= capacity."""
    steps = traj.state.shape[0]
    cap = buf.capacity
    abs_t = buf.count + jnp.arange(steps, dtype=jnp.int32)  # (T,)
    slots = abs_t % cap
    done = traj.done.astype(jnp.int32)  # (T, E)
    ep = buf.next_ep[None, :] + jnp.cumsum(done, axis=0) - done  # (T, E): id of each step's episode
    # one scatter per env column (vmapped over the env axis), so an env-sharded buffer stays local
    ep_end = jax.vmap(lambda col, ids: col.at[ids % cap].max(abs_t), in_axes=1, out_axes=1)(buf.ep_end, ep)
    return buf.replace(
        states=buf.states.at[slots].set(traj.state.astype(jnp.float32)),
        actions=buf.actions.at[slots].set(traj.action.astype(jnp.float32)),
        ep_id=buf.ep_id.at[slots].set(ep),
        ep_end=ep_end,
        next_ep=buf.next_ep + done.sum(axis=0),
        count=buf.count + steps,
    )


def size(buf: BufferState) -> jax.Array:
    """Live time steps per env: min(count, capacity)."""
    return jnp.minimum(buf.count, buf.capacity)


def future_offset(key: jax.Array, rest: jax.Array, strategy: str, discount: float) -> jax.Array:
    """Offset k of the goal state for `rest` = L future steps available (int array).

    geometric:      P(k) = discount^(k-1) (1 - discount) / (1 - discount^L),  k = 1..L
                    by inverse CDF k = ceil(log(1 - u (1 - discount^L)) / log discount)
    uniform_future: k ~ U{1..L}
    final:          k = L
    L = 0 gives k = 0 (the state itself is the episode's final state).
    """
    rest_f = rest.astype(jnp.float32)
    u = jax.random.uniform(key, rest.shape)
    if strategy == "geometric":
        k = jnp.ceil(jnp.log1p(-u * (1.0 - discount**rest_f)) / jnp.log(discount))
    elif strategy == "uniform_future":
        k = jnp.floor(u * rest_f) + 1.0
    elif strategy == "final":
        k = rest_f
    else:
        raise ValueError(f"buffer.goal_strategy: unknown strategy {strategy!r}")
    k = k.astype(jnp.int32)
    return jnp.clip(k, jnp.minimum(1, rest), rest)  # float round-off only; the support is [1, L]


def sample_indices(
    buf: BufferState, key: jax.Array, batch_size: int, strategy: str = "geometric", discount: float = 0.99
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(env, t, goal_t): env index and absolute times of the sampled state and of its goal state."""
    cap = buf.capacity
    k_env, k_t, k_off = jax.random.split(key, 3)
    live = size(buf)
    start = buf.count - live  # oldest live absolute time
    env = jax.random.randint(k_env, (batch_size,), 0, buf.num_envs)
    t = start + jax.random.randint(k_t, (batch_size,), 0, live)
    rest = buf.ep_end[buf.ep_id[t % cap, env] % cap, env] - t  # (B,) future steps of this episode
    return env, t, t + future_offset(k_off, rest, strategy, discount)


def sample(
    buf: BufferState,
    key: jax.Array,
    batch_size: int,
    goal_fn: Callable[[jax.Array], jax.Array],
    strategy: str = "geometric",
    discount: float = 0.99,
    random_goal_prob: float = 0.0,
    num_shards: int = 1,
) -> Batch:
    """Draw (s_t, a_t, g) with g = goal_fn(s_{t+k}) from the same env and episode.

    `goal` (the critic's positives) is always that hindsight goal. `actor_goal` is the goal the actor
    loss conditions on: with probability `random_goal_prob` per row goal_fn of a uniformly random live
    state, else `goal` (random goals reach the actor only, as in CRL, Eysenbach et al. 2022, and the
    JaxGCRL paper's code). Shapes: state (B, state_dim), action (B, action_dim), goals (B, goal_dim).

    num_shards > 1 stratifies the draw: the envs are split into num_shards equal contiguous groups
    and rows [i B/n, (i+1) B/n) of the batch come from group i (key split n ways). Every env is
    still drawn with probability 1/num_envs per row on average; with the env axis sharded over n
    devices every gather stays on its device.
    """
    if num_shards > 1:
        return _sample_sharded(buf, key, batch_size, goal_fn, strategy, discount, random_goal_prob, num_shards)
    cap = buf.capacity
    k_idx, k_mix, k_env, k_t = jax.random.split(key, 4)
    env, t, goal_t = sample_indices(buf, k_idx, batch_size, strategy, discount)
    goal = goal_fn(buf.states[goal_t % cap, env])
    actor_goal = goal
    if random_goal_prob > 0.0:
        live = size(buf)
        r_env = jax.random.randint(k_env, (batch_size,), 0, buf.num_envs)
        r_t = buf.count - live + jax.random.randint(k_t, (batch_size,), 0, live)
        random_goal = goal_fn(buf.states[r_t % cap, r_env])
        use_random = jax.random.uniform(k_mix, (batch_size, 1)) < random_goal_prob
        actor_goal = jnp.where(use_random, random_goal, goal)
    return Batch(state=buf.states[t % cap, env], action=buf.actions[t % cap, env], goal=goal, actor_goal=actor_goal)


def _sample_sharded(buf, key, batch_size, goal_fn, strategy, discount, random_goal_prob, num_shards) -> Batch:
    """`sample` vmapped over num_shards env groups: env axis (E,) viewed as (n, E/n), no copy."""

    def split(x: jax.Array, axis: int) -> jax.Array:
        return x.reshape(x.shape[:axis] + (num_shards, x.shape[axis] // num_shards) + x.shape[axis + 1 :])

    groups = BufferState(
        states=split(buf.states, 1),
        actions=split(buf.actions, 1),
        ep_id=split(buf.ep_id, 1),
        ep_end=split(buf.ep_end, 1),
        next_ep=split(buf.next_ep, 0),
        count=buf.count,
    )
    axes = BufferState(states=1, actions=1, ep_id=1, ep_end=1, next_ep=0, count=None)
    per_group = functools.partial(
        sample,
        batch_size=batch_size // num_shards,
        goal_fn=goal_fn,
        strategy=strategy,
        discount=discount,
        random_goal_prob=random_goal_prob,
    )
    batch = jax.vmap(per_group, in_axes=(axes, 0))(groups, jax.random.split(key, num_shards))
    return jax.tree.map(lambda x: x.reshape((batch_size,) + x.shape[2:]), batch)
