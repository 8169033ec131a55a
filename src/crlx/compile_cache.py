"""JAX's persistent compilation cache, on by default for crlx runs.

A second identical run loads its compiled programs from disk instead of compiling again. The cache
lives in $CRLX_CACHE_DIR, else $XDG_CACHE_HOME/crlx/jax, else ~/.cache/crlx/jax;
`CRLX_COMPILATION_CACHE=0` turns it off. JAX writes each entry atomically under a key that covers
the program, the jax/jaxlib versions, the device and the compile flags, so runs that share the
directory at the same time are safe. A cache directory set in JAX itself
(JAX_COMPILATION_CACHE_DIR or jax.config) is left as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

MIN_COMPILE_SECONDS = 0.5
"""programs that compile faster than this are not written (tiny helpers)"""


def cache_dir() -> Path:
    if os.environ.get("CRLX_CACHE_DIR"):
        return Path(os.environ["CRLX_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "crlx" / "jax"


def enable() -> Path | None:
    """Turn the cache on (idempotent); returns its directory, or None when turned off."""
    import jax

    if os.environ.get("CRLX_COMPILATION_CACHE", "1").strip().lower() in ("0", "false", "off", "no"):
        return None
    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    path = cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return path
