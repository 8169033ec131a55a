"""crlx's JaxGCRL-named envs are JaxGCRL's tasks (jaxgcrl 0.2.8).

Sizes: observation size, state_dim and goal slice equal JaxGCRL's numbers, written below as
literals with the JaxGCRL file they come from (no physics runs: sizes come from eval_shape).

Physics: from the same initial state under the same actions, crlx's physics follows brax's own
env on the same brax scene (the oracle, `brax.envs.get_environment(name, backend=...)`) for
STEPS env steps. The scenes differ only by JaxGCRL's collision-free target body (and a larger
floor), so the two agree to float32 round-off. One jitted scan runs both envs per test.
"""

from __future__ import annotations

import functools
import warnings

import brax.base
import brax.envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crlx.envs import make_env
from crlx.envs.ant_maze import ant_maze_scene
from crlx.envs.grid_maze import GridMaze
from tests.conftest import assert_walls_fill_cells

pytestmark = pytest.mark.filterwarnings("ignore:Accessing .* directly from .Data. is deprecated:DeprecationWarning")

STEPS = 100

JAXGCRL_SIZES = {
    # env: (state_dim, goal_indices, obs size = state_dim + goal size)
    "ant": (29, (0, 1), 31),  # jaxgcrl/envs/ant.py: state_dim 29, goal_indices [0, 1], obs 29 + target xy
    "ant_random_start": (29, (0, 1), 31),  # jaxgcrl/envs/ant.py with randomize_start=True
    "reacher": (10, (4, 5, 6), 13),  # jaxgcrl/envs/reacher.py: state_dim 10, goal_indices [4, 5, 6]
    "cheetah": (18, (0,), 19),  # jaxgcrl/envs/half_cheetah.py: state_dim 18, goal_indices [0]
    "simple_u_maze": (4, (0, 1), 6),  # jaxgcrl/envs/simple_maze.py: state_dim 4, goal_indices [0, 1]
    "ant_u_maze": (29, (0, 1), 31),  # jaxgcrl/envs/ant_maze.py: state_dim 29, goal_indices [0, 1]
    "pusher_easy": (20, (10, 11, 12), 23),  # jaxgcrl/envs/pusher.py Pusher: state_dim 20, goal_indices [10, 11, 12]
    "pusher_hard": (20, (10, 11, 12), 23),  # jaxgcrl/envs/pusher.py Pusher(kind="hard")
    "pusher_reacher": (17, (14, 15, 16), 20),  # jaxgcrl/envs/pusher.py PusherReacher: state_dim 17, [14, 15, 16]
}
"""JaxGCRL's numbers, read from the jaxgcrl 0.2.8 source files named in the comments"""

PARITY = {
    # env: (brax env name, backend, {steps: (atol on qpos, atol on qvel) over the first `steps` steps})
    "ant": ("ant", "spring", {50: (1e-4, 1e-3), 100: (2e-2, 0.5)}),  # measured 5e-6, 1.2e-4; 5.5e-3, 0.18
    "reacher": ("reacher", "generalized", {100: (1e-6, 1e-6)}),  # measured 0 (bit-identical)
    "pusher_easy": ("pusher", "generalized", {100: (1e-6, 1e-6)}),  # measured 0 (bit-identical)
}
"""the oracle per env: brax's env on the same scene, on JaxGCRL's default backend. The ant's
contacts amplify float32 round-off (first difference 3e-8 at step 3), hence the looser bound
at 100 steps."""


@pytest.mark.parametrize("name", sorted(JAXGCRL_SIZES))
def test_sizes_and_goal_slice_match_jaxgcrl(name):
    state_dim, goal_indices, obs_size = JAXGCRL_SIZES[name]
    env = make_env(name)
    assert env.state_dim == state_dim
    assert tuple(env.goal_indices) == goal_indices
    assert env.observation_size == obs_size
    assert env.goal_dim == len(goal_indices)


MAZE_CELLS = {
    # layout: (start cells, number of goal cells, first goal cells), 4 m cells, (x, y) = 4 * (row, column)
    "u": ([[4.0, 4.0]], 6, [[4.0, 8.0], [4.0, 12.0], [8.0, 12.0]]),  # jaxgcrl/envs/ant_maze.py U_MAZE
    "big": ([[4.0, 4.0]], 25, [[4.0, 8.0], [4.0, 20.0], [4.0, 24.0]]),  # BIG_MAZE
    "hardest": ([[4.0, 4.0]], 45, [[4.0, 8.0], [4.0, 12.0], [4.0, 16.0]]),  # HARDEST_MAZE
}
"""JaxGCRL's find_starts / find_goals on its layouts (the same in simple_maze.py)"""


