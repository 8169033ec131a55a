"""crlx's brax humanoid (crlx.envs.humanoid.Humanoid) is JaxGCRL's humanoid task (jaxgcrl 0.2.8).

Sizes and scene: state_dim, goal slice, observation size and JaxGCRL's scene changes
(jaxgcrl/envs/assets/humanoid.xml against brax's) written below as literals (no physics runs).

Physics: from the same initial state under the same actions, crlx's physics follows brax's own
`humanoid` env on JaxGCRL's default backend ('spring') for STEPS env steps, the humanoid falling
on the way. brax's System gets JaxGCRL's one physics change to its scene, contype 1 on every
geom (brax: the feet only), so the whole body lands on the floor as in JaxGCRL. What remains is
the target body (collision-free, but its two joints enter brax's solver) and float32 round-off.

Observation: crlx's state part is JaxGCRL's observation minus the goal, i.e. brax's own humanoid
observation (`_get_obs` with exclude_current_positions_from_observation=False, the terms JaxGCRL
keeps) evaluated on crlx's System (target link included) with the applied control.
One jitted scan runs both envs and the reference observation.
"""

from __future__ import annotations

import copy
import functools
import warnings

import brax.envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crlx.envs.humanoid import Humanoid

pytestmark = pytest.mark.filterwarnings("ignore:Accessing .* directly from .Data. is deprecated:DeprecationWarning")

STEPS = 150
"""env steps of the paired rollout; the torso drops below 1 m near step 110 (spring, PRNGKey(0))"""
BACKEND = "spring"
"""jaxgcrl/utils/env.py create_env: Humanoid(backend=backend or "spring")"""
STATE_DIM, GOAL_INDICES, OBS_SIZE = 268, (0, 1, 2), 271
"""jaxgcrl/envs/humanoid.py: state_dim 268, goal_indices [0, 1, 2]; its _get_obs: qpos 26 + qvel 25
+ cinert 12 x 10 + cvel 12 x 6 + qfrc_actuator 25 = 268, then target xy and TARGET_Z_COORD 1.25"""
PHYSICS_ATOL = {100: (2e-3, 2e-2), STEPS: (3e-2, 1.5)}
"""{steps: (atol on qpos, atol on qvel) over the first `steps` steps}; measured (CPU, float32)
6.0e-4, 6.3e-3 over 100 steps (standing); 4.3e-3, 0.39 over 150 (after the fall, contacts
amplify the round-off)"""
OBS_ATOL = 1e-5
"""crlx's state part against brax's observation terms; measured 4.8e-7"""


@functools.cache
def env() -> Humanoid:
    return Humanoid(backend=BACKEND)


def test_sizes_and_goal_slice_match_jaxgcrl():
    humanoid = env()
    assert humanoid.state_dim == STATE_DIM
    assert tuple(humanoid.goal_indices) == GOAL_INDICES
    assert humanoid.observation_size == OBS_SIZE
    assert humanoid.goal_dim == 3
    assert humanoid.action_size == 17
    assert humanoid.dt == pytest.approx(0.015)  # jaxgcrl/envs/humanoid.py: spring timestep 0.0015 x 10 frames


def test_scene_has_jaxgcrl_changes():
    """jaxgcrl/envs/assets/humanoid.xml against brax's: default geom contype 1, a 150 m floor, a target body."""
    model = env().mj_model
    target = model.body("target")
    geom = model.geom("target")
    floor = model.geom("floor")
    others = [i for i in range(model.ngeom) if i != geom.id]
    np.testing.assert_array_equal(model.geom_contype[others], 1)
    assert (geom.contype[0], geom.conaffinity[0]) == (0, 0)
    np.testing.assert_allclose(target.pos, [0.0, 0.0, 1.25])
    np.testing.assert_allclose(geom.size[0], 0.5)
    np.testing.assert_allclose(floor.size[:2], [150.0, 150.0])
    assert model.nq == 26 and model.nv == 25  # the target's slide joints x, y come last
    np.testing.assert_allclose(model.jnt_range[-2:], [[-20.0, 20.0], [-20.0, 20.0]])


