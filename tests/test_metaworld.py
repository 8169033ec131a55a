"""Meta-World ports: scene changes and quaternions against NumPy/SciPy references everywhere;
fidelity against Meta-World itself (reset, open-loop expert replay, closed-loop expert success)
where the metaworld extra is installed (`pytest -m metaworld`)."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

from scipy.spatial.transform import Rotation

import crlx
from crlx.config import ConfigError
from crlx.envs import ENVS, MW_ENVS, SEQUENCES, make_env, metaworld_available
from crlx.envs.metaworld import CW10, TASKS, MetaWorldNotInstalled, env_name
from crlx.envs.metaworld.scene import bodies_in_model_order, farthest_points, fold_margins, keep_inertia, prism_vertices
from crlx.envs.metaworld.task import quat_xyzw_from_matrix, rotate_xyzw
from crlx.envs.metaworld.tool_tasks import StickPull
from crlx.preflight import prepare
from tests.conftest import MW_CI_TASKS, ci_subset

NUM_LAYOUTS = 20
OPEN_LOOP_STEPS = 100
OPEN_LOOP_TOLERANCE = 0.005
"""Meta-World's expert actions replayed for 100 steps keep the objects within 5 mm of Meta-World's"""
OPEN_LOOP_GUARD = {
    "mw_faucet_close": 0.02,
    "mw_shelf_place": 0.025,
    "mw_stick_pull": 0.04,
    "mw_handle_press_side": 0.055,
    "mw_peg_unplug_side": 0.08,
    "mw_push_back": 0.12,
}
"""tasks where 5 mm is not met on these 20 layouts: the measured worst layout plus 36-69%
(docs/METAWORLD.md has the deviations and their causes), so a misplaced object or a blow-up fails"""
RESET_TOLERANCE = 1e-4
RESET_GUARD = {"mw_handle_press_side": 2e-3}
"""handle-press-side: on one of the 20 layouts Meta-World's arm settles against the moved box
(hand 1.4 mm off ours, which settles once with the box unmoved)"""
MW_NAMES = [env_name(task) for task in TASKS]
MW_PARAMS = ci_subset(MW_NAMES, MW_CI_TASKS)
"""the per-task tests' parameters: CI runs MW_CI_TASKS, `--exhaustive` all twelve"""

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_twelve_tasks_and_the_cw10_sequence_are_registered():
    assert len(MW_NAMES) == 12 and set(MW_NAMES) == set(MW_ENVS)
    assert SEQUENCES["mw_cw10"] == tuple(env_name(task) for task in CW10)
    assert SEQUENCES["mw_cw10"][0] == "mw_hammer" and SEQUENCES["mw_cw10"][-1] == "mw_peg_unplug_side"
    assert {"mw_reach", "mw_pick_place"} <= set(MW_NAMES) - set(SEQUENCES["mw_cw10"])


def test_sequence_name_is_not_an_env_and_says_which_tasks(tmp_path):
    with pytest.raises(ValueError, match="task sequence.*mw_hammer"):
        make_env("mw_cw10")
    with pytest.raises(ConfigError, match="mw_cw10.*--env mw_hammer"):
        crlx.Config(env="mw_cw10").validate()


@pytest.mark.skipif(metaworld_available(), reason="checks the message shown without the metaworld package")
def test_missing_metaworld_names_the_install_command():
    with pytest.raises(MetaWorldNotInstalled, match=r"pip install -e \".\[metaworld\]\""):
        make_env("mw_push")
    with pytest.raises(ConfigError, match="metaworld"):
        prepare(crlx.Config(env="mw_push"))


@pytest.mark.metaworld
def test_every_other_env_builds_under_the_mujoco_metaworld_pins():
    """The metaworld extra brings MuJoCo 3.3; crlx's own scenes must build there too."""
    for name in sorted(set(ENVS) - set(MW_ENVS)):
        make_env(name)


def test_backend_other_than_mjx_is_refused_before_loading():
    with pytest.raises(ValueError, match=r"backend must be one of \['mjx', 'warp'\]"):
        make_env("mw_push", backend="generalized")


