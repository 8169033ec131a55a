"""Find the Meta-World scene files in the installed `metaworld` package (without importing it).

crlx ships no Meta-World file: the MJX ports load the task scenes, meshes and textures from the
installed package at run time. `pip install -e ".[metaworld]"` installs it (metaworld 3.1.1,
which pins mujoco 3.3.0); beside the warp extra (mujoco 4), `pip install --no-deps metaworld==3.1.1`
brings the same files without the pin (the ports build and pass their fidelity tests there too).
"""

from __future__ import annotations

import importlib.util
import pathlib

INSTALL_HINT = (
    'install the metaworld extra in its own environment: pip install -e ".[metaworld]" '
    "(metaworld 3.1.1 pins mujoco==3.3.0 and mujoco-mjx==3.3.0); for backend 'warp', beside the warp extra: "
    "pip install --no-deps metaworld==3.1.1"
)


class MetaWorldNotInstalled(ImportError):
    """The `metaworld` package (the source of the scene files) is not installed."""


def metaworld_root() -> pathlib.Path | None:
    """Directory of the installed `metaworld` package, or None. Imports nothing."""
    spec = importlib.util.find_spec("metaworld")
    if spec is None or not spec.submodule_search_locations:
        return None
    return pathlib.Path(next(iter(spec.submodule_search_locations)))


def metaworld_available() -> bool:
    """True when the Meta-World scene files can be loaded."""
    root = metaworld_root()
    return root is not None and (root / "assets" / "sawyer_xyz").is_dir()


def scene_path(relative: str) -> pathlib.Path:
    """Absolute path of `assets/<relative>` in the metaworld package; MetaWorldNotInstalled if absent."""
    root = metaworld_root()
    if root is None:
        raise MetaWorldNotInstalled(f"the Meta-World envs (mw_*) load their scenes from the metaworld package; {INSTALL_HINT}")
    path = root / "assets" / relative
    if not path.is_file():
        raise MetaWorldNotInstalled(f"{path} not found in the installed metaworld package; {INSTALL_HINT}")
    return path
