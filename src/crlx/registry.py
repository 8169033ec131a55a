"""Registration shared by the user-extensible registries (ENERGIES, LOSSES)."""

from __future__ import annotations

from typing import Callable


def check_name(kind: str, name: object, registry: dict, overwrite: bool) -> None:
    """Raise if `name` cannot key `registry`: not a str, empty, with whitespace or a path
    separator, or already taken without `overwrite`."""
    if not isinstance(name, str):
        raise TypeError(f"register_{kind}: name must be a str, got {type(name).__name__} {name!r}.")
    if not name or name != name.strip() or any(c.isspace() or c in "/\\" for c in name):
        raise ValueError(
            f"register_{kind}: name {name!r} must be non-empty, without whitespace, '/' or '\\' "
            "(it becomes part of the default run directory name)."
        )
    if name in registry and not overwrite:
        raise ValueError(
            f"register_{kind}: {kind} {name!r} is already registered ({registry[name]!r}); "
            f"pass overwrite=True to replace it or choose another name."
        )


def register(
    kind: str, registry: dict, name: str, fn: Callable | None, overwrite: bool, signature: str, check: Callable
):
    """Add `fn` to `registry` under `name` after `check(name, fn)`; returns `fn`.

    With fn=None returns a decorator that does the same. `signature` describes the expected call
    in the not-callable error, e.g. '(phi, psi) -> logits'.
    """
    check_name(kind, name, registry, overwrite)
    if fn is None:
        return lambda f: register(kind, registry, name, f, overwrite, signature, check)
    if not callable(fn):
        raise TypeError(f"register_{kind}: {kind} {name!r} must be callable {signature}, got {fn!r}.")
    check(name, fn)
    registry[name] = fn
    return fn
