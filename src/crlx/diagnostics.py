"""Diagnostics of the constant-hindsight-goal collapse on object tasks, and the warning about it.

When the object of a pushing task never moves, every hindsight goal is the object at rest: the
critic separates episodes by where the object sits (high accuracy, effective rank ~2) and the actor
gets no gradient toward moving it (docs/LEARNING.md, diagnoses). Two training metrics show it as it
happens, both computed inside the jitted epoch:

train/goal_moved    (envs with an object, `GoalEnv.object_indices`) the share of the epoch's
                    training episodes in which the object moved: an episode counts as moved when at
                    some step since its reset the object lay farther than the env's
                    success_threshold from its position at reset (`EpisodeWrapper`). The episodes
                    of an epoch are each env's episodes that ended during the epoch's collection
                    plus the one still running at its end (if it has taken a step), each judged on
                    its steps so far; an episode that spans an epoch boundary counts in both epochs.
train/goal_spread   (every env) the standard deviation of the critic's sampled hindsight goals over
                    the batch, per goal dimension, averaged over the dimensions, then over the
                    epoch's updates. 0 when every hindsight goal is the same point. In a goal space
                    with the hand (object_and_hand) the hand offset keeps it above 0 even while the
                    object rests, so goal_moved is the object's measure.

`still_goals_warning` is the one line a run prints when, after CHECK_SHARE of its epochs, the
object has moved in fewer than STILL_BELOW of its training episodes, with the levers to try.
"""

from __future__ import annotations

import math
import sys
from typing import Callable

import jax
import jax.numpy as jnp

GOAL_MOVED = "train/goal_moved"
GOAL_SPREAD = "train/goal_spread"
ENDED = "episodes/ended"
ENDED_MOVED = "episodes/ended_moved"
"""per-iteration sums the epoch turns into GOAL_MOVED (`goal_moved`); never logged"""

STILL_BELOW = 0.05
"""train/goal_moved below this share: the goals have not moved"""
CHECK_SHARE = 0.2
"""the share of a run's epochs after which the warning is checked, once"""
JAXGCRL_ARM_UPDATES_PER_ENV_STEP = 0.5
"""configs/jaxgcrl_arm.yaml's schedule: one update per 2 env steps (JaxGCRL's UTD 1:2 on its arm tasks)"""


def goal_spread(goals: jax.Array) -> jax.Array:
    """(B, goal_dim) hindsight goals -> (): mean over dimensions of the std over the batch."""
    return jnp.mean(jnp.std(goals, axis=0))


def ended_episode_counts(done: jax.Array, goal_moved: jax.Array) -> dict[str, jax.Array]:
    """Sums over one collection (T, E): episodes that ended, and those of them whose object moved.

    done (T, E): 1.0 where the step ended its episode; goal_moved (T, E): the env's
    metrics['goal_moved'] at that step (the ended episode's flag on its last step)."""
    done = done.astype(jnp.float32)
    return {ENDED: jnp.sum(done), ENDED_MOVED: jnp.sum(done * goal_moved)}


def split_episode_counts(sums: dict[str, jax.Array]) -> tuple[dict[str, jax.Array], dict[str, jax.Array]]:
    """(the episode counts ENDED, ENDED_MOVED of an epoch's metric sums, the other sums)."""
    counts = {k: v for k, v in sums.items() if k in (ENDED, ENDED_MOVED)}
    return counts, {k: v for k, v in sums.items() if k not in counts}


def goal_moved(counts: dict[str, jax.Array], env_info: dict) -> dict[str, jax.Array]:
    """{GOAL_MOVED: share in [0, 1]} from the epoch's summed `counts` ({} without them: no object).

    `env_info` is the training env state's info at the end of the epoch; its running episodes count
    too when they have taken a step (steps > 0):
        goal_moved = (ended_moved + sum(running * info['goal_moved'])) / (ended + sum(running))
    Every env contributes at least one episode, so the denominator is >= num_envs."""
    if not counts:
        return {}
    running = (env_info["steps"] > 0).astype(jnp.float32)  # (E,)
    moved = counts[ENDED_MOVED] + jnp.sum(running * env_info["goal_moved"])
    return {GOAL_MOVED: moved / jnp.maximum(counts[ENDED] + jnp.sum(running), 1.0)}


def check_epoch(num_epochs: int) -> int:
    """The 1-based epoch after which the warning is checked: ceil(CHECK_SHARE * num_epochs), >= 1."""
    return max(1, math.ceil(CHECK_SHARE * num_epochs))


def levers(cfg, env) -> list[str]:
    """The levers against still goals that `cfg` does not use yet, as command-line flags."""
    out = []
    if "object_and_hand" in env.goal_spaces() and env.goal_space != "object_and_hand":
        out.append("--goal_space object_and_hand")
    if getattr(env, "hand_start", None) == "random":
        out.append("--env_options hand_start=near_object (the hand starts beside the object)")
    if not cfg.single_goal:
        out.append("--single_goal True")
    if cfg.buffer.random_goal_prob == 0.0:
        out.append("--buffer.random_goal_prob 0.5")
    if cfg.updates_per_env_step < JAXGCRL_ARM_UPDATES_PER_ENV_STEP:
        out.append("JaxGCRL's arm schedule --config configs/jaxgcrl_arm.yaml (1 update per 2 env steps, "
                   "256x2 networks with LayerNorm)")
    return out


def still_goals_warning(cfg, env, epoch: int, seed_metrics: list[dict]) -> str | None:
    """The warning line when `epoch` (1-based, just finished) is check_epoch(cfg.num_epochs), `env`
    has an object and the mean over seeds of train/goal_moved is below STILL_BELOW; else None."""
    if epoch != check_epoch(cfg.num_epochs) or not any(GOAL_MOVED in m for m in seed_metrics):
        return None
    moved = sum(float(m[GOAL_MOVED]) for m in seed_metrics) / len(seed_metrics)
    if moved >= STILL_BELOW:
        return None
    spread = sum(float(m.get(GOAL_SPREAD, math.nan)) for m in seed_metrics) / len(seed_metrics)
    return (f"crlx warning: {GOAL_MOVED} = {moved:.3f} (the object moved in {moved:.1%} of the training episodes, "
            f"below {STILL_BELOW}) and {GOAL_SPREAD} = {spread:.4g} after {epoch} of {cfg.num_epochs} epochs: the "
            f"hindsight goals are the object at rest, so the critic can tell them apart without learning to move it "
            f"(docs/LEARNING.md, diagnoses). Levers: {'; '.join(levers(cfg, env))}.")


def warn_if_goals_still(cfg, env, epoch: int, seed_metrics: list[dict],
                        write: Callable[[str], None] | None = None) -> str | None:
    """Write `still_goals_warning` (to stderr by default) when there is one; returns it."""
    line = still_goals_warning(cfg, env, epoch, seed_metrics)
    if line is not None:
        (write or (lambda text: print(text, file=sys.stderr, flush=True)))(line)
    return line
