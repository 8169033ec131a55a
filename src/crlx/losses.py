"""Critic, actor and alpha objectives, built once by `make_losses` (brax's make_losses style).

The factory resolves the energy, the contrastive loss and the temperature when the agent is made;
the returned functions are pure and return (loss, namespaced metrics).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from crlx.contrastive import LOSSES
from crlx.energy import ENERGIES, pairwise_energy
from crlx.networks import Actor, Critic, tanh_gaussian_sample
from crlx.types import Batch


def effective_rank(x: jax.Array) -> jax.Array:
    """Roy & Vetterli (2007): exp(H(p)), p = sigma / sum(sigma), sigma the singular values of x (B, d)."""
    sigma = jnp.linalg.svd(jax.lax.stop_gradient(x), compute_uv=False)
    p = sigma / jnp.maximum(jnp.sum(sigma), 1e-12)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.maximum(p, 1e-12)), 0.0)))


@dataclasses.dataclass(frozen=True)
class Losses:
    """The three objectives of one run (see make_losses)."""

    critic: Callable[[dict, Batch], tuple[jax.Array, dict]]
    """(critic_params, batch) -> (loss, metrics)"""
    actor: Callable[..., tuple[jax.Array, dict]]
    """(actor_params, critic_params, log_alpha, batch, key, psi=None) -> (loss, metrics incl. 'log_prob' (B,));
    psi: psi(batch.actor_goal) under critic_params when the caller has it already (a constant here)"""
    alpha: Callable[[jax.Array, jax.Array], tuple[jax.Array, dict]]
    """(log_alpha, log_prob) -> (loss, metrics)"""
    representation_metrics: Callable[[dict, Batch], dict]
    """(critic_params, batch) -> effective ranks of phi and psi (two SVDs: once per iteration)"""


def make_losses(
    actor: Actor,
    critic: Critic,
    *,
    energy: str,
    contrastive: str,
    logsumexp_penalty: float,
    temperature: float,
    learn_temperature: bool,
    target_entropy: float,
) -> Losses:
    """Bind the energy, contrastive loss and temperature once; see each inner function's formula."""
    energy_fn = ENERGIES[energy]
    pair_energy = pairwise_energy(energy)
    contrastive_fn = LOSSES[contrastive]

    def temperature_of(critic_params: dict) -> jax.Array:
        """exp(log_temperature) when learned, else the fixed temperature."""
        if learn_temperature:
            return jnp.exp(critic_params["log_temperature"])
        return jnp.asarray(temperature, jnp.float32)

    def critic_loss(critic_params: dict, batch: Batch) -> tuple[jax.Array, dict]:
        """contrastive(logits) + c * mean_i(logsumexp_j logits_ij)^2,  logits = energy(phi, psi) / temperature.

        phi = phi(s_i, a_i), psi = psi(g_j) with g the hindsight goals; logits (B, B), positives on the diagonal.
        metrics["psi"] is psi itself (not a logged metric: the caller pops it).
        """
        phi, psi = critic.apply(critic_params["net"], batch.state, batch.action, batch.goal)
        tau = temperature_of(critic_params)
        logits = energy_fn(phi, psi) / tau  # (B, B)
        psi_out = jax.lax.stop_gradient(psi)
        loss, metrics = contrastive_fn(logits)
        lse = jax.nn.logsumexp(logits, axis=1)  # (B,)
        penalty = logsumexp_penalty * jnp.mean(lse**2)
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
            "critic/temperature": tau,
            "psi": psi_out,  # (B, repr_dim): popped by the caller, shared with the actor loss
        }
        return loss + penalty, metrics

    def actor_loss(actor_params, critic_params, log_alpha, batch: Batch, key, psi=None) -> tuple[jax.Array, dict]:
        """mean_i [alpha log pi(a_i | s_i, g_i) - f(phi(s_i, a_i), psi(g_i)) / temperature],  a_i ~ pi(. | s_i, g_i).

        g = batch.actor_goal (hindsight goals, some replaced by random ones with buffer.random_goal_prob).
        """
        goal = batch.actor_goal
        mean, log_std = actor.apply(actor_params, jnp.concatenate([batch.state, goal], axis=-1))
        action, log_prob = tanh_gaussian_sample(key, mean, log_std)
        net = critic_params["net"]
        phi = critic.apply(net, batch.state, action, method=Critic.phi)
        psi = critic.apply(net, goal, method=Critic.psi) if psi is None else jax.lax.stop_gradient(psi)
        q = pair_energy(phi, psi) / temperature_of(critic_params)  # (B,)
        alpha = jnp.exp(jax.lax.stop_gradient(log_alpha))
        loss = jnp.mean(alpha * log_prob - q)
        metrics = {"actor/loss": loss, "actor/entropy": -jnp.mean(log_prob), "actor/q": jnp.mean(q), "log_prob": log_prob}
        return loss, metrics

    def alpha_loss(log_alpha: jax.Array, log_prob: jax.Array) -> tuple[jax.Array, dict]:
        """-log_alpha * mean(log pi + target_entropy): raises alpha while entropy < target."""
        loss = -log_alpha * jnp.mean(jax.lax.stop_gradient(log_prob) + target_entropy)
        return loss, {"actor/alpha_loss": loss}

    def representation_metrics(critic_params: dict, batch: Batch) -> dict:
        phi, psi = critic.apply(critic_params["net"], batch.state, batch.action, batch.goal)
        return {"critic/erank_phi": effective_rank(phi), "critic/erank_psi": effective_rank(psi)}

    return Losses(critic=critic_loss, actor=actor_loss, alpha=alpha_loss, representation_metrics=representation_metrics)
