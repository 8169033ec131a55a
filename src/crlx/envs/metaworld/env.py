"""`MetaWorldEnv`: a Meta-World Sawyer task as a jitted, vectorizable crlx goal env on MJX.

Dynamics as in Meta-World v3: the action's first three values move the mocap hand target by
clip(a, -1, 1) * 0.01 m (kept inside the task's hand bounds, orientation fixed), the fourth drives
the fingers with ctrl (a3, -a3); one env step is 5 physics steps. Episodes last 500 steps and
are not ended by success.

State (39 values) and observation (42):

    s[0:18]    hand xyz, gripper opening in [0, 1], objects (pos, quat) padded to 14
    s[18:36]   the same 18 values one step earlier (equal at reset)
    s[36:39]   the position the task's success criterion measures (the object)
    obs        concat(s, goal); Meta-World's goal-observable observation is obs[MW_OBS_INDICES]
               (in the default goal space)

Goal spaces (`goal_space`):

    object            achieved s[36:39]; commanded: Meta-World's goal (3)
    object_and_hand   achieved [s[36:39], s[0:3] - s[36:39]] (object, hand minus object);
                      commanded [goal, 0, 0, 0]: the object at the goal with the hand on it (6)

Hindsight goals of `object_and_hand` differ even while the object rests (the hand moves), which
gives the critic a signal before the first touch. Success and `dist` are Meta-World's in every
goal space: the object's distance to the goal only.

The arm's settled state before an episode is computed once, on the host, when the env is built,
with CPU MuJoCo on Meta-World's unchanged scene (Meta-World simulates that settle at every reset).

Physics (`backend`): 'mjx' steps the scene with MJX's JAX implementation, 'warp' with MJX's MuJoCo
Warp implementation (`crlx.envs.warp_physics`; the warp extra). Layouts, observations and success
are the same JAX code on both; on 'warp' the forward kinematics of a reset and after each step run
on Warp too (one small XLA program around Warp's kernels), the state carries MJX's public data
fields only, and `info["warp_overflow"]` accumulates MuJoCo Warp's overflow bits of the
episode (`warp_physics.OVERFLOW_DROPS` set: contacts or constraints were dropped; raise
`warp_contacts` / `warp_constraints`).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from brax.envs.base import State
from mujoco import mjx

from crlx.envs.base import EnvSpec, GoalEnv
from crlx.envs.metaworld.scene import SceneOptions, load_scene
from crlx.envs.metaworld.task import Layout, Task, env_name
from crlx.envs.physics import check_positive
from crlx.envs.warp_physics import WarpPhysics, public_data, require_warp

FRAME_SKIP = 5
ACTION_SCALE = 0.01
"""metres the hand target moves per unit action per step"""
HAND_QUAT = np.array([1.0, 0.0, 1.0, 0.0]) / np.sqrt(2.0)
"""the fixed hand orientation (Meta-World writes the unnormalized (1, 0, 1, 0))"""
HAND_SPACE = (np.array([-0.525, 0.348, -0.0525]), np.array([0.525, 1.025, 0.7]))
"""Meta-World clips the observed hand position to this box"""
SETTLE_STEPS = 50
"""env steps Meta-World spends moving the hand to its start before an episode"""
MAX_RESET_DRAWS = 100
BACKENDS = ("mjx", "warp")
"""physics: 'mjx' is MJX's JAX implementation, 'warp' MJX's MuJoCo Warp implementation (the warp extra)"""
WARP_CONTACTS = 48
"""MuJoCo Warp contact slots per env (its own default for these scenes); the arena of N envs is N x this"""
WARP_CONSTRAINTS = 128
"""MuJoCo Warp constraint rows per env"""
MW_OBS_INDICES = np.r_[0:36, 39:42]
"""obs[..., MW_OBS_INDICES] is Meta-World's goal-observable 39-value observation"""


