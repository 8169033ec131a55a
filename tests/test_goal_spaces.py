"""Goal engineering on every pushing task: the object_and_hand goal space (achieved [object, hand -
object], commanded [goal, 0], success on the object alone), and which envs declare an object for
train/goal_moved. Pure functions of hand-made states: no physics is compiled (a reset of these
scenes compiles for 30-40 s on a CPU; the Meta-World space's MJX rollout is in test_continual.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crlx.envs import make_env
from crlx.envs.arm import ARM_TASKS
from crlx.envs.base import OBJECT_AND_HAND
from crlx.envs.metaworld import TASKS as MW_TASKS
from tests.conftest import EXHAUSTIVE_ONLY, ci_subset

PUSHING = {
    # env: (object state slice, hand state slice) as the env's docstring states them
    "pusher_easy": (slice(10, 13), slice(7, 10)),
    "pusher_hard": (slice(10, 13), slice(7, 10)),
    "planar_pusher_easy": (slice(11, 13), slice(9, 11)),
    "planar_pusher_hard": (slice(11, 13), slice(9, 11)),
    "arm_push_easy": (slice(5, 8), slice(0, 3)),
    "arm_push_hard": (slice(5, 8), slice(0, 3)),
}


@pytest.fixture(scope="module", params=ci_subset(sorted(PUSHING), set(PUSHING) - EXHAUSTIVE_ONLY))
def pair(request):
    """(name, env in its default space, env in object_and_hand)."""
    name = request.param
    return name, make_env(name), make_env(name, goal_space=OBJECT_AND_HAND)


def test_spaces_are_named_alike(pair):
    name, default, engineered = pair
    assert list(default.goal_spaces()) == ["object", OBJECT_AND_HAND]
    assert default.goal_space == "object" and engineered.goal_space == OBJECT_AND_HAND
    assert engineered.goal_dim == 2 * default.goal_dim


def test_achieved_goal_from_a_known_state(pair):
    name, default, engineered = pair
    obj, hand = PUSHING[name]
    s = np.arange(default.state_dim, dtype=np.float32) / 10
    np.testing.assert_allclose(np.asarray(default.achieved_goal(jnp.asarray(s))), s[obj], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(engineered.achieved_goal(jnp.asarray(s))),
                               np.concatenate([s[obj], s[hand] - s[obj]]), rtol=1e-6)
    assert tuple(default.object_indices) == tuple(range(obj.start, obj.stop))


def test_commanded_goal_puts_the_hand_on_the_object(pair):
    name, default, engineered = pair
    goal = jnp.arange(1.0, default.goal_dim + 1.0)
    np.testing.assert_array_equal(np.asarray(default.command(goal)), np.asarray(goal))
    commanded = np.asarray(engineered.command(goal))
    np.testing.assert_array_equal(commanded[: default.goal_dim], np.asarray(goal))
    np.testing.assert_array_equal(commanded[default.goal_dim :], 0.0)
    reset = jax.eval_shape(engineered.reset, jax.random.PRNGKey(0))  # traced, not compiled
    assert reset.info["goal"].shape == (engineered.goal_dim,)


def test_success_still_judges_the_object_alone(pair):
    """dist and success in object_and_hand equal the default space's, whatever the hand does: a
    hand far from the object (offset != 0) changes neither; the object off the goal fails."""
    name, default, engineered = pair
    threshold = default.spec.success_threshold
    obj, _ = PUSHING[name]
    rng = np.random.default_rng(0)
    states = rng.uniform(-0.5, 0.5, (64, default.state_dim)).astype(np.float32)
    goals = states[:, obj] + rng.uniform(-2, 2, (64, 1)).astype(np.float32) * threshold / np.sqrt(obj.stop - obj.start)
    expected = default.goal_metrics(jnp.asarray(states), jnp.asarray(goals))
    got = engineered.goal_metrics(jnp.asarray(states), engineered.command(jnp.asarray(goals)))
    np.testing.assert_allclose(np.asarray(got["dist"]), np.asarray(expected["dist"]), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(got["success"]), np.asarray(expected["success"]))
    assert 0 < float(np.mean(got["success"])) < 1  # both outcomes occur
    offsets = np.asarray(engineered.achieved_goal(jnp.asarray(states)))[:, default.goal_dim :]
    assert np.abs(offsets).min(axis=1).max() > 0  # the hands are off the objects


def test_the_reachers_have_no_object_and_one_space():
    for name in ("pusher_reacher", "planar_pusher_reacher", "arm_reach"):
        env = make_env(name)
        assert env.object_indices == () and list(env.goal_spaces()) == ["default"], name


def test_object_families_declare_their_object():
    """Envs with an object to move declare it (train/goal_moved); bodies that move themselves do not."""
    for name in ("arm_binpick_easy", "arm_grasp"):
        assert ARM_TASKS[name]().object_indices == (5, 6, 7), name  # the cube, not arm_grasp's fingers
    for name in ("point_mass", "reacher"):
        assert make_env(name).object_indices == (), name
    assert {name for name, task in MW_TASKS.items() if not task.moves_object} == {"reach"}
