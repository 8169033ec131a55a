"""XLA options crlx adds at import, only where the installed XLA knows them.

XLA aborts the process (`Unknown flag in XLA_FLAGS`) on a flag it does not know, so each option
carries the jaxlib versions whose XLA was seen to define it; outside that range it is not set.
Nothing here imports jax: XLA_FLAGS must be final before JAX starts a backend.
"""

from __future__ import annotations

import os
import re
from importlib import metadata

CPU_FUSION_EMITTERS_OFF = "--xla_cpu_use_fusion_emitters=false"
"""MJX scenes with ball and box contacts compile and run far slower with XLA's CPU fusion emitters
(docs/BENCHMARKS.md); no effect on GPU backends"""

KNOWN_IN = ((0, 5, 3), (0, 11, 0))
"""[first, first without) jaxlib versions whose XLA knows the flag. Measured 2026-12-04: the flag's
name is in the shared libraries of jaxlib 0.5.3 through 0.10.2 (the releases checked: 0.5.3, 0.6.0,
0.6.2, 0.7.0, 0.7.2, 0.8.0, 0.8.3, 0.9.0, 0.9.2, 0.10.0, 0.10.2) and not in 0.4.36, 0.4.38, 0.5.0,
0.5.1; jaxlib 0.11.2 aborts on it"""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """'0.10.2' -> (0, 10, 2); '0.11.0.dev20260101' -> (0, 11, 0); None when unreadable."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def installed_jaxlib() -> str | None:
    try:
        return metadata.version("jaxlib")
    except metadata.PackageNotFoundError:
        return None


def flags_for(jaxlib_version: str | None) -> list[str]:
    """The XLA flags crlx adds under jaxlib `jaxlib_version` (none for an unknown or unread version)."""
    version = parse_version(jaxlib_version or "")
    first, first_without = KNOWN_IN
    if version is not None and first <= version < first_without:
        return [CPU_FUSION_EMITTERS_OFF]
    return []


def apply(environ=os.environ, jaxlib_version: str | None = None) -> list[str]:
    """Append to environ["XLA_FLAGS"] each flag of `flags_for` whose name XLA_FLAGS does not mention
    yet (a user's own setting wins); returns the flags added."""
    current = environ.get("XLA_FLAGS", "")
    version = installed_jaxlib() if jaxlib_version is None else jaxlib_version
    added = [flag for flag in flags_for(version) if flag.split("=")[0].lstrip("-") not in current]
    if added:
        environ["XLA_FLAGS"] = " ".join([current, *added]).strip()
    return added
