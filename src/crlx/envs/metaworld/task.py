"""What one Meta-World task adds to the shared Sawyer env: scene, bounds, reset, objects, success.

A `Task` is a plain description plus four small JAX functions (and, where Meta-World's success
needs more than a distance, a fifth: `success_requirement`). `MetaWorldEnv` does the rest
(mocap control, the 39-value observation, frame stacking, episodes). Positions are metres in
the world frame; quaternions are returned in the order the Meta-World task reports them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import mujoco

Vec3 = tuple[float, float, float]


def env_name(task: str) -> str:
    """'push-back' -> 'mw_push_back'."""
    return "mw_" + task.replace("-", "_")


def move_body(layout: "Layout", body: int, position: jax.Array) -> "Layout":
    """`layout` with model body `body` placed at `position` for this episode."""
    return dataclasses.replace(layout, body_pos=layout.body_pos.at[body].set(position))


@dataclasses.dataclass(frozen=True)
class Layout:
    """A fresh episode's scene: joint positions, (moved) body positions and the commanded goal."""

    qpos: jax.Array
    qvel: jax.Array
    body_pos: jax.Array
    """(nbody, 3) model body positions; tasks move fixed bodies (a faucet, a shelf) per episode"""


class Task:
    """Subclasses set the class attributes and override `place`, `goal`, `objects`, `achieved`
    (and `success_requirement` where Meta-World's success needs more than the distance)."""

    name: str
    """Meta-World's name without the version, e.g. 'push-back'"""
    scene: str
    """scene file relative to metaworld's assets/, e.g. 'sawyer_xyz/sawyer_push_back_v3.xml'"""
    hand_init: Vec3
    """where the hand settles before each episode"""
    hand_low: Vec3
    hand_high: Vec3
    """bounds of the mocap (hand target) position"""
    reset_low: tuple[float, ...]
    reset_high: tuple[float, ...]
    """the box Meta-World draws its reset vector from (object and goal positions)"""
    success_threshold: float
    """success when ||achieved - goal|| over `success_axes` <= this (Meta-World's criterion)"""
    success_axes: tuple[int, ...] = (0, 1, 2)
    moves_object: bool = True
    """whether `achieved` is an object the hand must move (False for reach: it is the hand)"""

    def setup(self, model: mujoco.MjModel) -> None:
        """Look up the ids the JAX functions use (called once, on the host)."""
        self.model = model

    def id(self, kind: mujoco.mjtObj, name: str) -> int:
        index = mujoco.mj_name2id(self.model, kind, name)
        if index < 0:
            raise ValueError(f"{env_name(self.name)}: no {kind.name[6:].lower()} named {name!r} in the scene")
        return index

    def body(self, name: str) -> int:
        return self.id(mujoco.mjtObj.mjOBJ_BODY, name)

    def geom(self, name: str) -> int:
        return self.id(mujoco.mjtObj.mjOBJ_GEOM, name)

    def site(self, name: str) -> int:
        return self.id(mujoco.mjtObj.mjOBJ_SITE, name)

    def joint_qpos(self, name: str) -> int:
        return int(self.model.jnt_qposadr[self.id(mujoco.mjtObj.mjOBJ_JOINT, name)])

    def valid(self, reset_vec: jax.Array) -> jax.Array:
        """Whether Meta-World would accept this reset vector (it redraws until true)."""
        return jnp.asarray(True)

    def place(self, reset_vec: jax.Array, layout: Layout, settled: Any) -> Layout:
        """The episode's layout from the reset vector and the settled scene (`layout` and its
        mjx.Data `settled`, kinematics computed)."""
        raise NotImplementedError

    def goal(self, reset_vec: jax.Array, data: Any) -> jax.Array:
        """(3,) commanded goal; `data` has the placed scene's kinematics."""
        raise NotImplementedError

    def objects(self, data: Any) -> tuple[jax.Array, jax.Array]:
        """(positions (3k,), quaternions (4k,)) of the task's k <= 2 objects as Meta-World observes them."""
        raise NotImplementedError

    def achieved(self, data: Any) -> jax.Array:
        """(3,) the position Meta-World's success criterion measures."""
        raise NotImplementedError

    def success_requirement(self, state_vec: jax.Array) -> jax.Array:
        """(...,) bool: what Meta-World's success requires besides the distance, read from the
        (..., 39) state (`MetaWorldEnv`'s layout); by default nothing."""
        return jnp.ones(state_vec.shape[:-1], bool)


def rotate_xyzw(quat: jax.Array, vec: jax.Array) -> jax.Array:
    """(..., 3) `vec` rotated by the unit quaternion(s) (..., 4) in (x, y, z, w) order:
    v + 2w (u x v) + 2 u x (u x v), u = (x, y, z)."""
    u, w = quat[..., :3], quat[..., 3:]
    uv = jnp.cross(u, vec)
    return vec + 2.0 * w * uv + 2.0 * jnp.cross(u, uv)


def quat_xyzw_from_matrix(xmat: jax.Array) -> jax.Array:
    """(4,) quaternion (x, y, z, w) of a (9,) or (3, 3) rotation matrix, as
    `scipy.spatial.transform.Rotation.from_matrix(m).as_quat()` computes it (same sign choice)."""
    m = jnp.reshape(xmat, (3, 3))
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    decision = jnp.array([m[0, 0], m[1, 1], m[2, 2], trace])
    choice = jnp.argmax(decision)

    def from_diagonal(i: int) -> jax.Array:
        j, k = (i + 1) % 3, (i + 2) % 3
        q = jnp.zeros(4)
        q = q.at[i].set(1 - trace + 2 * m[i, i])
        q = q.at[j].set(m[j, i] + m[i, j])
        q = q.at[k].set(m[k, i] + m[i, k])
        return q.at[3].set(m[k, j] - m[j, k])

    from_trace = jnp.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1], 1 + trace])
    q = jax.lax.switch(choice, [lambda: from_diagonal(0), lambda: from_diagonal(1), lambda: from_diagonal(2), lambda: from_trace])
    return q / jnp.linalg.norm(q)

