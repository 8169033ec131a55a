"""The goal-conditioned env contract and the wrappers every env shares.

A `GoalEnv` is a brax `Env` whose observation is `concat(state, goal)`:

    obs[..., :state_dim]   the state s
    obs[..., state_dim:]   the commanded goal g, shape (goal_dim,)
    achieved goal          achieved_goal(s): s[goal_indices] in the default goal space

Goal spaces: an env may offer named alternative achieved-goal functions (`goal_spaces()`, e.g.
object position, or object position plus gripper-minus-object offset), picked with the
`goal_space` option; the env then also commands goals of that space (`command`). The pushing tasks
offer `object` (their default) and `object_and_hand` (OBJECT_AND_HAND, `object_goal_spaces`):

    achieved  [object, hand - object]      commanded  [goal, 0]

the object at the goal with the hand on it; `dist` and `success` judge the object part only.

Every `State` it returns carries `metrics["dist"] = ||achieved - g||` (the judged part,
`judged_part`) and `metrics["success"] = dist < success_threshold` (as float 0/1), and `info["goal"]`.
Sizes come from `state_dim` and `jax.eval_shape(achieved_goal)`; no physics runs or is traced to find them.

Envs whose task is to move an object declare where it is (`object_indices`); the episode wrapper
then tracks whether it moved (`metrics["goal_moved"]`, see `EpisodeWrapper`), which crlx.diagnostics
turns into `train/goal_moved`.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
from brax.envs.base import Env, State, Wrapper


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Per-env defaults that belong to the env, overridable by `make_env(name, **overrides)`."""

    episode_length: int
    """steps per episode before truncation"""
    success_threshold: float
    """an episode step counts as success when dist(achieved, goal) < this"""
    backend: str = "jax"
    """physics backend: 'jax' (pure JAX), 'mjx', or a brax pipeline ('generalized', 'positional', 'spring')"""


GoalFn = Callable[[jax.Array], jax.Array]
"""(..., state_dim) -> (..., goal_dim)"""

OBJECT_AND_HAND = "object_and_hand"
"""the goal space of goal engineering for pushing tasks: achieved [object, hand - object], commanded
[goal, 0]; success and dist judge the object part only (Meta-World's ports use the same name)"""


def object_goal_spaces(obj: GoalFn, hand: GoalFn) -> dict[str, GoalFn]:
    """A pushing task's goal spaces: {"object": obj (the default), OBJECT_AND_HAND: [obj, hand - obj]}.

    obj and hand map (..., state_dim) to positions of the same size (..., k); OBJECT_AND_HAND's
    achieved goal is (..., 2k)."""
    return {"object": obj, OBJECT_AND_HAND: lambda s: jnp.concatenate([obj(s), hand(s) - obj(s)], axis=-1)}