class MetaWorldEnv(GoalEnv):
    """One Meta-World task on MJX; `task` supplies the scene, reset, objects and success rule.

    Options: `backend` 'mjx' or 'warp'; `max_contact_points` and `solver_iterations` (the scene,
    both backends); `warp_contacts` and `warp_constraints`, MuJoCo Warp's contact slots and
    constraint rows per env (None: WARP_CONTACTS, WARP_CONSTRAINTS).
    """

    state_dim = 39
    goal_indices = (36, 37, 38)

    def __init__(
        self,
        task: Task,
        episode_length: int = 500,
        success_threshold: float | None = None,
        backend: str = "mjx",
        max_contact_points: int = 16,
        solver_iterations: int = 10,
        goal_space: str | None = None,
        warp_contacts: int | None = None,
        warp_constraints: int | None = None,
    ):
        label = env_name(task.name)
        self.select_goal_space(goal_space)
        if backend not in BACKENDS:
            raise ValueError(f"{label}: backend must be one of {list(BACKENDS)} (MJX's JAX or Warp implementation; "
                             f"Meta-World scenes use mocap and MJX contacts), got {backend!r}")
        if backend == "warp":
            require_warp(label)
        threshold = task.success_threshold if success_threshold is None else success_threshold
        check_positive(label, episode_length=episode_length, success_threshold=threshold)
        check_positive(label, max_contact_points=max_contact_points, solver_iterations=solver_iterations)
        check_positive(label, **{k: v for k, v in (("warp_contacts", warp_contacts), ("warp_constraints", warp_constraints))
                                 if v is not None})
        self.task = task
        self.object_indices = self.goal_indices if task.moves_object else ()  # s[36:39], unless the hand's
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=threshold, backend=backend)
        original, self.mj_model, self.scene_changes = load_scene(
            task.scene, SceneOptions(max_contact_points=max_contact_points, iterations=solver_iterations, ls_iterations=solver_iterations)
        )
        reset_mocap_welds(original)
        reset_mocap_welds(self.mj_model)
        task.setup(self.mj_model)
        name2id = lambda name: mujoco.mj_name2id(self.mj_model, mujoco.mjtObj.mjOBJ_BODY, name)  # noqa: E731
        self.hand, self.right_claw, self.left_claw = name2id("hand"), name2id("rightclaw"), name2id("leftclaw")
        self.mocap_low = np.asarray(task.hand_low, np.float32)
        self.mocap_high = np.asarray(task.hand_high, np.float32)
        self.reset_low = np.asarray(task.reset_low, np.float32)
        self.reset_high = np.asarray(task.reset_high, np.float32)
        self.model = mjx.put_model(self.mj_model)
        self.subtree_of = subtree_matrix(self.mj_model)
        settled = settle(original, np.asarray(task.hand_init))
        self.settled = mjx.put_data(self.mj_model, transfer(settled, self.mj_model))
        self.warp = None
        if backend == "warp":
            self.warp = WarpPhysics(self.mj_model, contacts_per_world=warp_contacts or WARP_CONTACTS,
                                    constraints_per_world=warp_constraints or WARP_CONSTRAINTS, world_fields=("body_pos",))
            self.settled = public_data(self.settled)

    @property
    def action_size(self) -> int:
        return 4

    def goal_spaces(self) -> dict:
        """object: s[36:39] (3); object_and_hand: [s[36:39], s[0:3] - s[36:39]] (6)."""
        obj = lambda s: s[..., 36:39]  # noqa: E731
        return {"object": obj, "object_and_hand": lambda s: jnp.concatenate([obj(s), s[..., 0:3] - obj(s)], axis=-1)}

    def command(self, goal: jax.Array) -> jax.Array:
        """The commanded goal of the selected space from Meta-World's (3,) goal: goal or [goal, 0, 0, 0]."""
        return jnp.concatenate([goal, jnp.zeros(3, goal.dtype)]) if self.goal_space == "object_and_hand" else goal

    def model_at(self, body_pos: jax.Array) -> mjx.Model:
        """The MJX model with this episode's body positions."""
        return self.model.replace(body_pos=body_pos)

    def sample_reset_vec(self, rng: jax.Array) -> jax.Array:
        """Uniform in the task's reset box, redrawn (up to MAX_RESET_DRAWS) until `task.valid`."""

        def draw(key):
            return jax.random.uniform(key, self.reset_low.shape, minval=self.reset_low, maxval=self.reset_high)

        def again(carry):
            key, vec, count = carry
            return jnp.logical_and(~self.task.valid(vec), count < MAX_RESET_DRAWS)

        def redraw(carry):
            key, _, count = carry
            key, sub = jax.random.split(key)
            return key, draw(sub), count + 1

        key, sub = jax.random.split(rng)
        return jax.lax.while_loop(again, redraw, (key, draw(sub), 0))[1]

    def reset(self, rng: jax.Array) -> State:
        return self.reset_to(self.sample_reset_vec(rng))

    def reset_to(self, reset_vec: jax.Array) -> State:
        """A fresh episode from a given reset vector (Meta-World's `_last_rand_vec`)."""
        settled = Layout(qpos=self.settled.qpos, qvel=self.settled.qvel, body_pos=self.model.body_pos)
        layout = self.task.place(jnp.asarray(reset_vec, jnp.float32), settled, self.settled)
        data = self.settled.replace(qpos=layout.qpos, qvel=layout.qvel)
        if self.warp is not None:  # Warp's kinematics of the moved model: a small XLA program
            data, _ = self.warp.advance(data, 0, kinematics=True, body_pos=layout.body_pos)
        else:
            data = self.moved(mjx.kinematics(self.model, data), layout.body_pos)
        frame = self.frame(data)
        state = self.first_state(data, self.state_vec(frame, frame, data), self.command(self.task.goal(reset_vec, data)))
        state.info["body_pos"] = layout.body_pos
        if self.warp is not None:
            state.info["warp_overflow"] = jnp.zeros((), jnp.int32)
        return state

    def moved(self, data, body_pos: jax.Array):
        """`data`'s positions (kinematics of the unmoved model) with bodies at `body_pos` instead:
        a body moved by d in its parent's frame shifts its whole subtree by R_parent d.

        Equal to kinematics with `model_at(body_pos)`, whose compile under vmap takes minutes on CPU
        (XLA constant folding); only positions are shifted, the next mjx.step recomputes the rest."""
        offset = jnp.einsum("bij,bj->bi", data.xmat[self.mj_model.body_parentid], body_pos - self.model.body_pos)
        shift = self.subtree_of @ offset
        return data.replace(
            xpos=data.xpos + shift,
            xipos=data.xipos + shift,
            geom_xpos=data.geom_xpos + shift[self.mj_model.geom_bodyid],
            site_xpos=data.site_xpos + shift[self.mj_model.site_bodyid],
            xanchor=data.xanchor + shift[self.mj_model.jnt_bodyid],
        )

    def step(self, state: State, action: jax.Array) -> State:
        action = jnp.clip(action, -1.0, 1.0)
        data = state.pipeline_state
        mocap = jnp.clip(data.mocap_pos + action[:3] * ACTION_SCALE, self.mocap_low, self.mocap_high)
        data = data.replace(
            mocap_pos=mocap,
            mocap_quat=jnp.broadcast_to(jnp.asarray(HAND_QUAT, data.mocap_quat.dtype), data.mocap_quat.shape),
            ctrl=jnp.stack([action[3], -action[3]]).astype(data.ctrl.dtype),
        )
        if self.warp is not None:
            data, overflow = self.warp.advance(data, FRAME_SKIP, kinematics=True, body_pos=state.info["body_pos"])
            state.info["warp_overflow"] = state.info["warp_overflow"] | overflow.astype(jnp.int32)
        else:
            model = self.model_at(state.info["body_pos"])
            with warnings.catch_warnings():  # MJX 3.3's convex collision casts float64's max to float32 while tracing
                warnings.filterwarnings("ignore", message="overflow encountered in cast", category=RuntimeWarning)
                data = jax.lax.fori_loop(0, FRAME_SKIP, lambda _, d: mjx.step(model, d), data)
            data = mjx.kinematics(model, data)
        return self.next_state(state, data, self.state_vec(self.frame(data), state.obs[:18], data), jnp.zeros(()))

    def scene_fields(self, state: State) -> dict[str, jax.Array]:
        """What places `state`'s scene in `mj_model` for drawing: MjData fields by name, and the
        episode's model body positions as 'body_pos' (tasks move fixed bodies per episode)."""
        data = state.pipeline_state
        return {"qpos": data.qpos, "qvel": data.qvel, "mocap_pos": data.mocap_pos, "mocap_quat": data.mocap_quat,
                "body_pos": state.info["body_pos"]}

    def frame(self, data) -> jax.Array:
        """(18,) hand xyz (clipped to Meta-World's hand space), gripper opening, padded objects."""
        hand = jnp.clip(data.xpos[self.hand], HAND_SPACE[0], HAND_SPACE[1])
        opening = jnp.linalg.norm(data.xpos[self.right_claw] - data.xpos[self.left_claw])
        positions, quats = self.task.objects(data)
        pairs = [jnp.concatenate([positions[3 * i : 3 * i + 3], quats[4 * i : 4 * i + 4]]) for i in range(positions.shape[0] // 3)]
        objects = jnp.concatenate(pairs)
        objects = jnp.pad(objects, (0, 14 - objects.shape[0]))
        return jnp.concatenate([hand, jnp.clip(opening / 0.1, 0.0, 1.0)[None], objects]).astype(jnp.float32)

    def state_vec(self, frame: jax.Array, previous: jax.Array, data) -> jax.Array:
        return jnp.concatenate([frame, previous, self.task.achieved(data).astype(jnp.float32)])

    def goal_metrics(self, state_vec: jax.Array, goal: jax.Array) -> dict[str, jax.Array]:
        """Meta-World's rule: success when ||s[36:39] - goal[:3]|| over the task's axes <= threshold
        and the task's other requirement holds (stick-pull: the stick in the handle); the hand
        offset of `object_and_hand` does not enter."""
        axes = jnp.asarray(self.task.success_axes)
        dist = jnp.linalg.norm(jnp.take(state_vec[..., 36:39] - goal[..., :3], axes, axis=-1), axis=-1)
        success = (dist <= self.spec.success_threshold) & self.task.success_requirement(state_vec)
        return {"dist": dist, "success": success.astype(jnp.float32)}


def subtree_matrix(model: mujoco.MjModel) -> np.ndarray:
    """(nbody, nbody) float32 M with M[b, a] = 1 where body a is b or an ancestor of b (not the world)."""
    out = np.zeros((model.nbody, model.nbody), np.float32)
    for body in range(1, model.nbody):
        ancestor = body
        while ancestor != 0:
            out[body, ancestor] = 1.0
            ancestor = model.body_parentid[ancestor]
    return out


def reset_mocap_welds(model: mujoco.MjModel) -> None:
    """The weld that drags the hand to the mocap body, as Meta-World sets it at load:
    no offset, relative orientation (-1, 0, 0, 0), torque scale 5."""
    for index in np.flatnonzero(model.eq_type == mujoco.mjtEq.mjEQ_WELD):
        model.eq_data[index, :11] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 5.0]


def settle(model: mujoco.MjModel, hand_init: np.ndarray) -> mujoco.MjData:
    """The scene after Meta-World's pre-episode settle: hand target at `hand_init`, fingers open,
    SETTLE_STEPS x FRAME_SKIP physics steps from the model's initial state (CPU MuJoCo)."""
    data = mujoco.MjData(model)
    mocap = int(model.body_mocapid[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "mocap")])
    for _ in range(SETTLE_STEPS):
        data.mocap_pos[mocap] = hand_init
        data.mocap_quat[mocap] = HAND_QUAT
        data.ctrl[:] = [-1.0, 1.0]
        mujoco.mj_step(model, data, nstep=FRAME_SKIP)
    mujoco.mj_forward(model, data)
    return data


def transfer(source: mujoco.MjData, model: mujoco.MjModel) -> mujoco.MjData:
    """`source`'s state (qpos, qvel, mocap, ctrl) in a fresh MjData of `model`, kinematics computed."""
    data = mujoco.MjData(model)
    data.qpos[:], data.qvel[:], data.ctrl[:] = source.qpos, source.qvel, source.ctrl
    data.mocap_pos[:], data.mocap_quat[:] = source.mocap_pos, source.mocap_quat
    data.act[:] = source.act
    mujoco.mj_forward(model, data)
    return data
