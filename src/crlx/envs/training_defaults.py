"""Per-env training hyperparameters, in the style of mujoco_playground's per-env training params,
and the run scale that sizes them for the device.

`training_defaults(name)` is a nested mapping of Config fields for the registered env `name`: every
rule whose pattern matches the name applies, in the order listed, later rules over earlier ones.
The rules are sized for a CPU; `at_scale(cfg, "gpu")` multiplies the envs of a run (with its updates
and eval envs, keeping the update-to-data ratio) to fill an accelerator.
Precedence of a run's values, lowest first: crlx's Config defaults < these < the run scale <
`--config FILE` < flags. Fields a rule does not name keep crlx's defaults (docs/ENVIRONMENTS.md,
"Training defaults").
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch

CPU_SCALE = {
    "num_envs": 32,
    "unroll_length": 50,
    "batch_size": 256,
    "updates_per_iteration": 25,
    "num_eval_envs": 128,
    "alpha_lr": 3.0e-3,
    "actor": {"width": 64},
    "critic": {"width": 64, "repr_dim": 16},
    "buffer": {"max_replay_size": 1000, "min_replay_size": 100},
}
"""the point_mass preset (configs/point_mass.yaml): eval success >= 0.9 in about 30 s on 2 CPU cores"""

JAXGCRL_CRL = {
    "updates_per_iteration": 1000,
    "num_eval_envs": 256,
    "actor": {"width": 256, "depth": 1, "block_size": 1, "residual": False, "layer_norm": False,
              "init_scale": 1 / 3},
    "critic": {"width": 256, "depth": 1, "block_size": 1, "residual": False, "layer_norm": False,
               "init_scale": 1 / 3, "repr_dim": 64},
    "buffer": {"prefill_actions": "policy"},
}
"""JaxGCRL 0.2.8's CRL schedule and networks at 256 envs (configs/jaxgcrl.yaml without its 50M-step
budget; docs/JAXGCRL.md): 1000 updates of 256 per 256 x 62 env steps (0.063 updates, 16.1 sampled
transitions per env step), two plain Dense(256) layers per network"""

RULES: tuple[tuple[str, dict, str], ...] = (
    ("ant", JAXGCRL_CRL,
     "JaxGCRL's CRL: on ant it learns ~10x faster per env step and per second than crlx's earlier "
     "default (1 sampled transition per env step, residual LayerNorm networks; docs/LEARNING.md)"),
    ("point_mass", {**CPU_SCALE, "total_env_steps": 96_000, "num_epochs": 12},
     "pure-JAX, 50-step episodes: the measured point_mass preset"),
    ("point_*_maze", {**CPU_SCALE, "num_envs": 64, "updates_per_iteration": 50, "total_env_steps": 2_000_000,
                      "num_epochs": 40, "actor": {"width": 128}, "critic": {"width": 128, "repr_dim": 32},
                      "buffer": {"max_replay_size": 2000, "min_replay_size": 100}},
     "pure-JAX kinematic mazes: the CPU preset's schedule at twice the envs and updates, wider networks"),
    ("simple_*_maze", {"total_env_steps": 10_000_000, "buffer": {"min_replay_size": 200}},
     "JaxGCRL's sphere mazes: crlx's defaults; a shorter prefill (cheap physics, long episodes)"),
    ("arm_*", {"buffer": {"max_replay_size": 4000, "min_replay_size": 200}},
     "100-200-step episodes: a buffer of 20-40 episodes per env"),
    ("arm_push_easy", {"goal_space": "object_and_hand", "env_options": ("hand_start=near_object",)},
     "the hand starts beside the cube and the goal holds the hand's offset: the cube moves in 0.6-0.7 of the "
     "training episodes and eval/success reaches 0.22-0.28 at 300k env steps (random 0.03), where the "
     "random start and the cube-only goal left the cube still (docs/LEARNING.md)"),
    ("planar_pusher_*", {"buffer": {"max_replay_size": 4000, "min_replay_size": 200}},
     "100-200-step episodes: a buffer of 20-40 episodes per env"),
    ("mw_*", {"num_envs": 128, "num_eval_envs": 64, "total_env_steps": 5_000_000,
              "buffer": {"max_replay_size": 5000, "min_replay_size": 500}},
     "Meta-World on MJX: the slowest physics per step; 500-step episodes, one in the prefill"),
)
"""(fnmatch pattern over env names, Config overrides, reason); envs no rule matches train with crlx's defaults"""


def _deep_update(base: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


GPU_NUM_ENVS = 1024
"""parallel envs of a run at the gpu scale, at least (JaxGCRL's ant figure used 1024)"""

ACCELERATORS = ("gpu", "cuda", "rocm", "tpu")


def resolve_scale(scale: str) -> str:
    """"cpu" or "gpu"; "auto" becomes "gpu" when JAX's default backend is an accelerator."""
    if scale != "auto":
        return scale
    import jax

    return "gpu" if jax.default_backend() in ACCELERATORS else "cpu"


def at_scale(cfg, scale: str):
    """`cfg` (sized for a CPU) at run scale `scale`, recorded in cfg.scale. At "gpu" a run with
    fewer than GPU_NUM_ENVS envs gets GPU_NUM_ENVS, and its updates_per_iteration and num_eval_envs
    are multiplied by the same factor (updates per env step unchanged)."""
    if scale != "gpu" or cfg.num_envs >= GPU_NUM_ENVS:
        return dataclasses.replace(cfg, scale=scale)
    factor = GPU_NUM_ENVS / cfg.num_envs
    return dataclasses.replace(
        cfg, scale=scale, num_envs=GPU_NUM_ENVS, updates_per_iteration=round(cfg.updates_per_iteration * factor),
        num_eval_envs=round(cfg.num_eval_envs * factor))


def training_defaults(name: str) -> dict:
    """The merged overrides of every rule matching env `name` ({} when none does)."""
    out: dict = {}
    for pattern, overrides, _ in RULES:
        if fnmatch.fnmatchcase(name, pattern):
            _deep_update(out, overrides)
    return out