class GoalEnv(Env, abc.ABC):
    """A goal-conditioned brax env. Subclasses set `state_dim`, `goal_indices`, `spec`, and may
    offer more goal spaces by overriding `goal_spaces` (then commanding goals per `goal_space`)."""

    state_dim: int
    goal_indices: tuple[int, ...]
    """state indices of the achieved goal in the default goal space"""
    spec: EnvSpec
    goal_space: str = "default"
    """the selected goal space (a key of goal_spaces())"""
    object_indices: tuple[int, ...] = ()
    """state indices of the position of the object the task asks the agent to move (declared once
    per env family); () when there is none (the goal is the agent's own body). Envs with an object
    get `metrics["goal_moved"]` from the episode wrapper and `train/goal_moved` in training."""

    def goal_spaces(self) -> dict[str, GoalFn]:
        """Named achieved-goal functions; the first is the default. Base: s[goal_indices]."""
        return {"default": self.select_goal_indices}

    def select_goal_indices(self, state_vec: jax.Array) -> jax.Array:
        return jnp.take(state_vec, jnp.asarray(self.goal_indices), axis=-1)

    def select_goal_space(self, goal_space: str | None) -> None:
        """Set `goal_space` (None: the default); ValueError naming the options when unknown."""
        names = list(self.goal_spaces())
        if goal_space is None:
            goal_space = names[0]
        if goal_space not in names:
            raise ValueError(f"{type(self).__name__}: goal_space must be one of {names}, got {goal_space!r}")
        self.goal_space = goal_space

    @property
    def backend(self) -> str:
        return self.spec.backend

    @property
    def goal_dim(self) -> int:
        return int(jax.eval_shape(self.achieved_goal, jax.ShapeDtypeStruct((self.state_dim,), jnp.float32)).shape[-1])

    @property
    def observation_size(self) -> int:
        """state_dim + goal_dim: obs = concat(state, goal), so reset need not be traced to know it."""
        return self.state_dim + self.goal_dim

    def achieved_goal(self, state_vec: jax.Array) -> jax.Array:
        """(..., state_dim) -> (..., goal_dim): the part of the state that the goal commands."""
        return self.goal_spaces()[self.goal_space](state_vec)

    def command(self, goal: jax.Array) -> jax.Array:
        """The commanded goal of the selected space from the task's goal (..., k): [goal, 0] (..., 2k)
        in OBJECT_AND_HAND (the hand on the object), else `goal` itself."""
        if self.goal_space == OBJECT_AND_HAND:
            return jnp.concatenate([goal, jnp.zeros_like(goal)], axis=-1)
        return goal

    def judged_part(self, goal: jax.Array) -> jax.Array:
        """The part of an achieved or commanded goal (..., goal_dim) that `dist` and `success` judge:
        the object half (..., goal_dim // 2) in OBJECT_AND_HAND, else all of it."""
        if self.goal_space == OBJECT_AND_HAND:
            return goal[..., : goal.shape[-1] // 2]
        return goal

    def goal_metrics(self, state_vec: jax.Array, goal: jax.Array) -> dict[str, jax.Array]:
        """{'dist': ||judged(achieved) - judged(goal)||_2, 'success': float(dist < threshold)}."""
        achieved = self.judged_part(self.achieved_goal(state_vec))
        dist = jnp.linalg.norm(achieved - self.judged_part(goal), axis=-1)
        return {"dist": dist, "success": (dist < self.spec.success_threshold).astype(jnp.float32)}

    def first_state(self, pipeline_state: Any, state_vec: jax.Array, goal: jax.Array) -> State:
        """The State of a fresh episode: obs = concat(state_vec, goal), reward = -dist, done = 0."""
        metrics = self.goal_metrics(state_vec, goal)
        return State(
            pipeline_state=pipeline_state,
            obs=jnp.concatenate([state_vec, goal]),
            reward=-metrics["dist"],
            done=jnp.zeros(()),
            metrics=metrics,
            info={"goal": goal},
        )

    def next_state(self, state: State, pipeline_state: Any, state_vec: jax.Array, done: jax.Array) -> State:
        """`state` advanced to `state_vec` under the same goal (info["goal"]), reward = -dist."""
        goal = state.info["goal"]
        metrics = self.goal_metrics(state_vec, goal)
        return state.replace(
            pipeline_state=pipeline_state,
            obs=jnp.concatenate([state_vec, goal]),
            reward=-metrics["dist"],
            done=jnp.asarray(done, jnp.float32),
            metrics=metrics,
        )


class EpisodeWrapper(Wrapper):
    """Counts steps; sets `done` at `episode_length` and `info['truncation']` when cut by time.

    For an env with an object (`object_indices`) it also tracks whether the object has moved:
    `info['object_start']` is the object's position at reset, and `metrics['goal_moved']` (and
    `info['goal_moved']`) is 1.0 from the first step of the episode at which the object lies farther
    than the env's success_threshold from there, 0.0 before. The metric of an episode's last step
    survives the auto-reset (the info restarts at 0 with the next episode).
    """

    def __init__(self, env: GoalEnv, episode_length: int):
        super().__init__(env)
        self.episode_length = episode_length
        self.object_indices = tuple(getattr(env, "object_indices", ()))

    def object_position(self, obs: jax.Array) -> jax.Array:
        """(..., obs_size) -> (..., len(object_indices)): obs = concat(state, goal) starts with the state."""
        return jnp.take(obs, jnp.asarray(self.object_indices), axis=-1)

    def reset(self, rng: jax.Array) -> State:
        state = self.env.reset(rng)
        state.info["steps"] = jnp.zeros((), jnp.int32)
        state.info["truncation"] = jnp.zeros(())
        if self.object_indices:
            state.info["object_start"] = self.object_position(state.obs)
            state.info["goal_moved"] = jnp.zeros(())
            state.metrics["goal_moved"] = jnp.zeros(())
        return state

    def step(self, state: State, action: jax.Array) -> State:
        steps = state.info["steps"] + 1
        state = self.env.step(state, action)
        out_of_time = steps >= self.episode_length
        state.info["steps"] = steps
        state.info["truncation"] = jnp.where(out_of_time, 1.0 - state.done, 0.0)
        if self.object_indices:
            shift = jnp.linalg.norm(self.object_position(state.obs) - state.info["object_start"], axis=-1)
            moved = jnp.maximum(state.info["goal_moved"], (shift > self.env.spec.success_threshold).astype(jnp.float32))
            state.info["goal_moved"] = moved
            state.metrics["goal_moved"] = moved
        return state.replace(done=jnp.maximum(state.done, out_of_time.astype(state.done.dtype)))


class AutoResetWrapper(Wrapper):
    """On `done`, starts a fresh episode from a new key, so every episode gets a fresh goal.

    Wraps a batched env (VmapWrapper): states carry a leading env axis. The fresh episodes are
    built only on steps where some env is done (a `lax.cond`), not on every step; which envs
    restart is a per-env select. The returned state of a terminal step carries the new episode's
    obs; its `done`, `reward` and `metrics` stay those of the step that ended the episode.
    """

    def reset(self, rng: jax.Array) -> State:
        keys = jax.vmap(jax.random.split)(rng)  # (num_envs, 2, 2)
        state = self.env.reset(keys[:, 1])
        state.info["reset_rng"] = keys[:, 0]
        return state

    def step(self, state: State, action: jax.Array) -> State:
        keys = jax.vmap(jax.random.split)(state.info["reset_rng"])
        stepped = self.env.step(state.replace(done=jnp.zeros_like(state.done)), action)
        done = stepped.done

        def restart(stepped: State) -> State:
            fresh = self.env.reset(keys[:, 1])

            def pick(new: Any, old: Any) -> Any:
                return jnp.where(jnp.reshape(done > 0, done.shape + (1,) * (old.ndim - done.ndim)), new, old)

            info = dict(stepped.info)
            for key, value in fresh.info.items():
                if key in info:
                    info[key] = pick(value, info[key])
            return stepped.replace(pipeline_state=jax.tree.map(pick, fresh.pipeline_state, stepped.pipeline_state),
                                   obs=pick(fresh.obs, stepped.obs), info=info)

        state = jax.lax.cond(jnp.any(done > 0), restart, lambda stepped: stepped, stepped)
        state.info["reset_rng"] = keys[:, 0]
        return state


class VmapWrapper(Wrapper):
    """Batches reset/step over a leading env axis: reset takes keys of shape (num_envs, 2)."""

    def reset(self, rng: jax.Array) -> State:
        return jax.vmap(self.env.reset)(rng)

    def step(self, state: State, action: jax.Array) -> State:
        return jax.vmap(self.env.step)(state, action)


def wrap_for_training(env: GoalEnv, episode_length: int | None = None) -> Wrapper:
    """Episode limit -> vmap -> auto-reset with fresh goals. Reset takes (num_envs, 2) keys."""
    length = env.spec.episode_length if episode_length is None else episode_length
    return AutoResetWrapper(VmapWrapper(EpisodeWrapper(env, length)))


def wrap_for_eval(env: GoalEnv, episode_length: int | None = None) -> Wrapper:
    """Episode limit -> vmap, no auto-reset: one episode per env slot."""
    length = env.spec.episode_length if episode_length is None else episode_length
    return VmapWrapper(EpisodeWrapper(env, length))