def test_quaternion_matches_scipy_including_half_turns():
    rng = np.random.default_rng(0)
    rotations = list(Rotation.random(64, random_state=1)) + [
        Rotation.from_rotvec(np.pi * axis / np.linalg.norm(axis)) for axis in rng.normal(size=(8, 3))
    ] + [Rotation.identity(), Rotation.from_euler("x", 180, degrees=True), Rotation.from_euler("z", 179.9, degrees=True)]
    matrices = np.stack([r.as_matrix() for r in rotations])
    ours = np.asarray(jax.vmap(quat_xyzw_from_matrix)(jnp.asarray(matrices.reshape(-1, 9))))
    np.testing.assert_allclose(ours, Rotation.from_matrix(matrices).as_quat(), atol=1e-6)


def test_rotate_xyzw_matches_scipy():
    rotations = Rotation.random(16, random_state=2)
    vectors = np.random.default_rng(3).normal(size=(16, 3))
    ours = np.asarray(rotate_xyzw(jnp.asarray(rotations.as_quat()), jnp.asarray(vectors)))
    np.testing.assert_allclose(ours, rotations.apply(vectors), atol=1e-5)


def test_stick_pull_requires_the_sticks_end_in_the_handle():
    """Hand-computed: the stick's end lies 5 cm along the stick's x axis; it must be past the
    handle in x and within 4 cm (y) and 6 cm (z) of it."""
    task = StickPull()
    task.end_offset = (0.05, 0.0, 0.0)

    def state(stick, quat_xyzw, handle):
        s = np.zeros(39, np.float32)
        s[4:7], s[7:11], s[11:14] = stick, quat_xyzw, handle
        return s

    level, quarter_turn = (0, 0, 0, 1), (0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4))  # end at +x / +y
    states = np.stack([
        state((0.0, 0.6, 0.02), level, (0.04, 0.62, 0.07)),    # end (0.05, 0.6, 0.02): past, dy 0.02, dz 0.05
        state((0.0, 0.6, 0.02), level, (0.06, 0.6, 0.02)),     # end short of the handle in x
        state((0.0, 0.6, 0.02), level, (0.04, 0.65, 0.02)),    # dy 0.05 > 0.04
        state((0.0, 0.6, 0.02), level, (0.04, 0.6, 0.09)),     # dz 0.07 > 0.06
        state((0.0, 0.6, 0.02), quarter_turn, (-0.01, 0.64, 0.02)),  # turned: end (0, 0.65, 0.02)
        state((0.0, 0.6, 0.02), quarter_turn, (0.01, 0.64, 0.02)),   # turned: end short in x
    ])
    np.testing.assert_array_equal(np.asarray(task.success_requirement(jnp.asarray(states))),
                                  [True, False, False, False, True, False])


def test_prism_has_the_cylinders_radius_and_height():
    vertices = prism_vertices(0.02, 0.05, sides=12)
    assert vertices.shape == (24, 3)
    np.testing.assert_allclose(np.linalg.norm(vertices[:, :2], axis=-1), 0.02)
    np.testing.assert_allclose(np.sort(np.unique(vertices[:, 2])), [-0.05, 0.05])


def test_farthest_points_picks_extremes_first_and_keeps_small_sets():
    square = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 0], [0.9, 0.9, 0]])
    np.testing.assert_array_equal(farthest_points(square, 10), square)
    picked = farthest_points(square, 4)
    # the first pick is farthest from the centroid (0.73, 0.57): the corner (0, 0); then the
    # corner opposite it, then the two left: the inner points never make it
    np.testing.assert_array_equal(picked, square[[0, 2, 1, 3]])


def test_fold_margins_grows_collidable_boxes_and_spheres_by_their_margin():
    spec = mujoco.MjSpec()
    body = spec.worldbody.add_body(name="b")
    box = body.add_geom(name="box", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.1, 0.2, 0.3], margin=0.004, gap=0.001)
    ball = body.add_geom(name="ball", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.05, 0, 0], margin=0.002)
    ghost = body.add_geom(name="ghost", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.1, 0.1, 0.1], margin=0.002,
                          contype=0, conaffinity=0)
    assert fold_margins(spec) == ["box", "ball"]
    np.testing.assert_allclose(box.size, [0.103, 0.203, 0.303])  # grows by margin - gap
    np.testing.assert_allclose(ball.size[0], 0.052)
    assert box.margin == box.gap == ball.margin == 0.0
    assert ghost.margin == 0.002 and ghost.size[0] == 0.1  # does not collide: kept
    mesh = spec.add_mesh(name="tetra", uservert=[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1])
    body.add_geom(name="m", type=mujoco.mjtGeom.mjGEOM_MESH, meshname=mesh.name, margin=0.001)
    with pytest.raises(ValueError, match="mesh geom 'm' has a margin"):
        fold_margins(spec)


