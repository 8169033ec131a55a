"""Tasks with one free object on the table (or none to touch): reach, push, pick-place,
push-back, push-wall, shelf-place. The object's free joint is qpos[9:16] / qvel[9:15]."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from crlx.envs.metaworld.task import Layout, Task, move_body, quat_xyzw_from_matrix

OBJECT_QPOS = slice(9, 12)
OBJECT_QVEL = slice(9, 15)
HAND_RANGE = dict(hand_low=(-0.5, 0.40, 0.05), hand_high=(0.5, 1.0, 0.5))


def put_object(layout: Layout, position: jax.Array) -> Layout:
    """The object's position set and its velocity zeroed (Meta-World's `_set_obj_xyz`)."""
    return dataclasses.replace(
        layout, qpos=layout.qpos.at[OBJECT_QPOS].set(position), qvel=layout.qvel.at[OBJECT_QVEL].set(0.0)
    )


class ObjectTask(Task):
    """Object = body 'obj' (position) and geom 'objGeom' (orientation); success measures the object."""

    hand_init = (0.0, 0.6, 0.2)
    hand_low, hand_high = HAND_RANGE["hand_low"], HAND_RANGE["hand_high"]
    min_separation = 0.15
    """Meta-World redraws while the object and the goal are closer than this in xy"""
    position_from_geom = False
    """report the object's position as geom objGeom's centre rather than body obj's origin"""

    def setup(self, model) -> None:
        super().setup(model)
        self.obj_body, self.obj_geom = self.body("obj"), self.geom("objGeom")

    def valid(self, reset_vec: jax.Array) -> jax.Array:
        return jnp.linalg.norm(reset_vec[:2] - reset_vec[3:5]) >= self.min_separation

    def object_position(self, data) -> jax.Array:
        return data.geom_xpos[self.obj_geom] if self.position_from_geom else data.xpos[self.obj_body]

    def objects(self, data) -> tuple[jax.Array, jax.Array]:
        return self.object_position(data), quat_xyzw_from_matrix(data.geom_xmat[self.obj_geom])

    def achieved(self, data) -> jax.Array:
        return self.object_position(data)

    def place(self, reset_vec, layout, settled) -> Layout:
        """Object at the reset vector's xy on the table (its settled height); see `goal`."""
        height = self.object_position(settled)[2]
        return put_object(layout, jnp.stack([reset_vec[0], reset_vec[1], height]))

    def goal(self, reset_vec, data) -> jax.Array:
        """The reset vector's goal xy at the object's height."""
        return jnp.stack([reset_vec[3], reset_vec[4], self.object_position(data)[2]])


class Reach(ObjectTask):
    """Move the gripper's centre (between the fingertips) within 5 cm of a point in the air."""

    name, scene = "reach", "sawyer_xyz/sawyer_reach_v3.xml"
    reset_low, reset_high = (-0.1, 0.6, 0.02, -0.1, 0.8, 0.05), (0.1, 0.7, 0.02, 0.1, 0.9, 0.3)
    success_threshold = 0.05
    moves_object = False

    def setup(self, model) -> None:
        super().setup(model)
        self.fingertips = self.site("rightEndEffector"), self.site("leftEndEffector")

    def place(self, reset_vec, layout, settled) -> Layout:
        return put_object(layout, reset_vec[:3])

    def goal(self, reset_vec, data) -> jax.Array:
        return reset_vec[3:6]

    def achieved(self, data) -> jax.Array:
        return (data.site_xpos[self.fingertips[0]] + data.site_xpos[self.fingertips[1]]) / 2


class Push(ObjectTask):
    """Push a puck within 5 cm of a point on the table."""

    name, scene = "push", "sawyer_xyz/sawyer_push_v3.xml"
    reset_low, reset_high = (-0.1, 0.6, 0.02, -0.1, 0.8, 0.01), (0.1, 0.7, 0.02, 0.1, 0.9, 0.02)
    success_threshold = 0.05


class PickPlace(ObjectTask):
    """Pick a puck up and bring it within 7 cm of a point in the air."""

    name, scene = "pick-place", "sawyer_xyz/sawyer_pick_place_v3.xml"
    reset_low, reset_high = (-0.1, 0.6, 0.02, -0.1, 0.8, 0.05), (0.1, 0.7, 0.02, 0.1, 0.9, 0.3)
    success_threshold = 0.07

    def place(self, reset_vec, layout, settled) -> Layout:
        return put_object(layout, reset_vec[:3])

    def goal(self, reset_vec, data) -> jax.Array:
        return reset_vec[3:6]


class PushBack(ObjectTask):
    """Push a block back toward the robot, within 7 cm of a point on the table."""

    name, scene = "push-back", "sawyer_xyz/sawyer_push_back_v3.xml"
    reset_low, reset_high = (-0.1, 0.8, 0.02, -0.1, 0.6, 0.0199), (0.1, 0.85, 0.02, 0.1, 0.7, 0.0201)
    success_threshold = 0.07
    position_from_geom = True


class PushWall(ObjectTask):
    """Push a puck around a wall, within 7 cm of a point behind it."""

    name, scene = "push-wall", "sawyer_xyz/sawyer_push_wall_v3.xml"
    reset_low, reset_high = (-0.05, 0.6, 0.015, -0.05, 0.85, 0.01), (0.05, 0.65, 0.015, 0.05, 0.9, 0.02)
    success_threshold = 0.07
    position_from_geom = True


class ShelfPlace(ObjectTask):
    """Pick a block up and place it within 7 cm of a spot on a shelf that moves per episode."""

    name, scene = "shelf-place", "sawyer_xyz/sawyer_shelf_placing.xml"
    reset_low, reset_high = (-0.1, 0.5, 0.019, -0.1, 0.8, 0.299), (0.1, 0.6, 0.021, 0.1, 0.9, 0.301)
    success_threshold = 0.07
    min_separation = 0.1

    def setup(self, model) -> None:
        super().setup(model)
        self.shelf, self.goal_site = self.body("shelf"), self.site("goal")

    def place(self, reset_vec, layout, settled) -> Layout:
        """Object at the vector's xy, the shelf at its last three values lowered 0.3 m."""
        height = settled.xpos[self.obj_body][2]
        layout = put_object(layout, jnp.stack([reset_vec[0], reset_vec[1], height]))
        shelf = reset_vec[3:6] - jnp.array([0.0, 0.0, 0.3])
        return move_body(layout, self.shelf, shelf)

    def goal(self, reset_vec, data) -> jax.Array:
        return data.site_xpos[self.goal_site]