@pytest.mark.parametrize("options, field", [
    ({"min_goal_dist": 6.0}, "min_goal_dist"),
    ({"max_goal_dist": 0.0}, "max_goal_dist"),
    ({"reset_noise_scale": -0.1}, "reset_noise_scale"),
    ({"success_threshold": 0.0}, "success_threshold"),
    ({"healthy_z_range": (2.0, 1.0)}, "healthy_z_range"),
    ({"backend": "physx"}, "backend"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ValueError, match=field):
        Humanoid(**options)


@functools.cache
def paired_rollout():
    """From one jitted scan over STEPS random actions, each (STEPS + 1, n) or (STEPS, n):
    crlx q, brax q, crlx qd, brax qd; crlx obs, reference state part, target link position."""
    ours_env = env()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = brax.envs.get_environment("humanoid", backend=BACKEND, exclude_current_positions_from_observation=False)
    observer = copy.copy(oracle)  # brax's observation terms on crlx's System (target link included)
    observer.sys = ours_env.sys
    oracle.sys = oracle.sys.replace(geom_contype=np.ones_like(np.asarray(oracle.sys.geom_contype)))
    nq, nv = oracle.sys.q_size(), oracle.sys.qd_size()
    ctrl_range = oracle.sys.actuator.ctrl_range

    @jax.jit
    def run(key):
        reset_key, action_key = jax.random.split(key)
        state = ours_env.reset(reset_key)
        ours = state.pipeline_state
        theirs = oracle.pipeline_init(ours.q[:nq], ours.qd[:nv])
        actions = jax.random.uniform(action_key, (STEPS, ours_env.action_size), minval=-1.0, maxval=1.0)

        def body(carry, action):
            state, theirs = carry
            ctrl = ctrl_range[:, 0] + (action + 1.0) * 0.5 * (ctrl_range[:, 1] - ctrl_range[:, 0])  # as JaxGCRL
            state = ours_env.step(state, action)
            theirs = oracle.pipeline_step(theirs, ctrl)
            ps = state.pipeline_state
            out = (ps.q[:nq], theirs.q, ps.qd[:nv], theirs.qd)
            return (state, theirs), (out, (state.obs, observer._get_obs(ps, ctrl), ps.x.pos[-1]))

        first = (ours.q[:nq], theirs.q, ours.qd[:nv], theirs.qd)
        first_obs = (state.obs, observer._get_obs(ours, jnp.zeros(ours_env.action_size)), ours.x.pos[-1])
        _, (rest, obs) = jax.lax.scan(body, (state, theirs), actions)
        physics = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
        obs = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first_obs, obs)
        return physics, obs

    return jax.device_get(run(jax.random.PRNGKey(0)))


def test_physics_follows_brax_humanoid():
    (q, q_oracle, qd, qd_oracle), _ = paired_rollout()
    assert np.isfinite(q).all()
    assert q_oracle[:, 2].min() < 0.8, "the humanoid should fall, so its whole body meets the floor"
    for steps, (q_atol, qd_atol) in PHYSICS_ATOL.items():
        np.testing.assert_allclose(q[: steps + 1], q_oracle[: steps + 1], atol=q_atol, err_msg=f"qpos, {steps} steps")
        np.testing.assert_allclose(qd[: steps + 1], qd_oracle[: steps + 1], atol=qd_atol, err_msg=f"qvel, {steps} steps")


def test_observation_is_jaxgcrl_layout():
    _, (obs, reference, target) = paired_rollout()
    assert obs.shape == (STEPS + 1, OBS_SIZE) and reference.shape == (STEPS + 1, STATE_DIM)
    np.testing.assert_allclose(obs[:, :STATE_DIM], reference, atol=OBS_ATOL, rtol=1e-6)
    np.testing.assert_allclose(obs[:, STATE_DIM:-1], target[:, :2], atol=1e-5)  # the target link's xy
    np.testing.assert_array_equal(obs[:, -1], 1.25)  # JaxGCRL's TARGET_Z_COORD
