"""Critic, actor and alpha objectives. Pure functions returning (loss, namespaced metrics)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from crlx.config import Config
from crlx.contrastive import LOSSES
from crlx.energy import ENERGIES, pairwise_energy
from crlx.networks import Actor, Critic, tanh_gaussian_sample
from crlx.types import Batch


def effective_rank(x: jax.Array) -> jax.Array:
    """Roy & Vetterli (2007): exp(H(p)), p = sigma / sum(sigma), sigma the singular values of x (B, d)."""
    sigma = jnp.linalg.svd(jax.lax.stop_gradient(x), compute_uv=False)
    p = sigma / jnp.maximum(jnp.sum(sigma), 1e-12)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.maximum(p, 1e-12)), 0.0)))


def temperature(cfg: Config, critic_params: dict) -> jax.Array:
    """exp(log_temperature) when learned, else the fixed loss.temperature."""
    if cfg.loss.learn_temperature:
        return jnp.exp(critic_params["log_temperature"])
    return jnp.asarray(cfg.loss.temperature, jnp.float32)


def critic_loss(critic_params: dict, cfg: Config, critic: Critic, batch: Batch) -> tuple[jax.Array, dict]:
    """contrastive(logits) + c * mean_i(logsumexp_j logits_ij)^2,  logits = energy(phi, psi) / temperature.

    phi = phi(s_i, a_i), psi = psi(g_j); logits (B, B) with positives on the diagonal.
    """
    phi, psi = critic.apply(critic_params["net"], batch.state, batch.action, batch.goal)
    logits = ENERGIES[cfg.loss.energy](phi, psi) / temperature(cfg, critic_params)  # (B, B)
    loss, metrics = LOSSES[cfg.loss.contrastive](logits)
    lse = jax.nn.logsumexp(logits, axis=1)  # (B,)
    penalty = cfg.loss.logsumexp_penalty * jnp.mean(lse**2)
    size = logits.shape[0]
    diag = jnp.eye(size, dtype=bool)
    metrics = {
        **metrics,
        "critic/loss": loss + penalty,
        "critic/contrastive_loss": loss,
        "critic/accuracy": jnp.mean(jnp.argmax(logits, axis=1) == jnp.arange(size)),
        "critic/logits_pos": jnp.mean(jnp.diagonal(logits)),
        "critic/logits_neg": jnp.sum(jnp.where(diag, 0.0, logits)) / (size * (size - 1)),
        "critic/logsumexp": jnp.mean(lse),
        "critic/erank_phi": effective_rank(phi),
        "critic/erank_psi": effective_rank(psi),
        "critic/temperature": temperature(cfg, critic_params),
    }
    return loss + penalty, metrics


def actor_loss(
    actor_params: dict,
    critic_params: dict,
    log_alpha: jax.Array,
    cfg: Config,
    actor: Actor,
    critic: Critic,
    batch: Batch,
    key: jax.Array,
) -> tuple[jax.Array, dict]:
    """mean_i [alpha log pi(a_i | s_i, g_i) - f(phi(s_i, a_i), psi(g_i))],  a_i ~ pi(. | s_i, g_i)."""
    mean, log_std = actor.apply(actor_params, jnp.concatenate([batch.state, batch.goal], axis=-1))
    action, log_prob = tanh_gaussian_sample(key, mean, log_std)
    net = critic_params["net"]
    phi = critic.apply(net, batch.state, action, method=Critic.phi)
    psi = critic.apply(net, batch.goal, method=Critic.psi)
    q = pairwise_energy(cfg.loss.energy)(phi, psi) / temperature(cfg, critic_params)  # (B,)
    alpha = jnp.exp(jax.lax.stop_gradient(log_alpha))
    loss = jnp.mean(alpha * log_prob - q)
    return loss, {"actor/loss": loss, "actor/entropy": -jnp.mean(log_prob), "actor/q": jnp.mean(q), "log_prob": log_prob}


def alpha_loss(log_alpha: jax.Array, log_prob: jax.Array, target_entropy: float) -> tuple[jax.Array, dict]:
    """-log_alpha * mean(log pi + target_entropy): raises alpha while entropy < target."""
    loss = -log_alpha * jnp.mean(jax.lax.stop_gradient(log_prob) + target_entropy)
    return loss, {"actor/alpha_loss": loss, "actor/alpha": jnp.exp(log_alpha)}