@pytest.mark.parametrize("layout", sorted(MAZE_CELLS))
def test_maze_start_and_goal_cells_match_jaxgcrl(layout):
    starts, num_goals, first_goals = MAZE_CELLS[layout]
    maze = GridMaze("test", layout, 4.0)
    np.testing.assert_array_equal(maze.starts, starts)
    assert len(maze.goals) == num_goals
    np.testing.assert_array_equal(maze.goals[:3], first_goals)


@pytest.mark.parametrize("layout", sorted(MAZE_CELLS))
def test_ant_maze_walls_are_jaxgcrl_walls_merged(layout):
    maze = GridMaze("test", layout, 4.0)
    assert_walls_fill_cells(ant_maze_scene(maze).compile(), maze.rows, 4.0)


@functools.cache
def paired_rollout(name: str):
    """(crlx q, brax q, crlx qd, brax qd), each (STEPS + 1, n), from one jitted scan of both envs."""
    brax_name, backend, _ = PARITY[name]
    env = make_env(name, backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = brax.envs.get_environment(brax_name, backend=backend)
    nq, nv = oracle.sys.q_size(), oracle.sys.qd_size()

    @jax.jit
    def run(key):
        reset_key, action_key = jax.random.split(key)
        state = env.reset(reset_key)
        ours = state.pipeline_state
        theirs = oracle.pipeline_init(ours.q[:nq], ours.qd[:nv])
        actions = jax.random.uniform(action_key, (STEPS, env.action_size), minval=-1.0, maxval=1.0)

        def body(carry, action):
            state, theirs = carry
            state = env.step(state, action)
            theirs = oracle.pipeline_step(theirs, action)
            out = (state.pipeline_state.q[:nq], theirs.q, state.pipeline_state.qd[:nv], theirs.qd)
            return (state, theirs), out

        first = (ours.q[:nq], theirs.q, ours.qd[:nv], theirs.qd)
        _, rest = jax.lax.scan(body, (state, theirs), actions)
        return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)

    return jax.device_get(run(jax.random.PRNGKey(0)))


@pytest.mark.parametrize("name", sorted(PARITY))
def test_physics_follows_brax_env_on_the_same_scene(name):
    q, q_oracle, qd, qd_oracle = paired_rollout(name)
    assert np.isfinite(q).all()
    assert np.ptp(q_oracle[:, :2], axis=0).max() > 1e-3, "the actions should move the body"
    for steps, (q_atol, qd_atol) in PARITY[name][2].items():
        np.testing.assert_allclose(q[: steps + 1], q_oracle[: steps + 1], atol=q_atol, err_msg=f"qpos, {steps} steps")
        np.testing.assert_allclose(qd[: steps + 1], qd_oracle[: steps + 1], atol=qd_atol, err_msg=f"qvel, {steps} steps")


def jaxgcrl_pusher_obs(env, pipeline_state, reacher: bool) -> jax.Array:
    """JaxGCRL's pusher observation written with brax's own API: link centres of mass x_i."""
    x_i = pipeline_state.x.vmap().do(brax.base.Transform.create(pos=env.sys.link.inertia.transform.pos))
    tip, obj, goal = (x_i.pos[env.sys.link_names.index(n)] for n in ("r_wrist_flex_link", "object", "goal"))
    q, qd = pipeline_state.q[:7], pipeline_state.qd[:7]
    parts = [q, qd, tip] if reacher else [q, tip, obj, qd]
    return jnp.concatenate(parts + [goal])


@pytest.mark.parametrize("name", ["pusher_easy", "pusher_reacher"])
def test_pusher_observation_is_jaxgcrl_layout(name):
    env = make_env(name)

    @jax.jit
    def obs_pair(key):
        state = env.reset(key)
        state = env.step(state, jnp.ones(env.action_size))
        return state.obs, jaxgcrl_pusher_obs(env, state.pipeline_state, name == "pusher_reacher")

    ours, theirs = obs_pair(jax.random.PRNGKey(1))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
