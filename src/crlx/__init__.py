"""crlx: contrastive goal-conditioned RL in JAX, with the whole training step fused and jitted.

Public API: Config, train, make_env, make_policy, ENERGIES, LOSSES, ENVS,
register_energy, register_loss.
"""

from crlx.config import Config, ConfigError
from crlx.contrastive import LOSSES, register_loss
from crlx.energy import ENERGIES, register_energy
from crlx.envs import ENVS, make_env
from crlx.policy import make_policy
from crlx.trainer import TrainResult, train

__all__ = [
    "Config",
    "ConfigError",
    "train",
    "TrainResult",
    "make_env",
    "make_policy",
    "ENERGIES",
    "LOSSES",
    "ENVS",
    "register_energy",
    "register_loss",
]
__version__ = "0.1.0"
