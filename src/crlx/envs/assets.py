"""Locate the MJCF scene files that crlx ships.

The files live in `<repo>/envs/` in a source checkout; the wheel packages that folder as
`crlx/assets/`. `asset_path` tries the installed package first, then the checkout, so it
works from any working directory.
"""

from __future__ import annotations

import importlib.resources
import pathlib

SOURCE_ASSET_DIR = pathlib.Path(__file__).resolve().parents[3] / "envs"
"""`<repo>/envs`: where the scene files live in a source checkout."""


def _package_asset(name: str) -> pathlib.Path | None:
    """`crlx/assets/<name>` inside the installed package, or None if that cannot be resolved."""
    try:
        root = importlib.resources.files("crlx")
    except (ModuleNotFoundError, TypeError, ValueError):
        return None
    # a wheel install is a plain directory; a zipped install would need as_file() (not supported)
    return pathlib.Path(str(root / "assets" / name))


def asset_path(name: str) -> pathlib.Path:
    """Absolute path of the scene file `name` (e.g. "ant.xml").

    Raises FileNotFoundError naming every path tried.
    """
    tried = []
    candidates = [_package_asset(name), SOURCE_ASSET_DIR / name]
    for path in candidates:
        if path is None:
            continue
        if path.is_file():
            return path
        tried.append(str(path))
    raise FileNotFoundError(f"asset {name!r} not found; tried: {', '.join(tried)}")
