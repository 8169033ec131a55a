"""Arm tasks: scripted controllers solve every task on the jitted env; the idle policy fails every
task and random actions fail all but arm_reach (so the success checks can fail).

One jitted rollout per task (module-scope, compiled once) runs a policy picked by a traced mode:
0 scripted, 1 zero action, 2 uniform random action in [-1, 1]^4.
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crlx.envs import wrap_for_eval
from crlx.envs.arm import ARM_TASKS, BIN_CENTER, CUBE_HALF, CUBE_POS, CUBE_REGION, FINGERS, HAND, HAND_HIGH, HAND_LOW

NUM_ENVS = 6
SCRIPTED, ZERO, RANDOM = 0, 1, 2
STEP = 0.0125
"""hand travel per env step at |a| = 1 (0.5 m/s * 0.025 s)"""

# brax's mjx pipeline reads Data.contact / Data.ncon, which mujoco-mjx marks deprecated
pytestmark = pytest.mark.filterwarnings("ignore:Accessing .* directly from .Data. is deprecated:DeprecationWarning")


def move(hand: jax.Array, target: jax.Array, gain: float = 0.5) -> jax.Array:
    """(N, 3) hand velocity command toward target, closing `gain` of the gap per step."""
    return jnp.clip(gain * (target - hand) / STEP, -1.0, 1.0)


def with_z(xy: jax.Array, z) -> jax.Array:
    """(N, 2), scalar or (N,) -> (N, 3)"""
    z = jnp.asarray(z, xy.dtype)
    return jnp.concatenate([xy, jnp.broadcast_to(z[..., None] if z.ndim else z, xy.shape[:-1] + (1,))], axis=-1)


def reach_policy(s, g, phase):
    return jnp.concatenate([move(s[:, HAND], g), jnp.ones_like(s[:, :1])], axis=-1), phase


def push_policy(s, g, phase):
    """Hover behind the cube (seen from the goal), descend, push along cube -> goal with closed fingers."""
    hand, cube = s[:, HAND], s[:, CUBE_POS]
    to_goal = g[:, :2] - cube[:, :2]
    remaining = jnp.linalg.norm(to_goal, axis=-1, keepdims=True)
    d = to_goal / jnp.maximum(remaining, 1e-6)  # (N, 2) push direction
    contact = cube[:, :2] - 0.04 * d  # hand xy touching the cube's rear face
    rel = hand[:, :2] - cube[:, :2]
    along = jnp.sum(rel * d, axis=-1, keepdims=True)
    across = jnp.linalg.norm(rel - along * d, axis=-1, keepdims=True)
    pushing = (hand[:, 2:] < 0.04) & (across < 0.02) & (along < -0.025)
    push_target = with_z(contact + d * jnp.minimum(remaining, 0.03), CUBE_HALF)
    pre = cube[:, :2] - 0.075 * d
    above = jnp.linalg.norm(hand[:, :2] - pre, axis=-1, keepdims=True) < 0.015
    high = hand[:, 2:] > 0.07
    approach_target = jnp.where(above, with_z(pre, CUBE_HALF),
                                jnp.where(high, with_z(pre, 0.09), with_z(hand[:, :2], 0.09)))
    target = jnp.where(pushing, push_target, approach_target)
    return jnp.concatenate([move(hand, target), -jnp.ones_like(remaining)], axis=-1), phase


def pick_policy(s, g, phase, place: bool):
    """Phases: 0 above the cube, 1 descend, 2 close, 3 lift, 4 carry over the goal, 5 release."""
    hand, cube, gap = s[:, HAND], s[:, CUBE_POS], s[:, FINGERS].sum(-1)
    near = lambda a, b, tol: jnp.linalg.norm(a - b, axis=-1) < tol  # noqa: E731
    lift_z = 0.12 if place else g[:, 2] + 0.005
    targets = jnp.stack(
        [
            with_z(cube[:, :2], 0.09),
            with_z(cube[:, :2], CUBE_HALF),
            hand,
            with_z(hand[:, :2], lift_z),
            with_z(g[:, :2], lift_z) if place else with_z(hand[:, :2], lift_z),
            hand,
        ],
        axis=1,
    )  # (N, 6, 3)
    target = jnp.take_along_axis(targets, phase[:, None, None], axis=1)[:, 0]
    done = jnp.stack(
        [
            near(hand, targets[:, 0], 0.01),
            hand[:, 2] < CUBE_HALF + 0.005,
            gap < 0.047,
            hand[:, 2] > 0.11 if place else jnp.zeros_like(gap, bool),
            near(hand[:, :2], g[:, :2], 0.01) if place else jnp.zeros_like(gap, bool),
            jnp.zeros_like(gap, bool),
        ],
        axis=1,
    )  # (N, 6)
    advance = jnp.take_along_axis(done, phase[:, None], axis=1)[:, 0]
    grip = jnp.where((phase <= 1) | (phase == 5), 1.0, -1.0)
    return jnp.concatenate([move(hand, target), grip[:, None]], axis=-1), phase + advance


POLICIES = {
    "arm_reach": reach_policy,
    "arm_push_easy": push_policy,
    "arm_push_hard": push_policy,
    "arm_binpick_easy": lambda s, g, p: pick_policy(s, g, p, place=True),
    "arm_binpick_hard": lambda s, g, p: pick_policy(s, g, p, place=True),
    "arm_grasp": lambda s, g, p: pick_policy(s, g, p, place=False),
}


def make_rollout(name: str):
    """jit((keys (N, 2), mode) -> success (T, N)): one episode per env under the policy `mode`."""
    env = ARM_TASKS[name]()
    wrapped = wrap_for_eval(env)
    policy = POLICIES[name]

    def rollout(keys, mode):
        state = wrapped.reset(keys)
        phase = jnp.zeros(keys.shape[0], jnp.int32)

        def body(carry, key):
            state, phase = carry
            s, g = state.obs[:, : env.state_dim], state.info["goal"]
            scripted, next_phase = policy(s, g, phase)
            random = jax.random.uniform(key, scripted.shape, minval=-1.0, maxval=1.0)
            action = jnp.select([mode == SCRIPTED, mode == ZERO], [scripted, jnp.zeros_like(scripted)], random)
            state = wrapped.step(state, action)
            return (state, next_phase), state.metrics["success"]

        steps = jax.random.split(jax.random.PRNGKey(7), env.spec.episode_length)
        return jax.lax.scan(body, (state, phase), steps)[1]

    return env, jax.jit(rollout)


@functools.cache
def run_task(name: str):
    """(name, env, {mode: (T, N) success}), computed once per task and process."""
    env, rollout = make_rollout(name)
    keys = jax.random.split(jax.random.PRNGKey(0), NUM_ENVS)
    success = {mode: np.asarray(rollout(keys, mode)) for mode in (SCRIPTED, ZERO, RANDOM)}  # (T, N) each
    return name, env, success


@pytest.fixture(params=sorted(ARM_TASKS))
def task(request):
    return run_task(request.param)


def test_scripted_controller_succeeds(task):
    name, env, success = task
    final = success[SCRIPTED][-1]  # success at the episode's last step
    assert final.mean() >= 5 / 6, f"{name}: scripted success {final}"


def test_idle_and_random_policies_fail(task):
    """Doing nothing never succeeds; random actions fail the tasks that need the cube moved far."""
    name, env, success = task
    assert success[ZERO].max(axis=0).mean() <= 1 / 6, f"{name}: zero action succeeds {success[ZERO].max(0)}"
    if name != "arm_reach":
        assert success[RANDOM].max(axis=0).mean() <= 1 / 6, f"{name}: random succeeds {success[RANDOM].max(0)}"


@pytest.mark.parametrize("name", sorted(ARM_TASKS))
def test_factory_signature_and_bad_values(name: str):
    params = inspect.signature(ARM_TASKS[name]).parameters
    assert {"backend", "goal_space", "episode_length", "success_threshold"} <= set(params)
    with pytest.raises(ValueError, match="backend"):
        ARM_TASKS[name](backend="generalized")
    with pytest.raises(ValueError, match="success_threshold"):
        ARM_TASKS[name](success_threshold=0.0)
    with pytest.raises(ValueError, match="goal_space"):
        ARM_TASKS[name](goal_space="nope")


@pytest.mark.parametrize(
    "name, field, value",
    [
        ("arm_reach", "goal_low", (-0.5, 0.0, 0.1)),
        ("arm_reach", "goal_high", (0.1, 0.1)),
        ("arm_push_easy", "goal_min_distance", -0.1),
        ("arm_push_hard", "goal_max_distance", 0.0),
        ("arm_binpick_easy", "goal_jitter", 0.1),
        ("arm_grasp", "lift_max", 0.5),
        ("arm_grasp", "lift_min", 0.0),
    ],
)
def test_bad_option_value_names_field(name: str, field: str, value):
    with pytest.raises(ValueError, match=field):
        ARM_TASKS[name](**{field: value})


@pytest.mark.parametrize("name", sorted(ARM_TASKS))
def test_start_and_goal_distributions(name: str):
    """Starts and goals from `place` / `sample_goal` (no physics): goals within the task's ranges."""
    env = ARM_TASKS[name]()
    place_keys, goal_keys = jax.random.split(jax.random.PRNGKey(3), 2)
    q = jax.vmap(env.place)(jax.random.split(place_keys, 256))
    g = np.asarray(jax.vmap(env.sample_goal)(jax.random.split(goal_keys, 256), q))
    q = np.asarray(q)
    hand, cube = q[:, HAND], q[:, CUBE_POS]
    assert ((hand >= np.array(HAND_LOW)) & (hand <= np.array(HAND_HIGH))).all()
    low, high = np.array(CUBE_REGION)
    assert ((cube[:, :2] >= low) & (cube[:, :2] <= high)).all() and np.allclose(cube[:, 2], CUBE_HALF)
    if name == "arm_reach":
        assert ((g >= np.array(env.goal_low)) & (g <= np.array(env.goal_high))).all()
    elif name.startswith("arm_push"):
        d = np.linalg.norm(g[:, :2] - cube[:, :2], axis=-1)
        assert (d >= env.goal_min_distance - 1e-6).all() and (d <= env.goal_max_distance + 1e-6).all()
        assert ((g[:, :2] >= low) & (g[:, :2] <= high)).all() and np.allclose(g[:, 2], CUBE_HALF)
    elif name.startswith("arm_binpick"):
        assert (np.abs(g[:, :2] - np.array(BIN_CENTER)) <= env.goal_jitter + 1e-6).all()
        assert np.allclose(g[:, 2], CUBE_HALF)
        if name == "arm_binpick_hard":
            assert (np.linalg.norm(cube[:, :2] - np.array(BIN_CENTER), axis=-1) >= 0.2 - 1e-6).all()
        else:  # cube between the open fingers
            np.testing.assert_allclose(hand[:, :2], cube[:, :2])
            assert (q[:, FINGERS] > CUBE_HALF).all()
    else:
        np.testing.assert_allclose(g[:, :2], cube[:, :2])
        lift = g[:, 2] - cube[:, 2]
        assert ((lift >= env.lift_min - 1e-5) & (lift <= env.lift_max + 1e-5)).all()
        np.testing.assert_allclose(g[:, 3:], CUBE_HALF)


