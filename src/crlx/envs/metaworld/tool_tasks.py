"""Tasks that use one object on another: hammer, stick-pull, peg-unplug-side.

Each scene has a free object (qpos[9:16], qvel[9:15]) and, for hammer and stick-pull, a second
object on slide joints after it. Meta-World resets these by hand, with its own quirks in which
velocities it zeroes; the `place` methods below reproduce them.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import mujoco

from crlx.envs.metaworld.object_tasks import HAND_RANGE, put_object
from crlx.envs.metaworld.task import Layout, Task, move_body, quat_xyzw_from_matrix, rotate_xyzw


class Hammer(Task):
    """Hammer a nail into a block; success measures how far the nail has slid in (over 9 cm)."""

    name, scene = "hammer", "sawyer_xyz/sawyer_hammer.xml"
    hand_init = (0.0, 0.4, 0.2)
    hand_low, hand_high = HAND_RANGE["hand_low"], HAND_RANGE["hand_high"]
    reset_low, reset_high = (-0.1, 0.4, 0.0), (0.1, 0.5, 0.0)
    """the hammer's position only (Meta-World's goal_space is not part of the reset vector)"""
    # Meta-World: success when NailSlideJoint > 0.09. The nail (body nail_link) slides +y and its
    # target (site goal, Meta-World's goal) is where the joint stops, 0.1 in. So |nail_y - goal_y|
    # <= 0.01 means slide in [0.09, 0.11], i.e. slide >= 0.09: the joint stops at 0.1 (+1 mm overshoot).
    success_threshold = 0.01
    success_axes = (1,)

    def setup(self, model) -> None:
        super().setup(model)
        self.hammer, self.nail, self.goal_site = self.body("hammer"), self.body("nail_link"), self.site("goal")

    def place(self, reset_vec, layout, settled) -> Layout:
        """Hammer (free joint) at the reset vector, at rest; the nail stays as settled."""
        return put_object(layout, reset_vec[:3])

    def goal(self, reset_vec, data):
        return data.site_xpos[self.goal_site]

    def objects(self, data):
        positions = jnp.concatenate([data.xpos[self.hammer], data.xpos[self.nail]])
        return positions, jnp.concatenate([data.xquat[self.hammer], data.xquat[self.nail]])

    def achieved(self, data):
        return data.xpos[self.nail]


class StickPull(Task):
    """Pull a thermos with a stick; success: its handle within 12 cm of the goal, with the stick's
    end inserted in the handle."""

    name, scene = "stick-pull", "sawyer_xyz/sawyer_stick_obj.xml"
    hand_init = (0.0, 0.6, 0.2)
    hand_low, hand_high = (-0.5, 0.35, 0.05), (0.5, 1.0, 0.5)
    reset_low, reset_high = (-0.1, 0.55, 0.0, 0.35, 0.45, 0.0199), (0.0, 0.65, 0.001, 0.45, 0.55, 0.0201)
    success_threshold = 0.12
    insertion_reach = (0.04, 0.06)
    """Meta-World's `_stick_is_inserted`: the stick's end past the handle in x, and within these
    distances of it in y and z"""
    height = 0.02
    """the stick's start height and the goal's height (the vector's z values are unused)"""

    def setup(self, model) -> None:
        super().setup(model)
        self.stick, self.handle = self.body("stick"), self.site("insertion")
        self.slide_qpos = self.joint_qpos("obj_slidex")
        # Meta-World zeroes qvel[16:18] (nv = 17): only the y slide's velocity, not the x slide's
        self.zeroed_qvel = int(model.jnt_dofadr[self.id(mujoco.mjtObj.mjOBJ_JOINT, "obj_slidey")])
        # site stick_end in the stick's frame (5 cm along its x axis)
        data = mujoco.MjData(model)
        mujoco.mj_kinematics(model, data)
        rotation = data.xmat[self.stick].reshape(3, 3)
        self.end_offset = tuple(rotation.T @ (data.site_xpos[self.site("stick_end")] - data.xpos[self.stick]))

    def valid(self, reset_vec):
        return jnp.linalg.norm(reset_vec[:2] - reset_vec[3:5]) >= 0.1

    def place(self, reset_vec, layout, settled) -> Layout:
        """Stick at the vector's xy, thermos slid to (0, 0.09), both at rest."""
        layout = put_object(layout, jnp.stack([reset_vec[0], reset_vec[1], self.height]))
        qpos = layout.qpos.at[self.slide_qpos : self.slide_qpos + 2].set(jnp.array([0.0, 0.09]))
        return dataclasses.replace(layout, qpos=qpos, qvel=layout.qvel.at[self.zeroed_qvel].set(0.0))

    def goal(self, reset_vec, data):
        return jnp.stack([reset_vec[3], reset_vec[4], self.height])

    def objects(self, data):
        positions = jnp.concatenate([data.xpos[self.stick], data.site_xpos[self.handle]])
        return positions, jnp.concatenate([quat_xyzw_from_matrix(data.xmat[self.stick]), jnp.zeros(4)])

    def achieved(self, data):
        return data.site_xpos[self.handle]

    def success_requirement(self, state_vec):
        """The stick's end (from its position s[4:7] and quaternion s[7:11]) inserted in the handle s[11:14]."""
        end = state_vec[..., 4:7] + rotate_xyzw(state_vec[..., 7:11], jnp.asarray(self.end_offset, state_vec.dtype))
        gap = end - state_vec[..., 11:14]
        reach_y, reach_z = self.insertion_reach
        return (gap[..., 0] >= 0) & (jnp.abs(gap[..., 1]) <= reach_y) & (jnp.abs(gap[..., 2]) <= reach_z)


class PegUnplugSide(Task):
    """Pull a peg sideways out of a box; success measures the peg's end within 7 cm of the goal."""

    name, scene = "peg-unplug-side", "sawyer_xyz/sawyer_peg_unplug_side.xml"
    hand_init = (0.0, 0.6, 0.2)
    hand_low, hand_high = HAND_RANGE["hand_low"], HAND_RANGE["hand_high"]
    reset_low, reset_high = (-0.25, 0.6, -0.001), (-0.15, 0.8, 0.001)
    success_threshold = 0.07
    plug_offset = (0.044, 0.0, 0.131)
    """the plug's start relative to the box"""
    pull = (0.15, 0.0, 0.0)
    """the goal relative to the plug's start"""

    def setup(self, model) -> None:
        super().setup(model)
        self.box, self.plug, self.peg_end = self.body("box"), self.body("plug1"), self.site("pegEnd")

    def place(self, reset_vec, layout, settled) -> Layout:
        """Box at the reset vector, plug in it upright; Meta-World zeroes only its linear velocity."""
        plug = jnp.concatenate([reset_vec + jnp.asarray(self.plug_offset), jnp.array([1.0, 0.0, 0.0, 0.0])])
        layout = move_body(layout, self.box, reset_vec)
        return dataclasses.replace(layout, qpos=layout.qpos.at[9:16].set(plug), qvel=layout.qvel.at[9:12].set(0.0))

    def goal(self, reset_vec, data):
        return reset_vec + jnp.asarray(self.plug_offset) + jnp.asarray(self.pull)

    def objects(self, data):
        return data.site_xpos[self.peg_end], data.xquat[self.plug]

    def achieved(self, data):
        return data.site_xpos[self.peg_end]

