"""Residual MLPs, the critic encoders phi(s, a) and psi(g), and the tanh-Gaussian actor."""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from crlx.config import ActorConfig, CriticConfig, NetworkConfig

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "swish": nn.swish,
    "relu": nn.relu,
    "gelu": nn.gelu,
    "tanh": jnp.tanh,
    "elu": nn.elu,
}

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


class ResidualMLP(nn.Module):
    """x -> Dense(width) -> [LN] -> act -> num_blocks x (block_size x (Dense -> [LN] -> act) + identity)
    -> Dense(out_dim).  Shapes: (..., in) -> (..., out_dim). Without cfg.residual the identity is
    dropped: a plain MLP of 1 + depth hidden layers (JaxGCRL's, with depth 1 and no LayerNorm).

    Kernels: variance_scaling(cfg.init_scale, "fan_in", "uniform") (1.0: lecun_uniform; 1/3: JaxGCRL's
    networks, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))); biases zero.

    Parameters are float32; with cfg.compute_dtype 'bfloat16' the matmuls and activations run in
    bfloat16 and LayerNorm statistics and the output stay float32."""

    cfg: NetworkConfig
    out_dim: int

    @property
    def _init(self):
        return nn.initializers.variance_scaling(self.cfg.init_scale, "fan_in", "uniform")

    def _hidden(self, x: jax.Array) -> jax.Array:
        x = nn.Dense(self.cfg.width, kernel_init=self._init, dtype=DTYPES[self.cfg.compute_dtype])(x)
        if self.cfg.layer_norm:
            x = nn.LayerNorm(dtype=DTYPES[self.cfg.compute_dtype])(x)
        return ACTIVATIONS[self.cfg.activation](x)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = self._hidden(x)
        for _ in range(self.cfg.num_blocks):
            skip = x
            for _ in range(self.cfg.block_size):
                x = self._hidden(x)
            x = x + skip if self.cfg.residual else x
        return nn.Dense(self.out_dim, kernel_init=self._init, dtype=jnp.float32)(x)


class Critic(nn.Module):
    """phi(s, a) and psi(g): two residual MLPs with output size repr_dim."""

    cfg: CriticConfig

    def setup(self):
        self.sa_encoder = ResidualMLP(self.cfg, self.cfg.repr_dim)
        self.goal_encoder = ResidualMLP(self.cfg, self.cfg.repr_dim)

    def __call__(self, state: jax.Array, action: jax.Array, goal: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(B, state_dim), (B, action_dim), (B, goal_dim) -> phi (B, repr_dim), psi (B, repr_dim)."""
        return self.phi(state, action), self.psi(goal)

    def phi(self, state: jax.Array, action: jax.Array) -> jax.Array:
        return self.sa_encoder(jnp.concatenate([state, action], axis=-1))

    def psi(self, goal: jax.Array) -> jax.Array:
        return self.goal_encoder(goal)


class Actor(nn.Module):
    """pi(a | s, g): returns the Gaussian's mean and log std before the tanh, each (B, action_dim).

    log_std = min + (max - min) * (tanh(raw) + 1) / 2 keeps it in [min_log_std, max_log_std] smoothly.
    """

    cfg: ActorConfig
    action_dim: int

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        out = ResidualMLP(self.cfg, 2 * self.action_dim)(obs)
        mean, raw = jnp.split(out, 2, axis=-1)
        lo, hi = self.cfg.min_log_std, self.cfg.max_log_std
        return mean, lo + 0.5 * (hi - lo) * (jnp.tanh(raw) + 1.0)


def tanh_gaussian_sample(key: jax.Array, mean: jax.Array, log_std: jax.Array) -> tuple[jax.Array, jax.Array]:
    """a = tanh(u), u ~ N(mean, exp(log_std)^2). Returns (a, log pi(a)) with the tanh Jacobian:

    log pi(a) = sum_i [log N(u_i) - log(1 - tanh(u_i)^2)],  log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)).
    """
    std = jnp.exp(log_std)
    eps = jax.random.normal(key, mean.shape)
    u = mean + std * eps
    log_normal = -0.5 * eps**2 - log_std - 0.5 * jnp.log(2.0 * jnp.pi)
    log_det = 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))
    return jnp.tanh(u), jnp.sum(log_normal - log_det, axis=-1)