def test_push_goal_space_object_and_hand():
    """object_and_hand: cube xyz ++ (hand - cube); the commanded hand offset is 0; success judges the
    cube alone (tests/test_goal_spaces.py checks the same for every pushing task)."""
    env = ARM_TASKS["arm_push_easy"](goal_space="object_and_hand")
    state = jax.eval_shape(env.reset, jax.random.PRNGKey(0))
    assert env.goal_dim == 6 and state.obs.shape == (env.state_dim + 6,)
    s = jnp.arange(env.state_dim, dtype=jnp.float32)
    np.testing.assert_allclose(env.achieved_goal(s), np.r_[5.0, 6.0, 7.0, -5.0, -5.0, -5.0])
    q = env.place(jax.random.PRNGKey(1))
    np.testing.assert_array_equal(env.command(env.sample_goal(jax.random.PRNGKey(2), q))[3:], 0.0)
    assert list(env.goal_spaces()) == ["object", "object_and_hand"]


@pytest.mark.parametrize("name", ["arm_push_easy", "arm_push_hard"])
def test_push_hand_start_near_object(name: str):
    """near_object: the grip point NEAR_OBJECT_DISTANCE from the cube center (unless clipped at the
    workspace edge), at NEAR_OBJECT_Z, in every direction; random: anywhere above the table."""
    from crlx.envs.arm import NEAR_OBJECT_DISTANCE, NEAR_OBJECT_Z

    q = np.asarray(jax.vmap(ARM_TASKS[name](hand_start="near_object").place)(jax.random.split(jax.random.PRNGKey(4), 512)))
    hand, cube = q[:, HAND], q[:, CUBE_POS]
    np.testing.assert_allclose(hand[:, 2], NEAR_OBJECT_Z)
    offset = hand[:, :2] - cube[:, :2]
    inside = (np.abs(hand[:, :2]) < np.array(HAND_HIGH[:2]) - 1e-6).all(axis=1)
    assert inside.mean() > 0.9
    np.testing.assert_allclose(np.linalg.norm(offset[inside], axis=1), NEAR_OBJECT_DISTANCE, rtol=1e-5)
    angles = np.arctan2(offset[:, 1], offset[:, 0])
    assert np.histogram(angles, bins=4, range=(-np.pi, np.pi))[0].min() > 80  # every direction
    far = np.asarray(jax.vmap(ARM_TASKS[name]().place)(jax.random.split(jax.random.PRNGKey(4), 512)))
    assert np.linalg.norm(far[:, HAND][:, :2] - far[:, CUBE_POS][:, :2], axis=1).mean() > 2 * NEAR_OBJECT_DISTANCE
    with pytest.raises(ValueError, match="hand_start"):
        ARM_TASKS[name](hand_start="above")