def test_keep_inertia_restores_the_mass_a_resized_geom_changed():
    spec = mujoco.MjSpec()
    a = spec.worldbody.add_body(name="a")
    a.add_freejoint()
    box = a.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.1, 0.1, 0.1])  # 8 kg at density 1000
    child = a.add_body(name="c", pos=[0, 0, 0.3])
    child.add_joint(type=mujoco.mjtJoint.mjJNT_HINGE)
    child.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.05, 0, 0])
    spec.worldbody.add_body(name="d", pos=[1, 0, 0]).add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.05, 0, 0])
    assert [b.name for b in bodies_in_model_order(spec)] == ["world", "a", "c", "d"]
    original = spec.compile()
    box.size = [0.2, 0.1, 0.1]
    box.pos = [0.05, 0, 0]
    grown = spec.compile()
    assert grown.body_mass[1] == pytest.approx(16.0)
    assert keep_inertia(spec, original, grown) == ["a"]
    kept = spec.compile()
    np.testing.assert_allclose(kept.body_mass, original.body_mass)
    np.testing.assert_allclose(kept.body_inertia, original.body_inertia)
    np.testing.assert_allclose(kept.body_ipos, original.body_ipos, atol=1e-12)
    np.testing.assert_allclose(kept.geom_size[0], [0.2, 0.1, 0.1])  # the geom itself stays changed


# ---- fidelity against Meta-World (metaworld extra) ----


@dataclasses.dataclass
class Port:
    task: str
    env: object
    reset_vecs: np.ndarray
    reset: object
    step: object


@functools.cache
def port(name: str) -> Port:
    """The env, NUM_LAYOUTS reset vectors Meta-World accepts, jitted batched reset_to and step."""
    from crlx.envs.metaworld.oracle import reset_vectors

    env = make_env(name)
    return Port(env.task.name, env, reset_vectors(env, NUM_LAYOUTS), jax.jit(jax.vmap(env.reset_to)), jax.jit(jax.vmap(env.step)))


@functools.cache
def expert_run(name: str):
    """Meta-World's expert in Meta-World on the port's layouts, whole episodes: actions (N, T, 4),
    observations (N, T, 39), success (N, T)."""
    from crlx.envs.metaworld.oracle import expert_rollouts

    return expert_rollouts(port(name).task, port(name).reset_vecs, port(name).env.spec.episode_length)


@pytest.mark.metaworld
@pytest.mark.parametrize("name", MW_PARAMS)
def test_jitted_batched_reset_draws_a_fresh_valid_layout_per_env(name):
    env = port(name).env
    state = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.PRNGKey(0), 4))
    obs, goal = np.asarray(state.obs), np.asarray(state.info["goal"])
    assert obs.shape == (4, env.observation_size) == (4, 42) and np.isfinite(obs).all()
    np.testing.assert_array_equal(obs[:, 39:], goal)
    np.testing.assert_array_equal(obs[:, :18], obs[:, 18:36])  # the previous frame equals the first
    assert len({tuple(np.round(o, 6)) for o in obs}) == 4, "every env should get its own layout (objects, goal)"
    assert all(bool(env.task.valid(vec)) for vec in np.asarray(port(name).reset_vecs))


@pytest.mark.metaworld
@pytest.mark.parametrize("name", ci_subset(["mw_faucet_close", "mw_handle_press_side", "mw_window_close", "mw_peg_unplug_side", "mw_shelf_place"],
                                           MW_CI_TASKS))
def test_reset_moves_bodies_as_kinematics_of_the_moved_model_would(name):
    """reset_to shifts the subtrees of the bodies a task moves instead of running kinematics on a
    per-env model; both must give the same positions."""
    from mujoco import mjx

    p = port(name)
    state = p.reset(jnp.asarray(p.reset_vecs))
    moved = np.asarray(state.info["body_pos"])[0]
    assert np.abs(moved - np.asarray(p.env.model.body_pos)).max() > 0.01, "the task should move a body"
    one = jax.tree.map(lambda x: x[0], state.pipeline_state)
    full = jax.jit(mjx.kinematics)(p.env.model_at(jnp.asarray(moved)), one)
    for field in ("xpos", "xipos", "geom_xpos", "site_xpos", "xanchor", "xquat"):
        np.testing.assert_allclose(np.asarray(getattr(one, field)), np.asarray(getattr(full, field)), atol=1e-5, err_msg=field)


