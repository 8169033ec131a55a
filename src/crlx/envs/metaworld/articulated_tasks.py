"""Tasks on hinged or sliding fixtures that move per episode: faucet-close, handle-press-side,
window-close. The fixture's one joint is qpos[9] / qvel[9]."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import mujoco

from crlx.envs.metaworld.object_tasks import HAND_RANGE
from crlx.envs.metaworld.task import Layout, Task, move_body

NO_QUAT = jnp.zeros(4)
"""what Meta-World reports as the orientation of a fixture it does not track"""


class FaucetClose(Task):
    """Turn a faucet's handle closed; success when the handle tip is within 7 cm of the closed spot."""

    name, scene = "faucet-close", "sawyer_xyz/sawyer_faucet.xml"
    hand_init = (0.0, 0.4, 0.2)
    hand_low, hand_high = (-0.5, 0.40, -0.15), (0.5, 1.0, 0.5)
    reset_low, reset_high = (-0.1, 0.8, 0.0), (0.1, 0.85, 0.0)
    success_threshold = 0.07
    handle_length, goal_height = 0.175, 0.125

    def setup(self, model) -> None:
        super().setup(model)
        self.base, self.handle = self.body("faucetBase"), self.site("handleStartClose")

    def place(self, reset_vec, layout, settled) -> Layout:
        """The faucet's base at the reset vector, the handle as it settled."""
        return move_body(layout, self.base, reset_vec)

    def goal(self, reset_vec, data) -> jax.Array:
        """The handle tip's closed spot: a handle length toward -x from the base, 12.5 cm up."""
        return reset_vec + jnp.array([-self.handle_length, 0.0, self.goal_height])

    def handle_tip(self, data) -> jax.Array:
        return data.site_xpos[self.handle] - jnp.array([0.0, 0.0, 0.01])

    def objects(self, data) -> tuple[jax.Array, jax.Array]:
        return self.handle_tip(data), data.xquat[self.base]

    def achieved(self, data) -> jax.Array:
        return self.handle_tip(data)


class HandlePressSide(Task):
    """Press a handle down from the side; success when its tip's height is within 2 cm of the box's press mark."""

    name, scene = "handle-press-side", "sawyer_xyz/sawyer_handle_press_sideways.xml"
    hand_init = (0.0, 0.6, 0.2)
    hand_low, hand_high = HAND_RANGE["hand_low"], HAND_RANGE["hand_high"]
    reset_low, reset_high = (-0.35, 0.65, -0.001), (-0.25, 0.75, 0.001)
    success_threshold = 0.02
    success_axes = (2,)
    handle_start = -0.001
    """Meta-World's initial handle joint position"""

    def setup(self, model) -> None:
        super().setup(model)
        self.box, self.handle, self.press = self.body("box"), self.site("handleStart"), self.site("goalPress")

    def place(self, reset_vec, layout, settled) -> Layout:
        """The box at the reset vector, the handle joint at -1 mm and at rest."""
        layout = move_body(layout, self.box, reset_vec)
        qpos, qvel = layout.qpos.at[9].set(self.handle_start), layout.qvel.at[9].set(0.0)
        return dataclasses.replace(layout, qpos=qpos, qvel=qvel)

    def goal(self, reset_vec, data) -> jax.Array:
        return data.site_xpos[self.press]

    def objects(self, data) -> tuple[jax.Array, jax.Array]:
        return data.site_xpos[self.handle], NO_QUAT

    def achieved(self, data) -> jax.Array:
        return data.site_xpos[self.handle]


class WindowClose(Task):
    """Slide a window closed; success when its handle's x is within 5 cm of the goal's."""

    name, scene = "window-close", "sawyer_xyz/sawyer_window_horizontal.xml"
    hand_init = (0.0, 0.4, 0.2)
    hand_low, hand_high = HAND_RANGE["hand_low"], HAND_RANGE["hand_high"]
    reset_low, reset_high = (0.0, 0.75, 0.2), (0.0, 0.9, 0.2)
    success_threshold = 0.05
    success_axes = (0,)
    opening = 0.2
    """how far Meta-World opens the window's slide joint at reset"""

    def setup(self, model) -> None:
        super().setup(model)
        self.window, self.handle = self.body("window"), self.site("handleCloseStart")
        self.slide = self.id(mujoco.mjtObj.mjOBJ_JOINT, "window_slide")
        self.slide_qpos = self.joint_qpos("window_slide")

    def place(self, reset_vec, layout, settled) -> Layout:
        """The window's frame at the reset vector, the window slid open 0.2."""
        layout = move_body(layout, self.window, reset_vec)
        return dataclasses.replace(layout, qpos=layout.qpos.at[self.slide_qpos].set(self.opening))

    def goal(self, reset_vec, data) -> jax.Array:
        return reset_vec

    def objects(self, data) -> tuple[jax.Array, jax.Array]:
        """The handle; at reset (time 0) where it was before the slide opened, as Meta-World reports
        it (its reset opens the window without recomputing positions)."""
        handle = data.site_xpos[self.handle]
        stale = handle - data.qpos[self.slide_qpos] * data.xaxis[self.slide]
        return jnp.where(data.time == 0.0, stale, handle), NO_QUAT

    def achieved(self, data) -> jax.Array:
        return data.site_xpos[self.handle]
