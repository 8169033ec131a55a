"""crlx: contrastive goal-conditioned RL in JAX, with the whole training step fused and jitted.

Public API: Config, train, train_sequence, make_env, make_policy, ENERGIES, LOSSES, ENVS,
available_envs (the envs this install can build; unavailable_envs says why not), Interrupted,
register_energy, register_loss.
"""

from crlx import xla_flags

# XLA options read when JAX starts a backend: crlx must be imported before the first computation.
xla_flags.apply()


def _import_mjx_warp_quietly() -> None:
    """MuJoCo's optional Warp backend prints "Failed to import warp ..." on stdout when it is absent
    (crlx does not use it); import it once with those two lines dropped, anything else passed on."""
    import contextlib
    import io

    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            import mujoco.mjx.warp  # noqa: F401
    except ImportError:
        pass
    rest = [line for line in captured.getvalue().splitlines()
            if not line.startswith(("Failed to import warp", "Failed to import mujoco_warp"))]
    if rest:
        print("\n".join(rest))


_import_mjx_warp_quietly()

from crlx.config import Config, ConfigError  # noqa: E402
from crlx.contrastive import LOSSES, register_loss  # noqa: E402
from crlx.energy import ENERGIES, register_energy  # noqa: E402
from crlx.envs import ENVS, make_env  # noqa: E402
from crlx.interrupt import Interrupted  # noqa: E402
from crlx.policy import make_policy  # noqa: E402
from crlx.preflight import available_envs, unavailable_envs  # noqa: E402
from crlx.trainer import TrainResult, train  # noqa: E402

__all__ = [
    "Config",
    "ConfigError",
    "train",
    "TrainResult",
    "train_sequence",
    "ContinualConfig",
    "ContinualResult",
    "make_env",
    "make_policy",
    "ENERGIES",
    "LOSSES",
    "ENVS",
    "available_envs",
    "unavailable_envs",
    "Interrupted",
    "register_energy",
    "register_loss",
]
__version__ = "0.1.0"

_CONTINUAL = ("train_sequence", "ContinualConfig", "ContinualResult")


def __getattr__(name: str):
    """crlx.train_sequence, ContinualConfig, ContinualResult: imported from crlx.continual on first
    use (so that `python -m crlx.continual` does not find the module imported already)."""
    if name in _CONTINUAL:
        from crlx import continual

        return getattr(continual, name)
    raise AttributeError(f"module 'crlx' has no attribute {name!r}")