@pytest.mark.metaworld
@pytest.mark.parametrize("name", MW_PARAMS)
def test_scene_fields_redraw_each_envs_scene_in_cpu_mujoco(name):
    """The renderer's placement of the scene fields (qpos, mocap, the episode's body_pos) puts
    every body where the port has it, moved bodies included."""
    from crlx.render import placed_scene

    p = port(name)
    state = p.reset(jnp.asarray(p.reset_vecs[:4]))
    _, data, place = placed_scene(p.env, jax.device_get(jax.vmap(p.env.scene_fields)(state)))
    for i in range(4):
        place(i)
        np.testing.assert_allclose(data.xpos, np.asarray(state.pipeline_state.xpos[i]), atol=1e-5)
        np.testing.assert_allclose(data.site_xpos, np.asarray(state.pipeline_state.site_xpos[i]), atol=1e-5)


@pytest.mark.metaworld
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_rollout_video_of_a_task_that_moves_a_body(tmp_path):
    from PIL import Image

    from crlx.render import gl_available, render_rollout

    ok, reason = gl_available()
    if not ok:
        pytest.skip(reason)
    env = port("mw_shelf_place").env
    path = render_rollout(env, lambda obs: jnp.zeros(4), jax.random.PRNGKey(0), tmp_path / "shelf.gif", num_steps=2,
                          width=160, height=120)
    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.size == (160, 120)
        assert 20 < np.asarray(gif.convert("RGB")).mean() < 250, "the frame is blank"


@pytest.mark.metaworld
@pytest.mark.parametrize("name", MW_PARAMS)
def test_reset_observation_equals_metaworld(name):
    from crlx.envs.metaworld.oracle import reset_deviation

    p = port(name)
    assert reset_deviation(p.task, p.reset, p.reset_vecs) <= RESET_GUARD.get(name, RESET_TOLERANCE)


@pytest.mark.metaworld
@pytest.mark.parametrize("name", MW_PARAMS)
def test_expert_actions_replayed_open_loop_track_metaworld(name):
    """Meta-World's expert actions from the same layouts: objects stay within 5 mm for 100 steps."""
    from crlx.envs.metaworld.oracle import open_loop_deviation

    p = port(name)
    actions, reference, _ = expert_run(name)
    window = slice(0, OPEN_LOOP_STEPS)
    deviation = open_loop_deviation(p.reset, p.step, p.reset_vecs, actions[:, window], reference[:, window])
    bound = OPEN_LOOP_GUARD.get(name, OPEN_LOOP_TOLERANCE)
    assert deviation.max() <= bound, f"{name}: object deviations (mm) {np.round(deviation * 1000, 1)}"


@pytest.mark.metaworld
def test_stick_pull_success_is_metaworlds_at_every_step_of_its_experts_episodes():
    """crlx's rule (distance and stick in the handle) applied to Meta-World's own observations
    gives Meta-World's success on all 20 x 500 steps; the distance alone would not."""
    p = port("mw_stick_pull")
    _, observations, success = expert_run("mw_stick_pull")
    state = np.concatenate([observations[..., :36], observations[..., 11:14]], axis=-1)  # achieved: the handle
    metrics = p.env.goal_metrics(jnp.asarray(state, jnp.float32), jnp.asarray(observations[..., 36:39], jnp.float32))
    np.testing.assert_array_equal(np.asarray(metrics["success"]) > 0, success)
    assert success.any() and ((np.asarray(metrics["dist"]) <= p.env.spec.success_threshold) != success).any()


@pytest.mark.metaworld
@pytest.mark.parametrize("name", MW_PARAMS)
def test_expert_closed_loop_success_reaches_90_percent_of_metaworlds(name):
    """Meta-World's scripted policy acting on the port's observations succeeds on at least 90% as
    many of the 20 layouts as in Meta-World (success at some step of the 500)."""
    from crlx.envs.metaworld.oracle import closed_loop_success

    p = port(name)
    reference = expert_run(name)[2].any(axis=1)
    ours = closed_loop_success(p.task, p.reset, p.step, p.reset_vecs, p.env.spec.episode_length)
    assert reference.mean() > 0, f"{name}: Meta-World's expert never succeeds on these layouts"
    assert ours.mean() >= 0.9 * reference.mean(), f"{name}: expert success {ours.mean():.2f} vs Meta-World {reference.mean():.2f}"
