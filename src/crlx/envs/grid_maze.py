"""JaxGCRL's maze layouts (jaxgcrl 0.2.8 jaxgcrl/envs/ant_maze.py and simple_maze.py) and their geometry.

Characters: '#' wall, '.' free, 'S' start cell (JaxGCRL's "r"), 'G' goal cell (JaxGCRL's "g").
Cell (row i, column j) has its center at (x, y) = (i * scaling, j * scaling): rows run along +x,
columns along +y, and the start cell (1, 1) sits at (scaling, scaling). The walls are the wall cells'
solid, (scaling, scaling, height) per cell, its base on the floor, touching everything (contype =
conaffinity = 1); JaxGCRL places one box per wall cell, crlx one box per run of wall cells along a
row (the same solid; the U maze's 18 boxes become 8, and MJX tests every wall-touching geom against
every box, so the ant's U maze steps 2.1x faster). Starts and goals are cell centers, without jitter.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

GRID_LAYOUTS = {
    "u": """
#####
#SGG#
###G#
#GGG#
#####
""",
    "big": """
########
#SG##GG#
#GG#GGG#
##GGG###
#GG#GGG#
#G#GG#G#
#GGG#GG#
########
""",
    "hardest": """
############
#SGGG#GGGGG#
#G##G#G#G#G#
#GGGGGG#GGG#
#G####G###G#
#GG#G#GGGGG#
##G#G#G#G###
#GG#GGG#GGG#
############
""",
}
"""JaxGCRL's U_MAZE, BIG_MAZE and HARDEST_MAZE: every free cell but the start is a goal cell"""
WALL_HEIGHT = 0.5
"""JaxGCRL's MAZE_HEIGHT: walls are WALL_HEIGHT * scaling tall"""


def wall_runs(rows: list[str]) -> list[tuple[int, int, int]]:
    """(row, first column, last column) of every maximal run of '#' along a row, row by row."""
    runs = []
    for r, row in enumerate(rows):
        c = 0
        for ch, run in itertools.groupby(row):
            length = len(list(run))
            if ch == "#":
                runs.append((r, c, c + length - 1))
            c += length
    return runs


class GridMaze:
    """A parsed layout at a cell size `scaling` (m)."""

    def __init__(self, name: str, layout: str, scaling: float, layouts: dict[str, str] = GRID_LAYOUTS):
        if layout not in layouts:
            raise ValueError(f"{name}: layout must be one of {sorted(layouts)}, got {layout!r}")
        if not scaling > 0:
            raise ValueError(f"{name}: maze_size_scaling must be > 0, got {scaling!r}")
        self.rows = layouts[layout].strip("\n").splitlines()
        self.scaling = float(scaling)
        self.starts = self.cells("S")
        self.goals = self.cells("G")

    def cells(self, char: str) -> np.ndarray:
        """(k, 2) centers (i * scaling, j * scaling) of the cells marked `char`, row by row."""
        ij = [(i, j) for i, row in enumerate(self.rows) for j, ch in enumerate(row) if ch == char]
        return self.scaling * np.array(ij, np.float32).reshape(-1, 2)

    def cell_of(self, xy: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(row, column) of points xy (..., 2), clipped into the grid."""
        i = jnp.clip(jnp.round(xy[..., 0] / self.scaling).astype(jnp.int32), 0, len(self.rows) - 1)
        j = jnp.clip(jnp.round(xy[..., 1] / self.scaling).astype(jnp.int32), 0, len(self.rows[0]) - 1)
        return i, j

    def add_walls(self, spec: mujoco.MjSpec) -> None:
        """One box per run of wall cells (i, j..k) along a row, named block_<i>_<j>_<k>."""
        half = self.scaling / 2
        half_height = WALL_HEIGHT / 2 * self.scaling
        for i, j, k in wall_runs(self.rows):
            spec.worldbody.add_geom(name=f"block_{i}_{j}_{k}", type=mujoco.mjtGeom.mjGEOM_BOX,
                                    pos=[i * self.scaling, (j + k) / 2 * self.scaling, half_height],
                                    size=[half, (k - j + 1) * half, half_height], contype=1, conaffinity=1,
                                    rgba=[0.7, 0.5, 0.3, 1.0])

    def at_start(self, rng: jax.Array, q: jax.Array) -> jax.Array:
        """q with its first two entries (the body's xy) at a start cell's center, picked uniformly."""
        return q.at[:2].set(self.pick(rng, self.starts))

    @staticmethod
    def pick(rng: jax.Array, centers: np.ndarray) -> jax.Array:
        """(2,) one of `centers` (k, 2), uniformly."""
        return jnp.asarray(centers)[jax.random.randint(rng, (), 0, len(centers))]
