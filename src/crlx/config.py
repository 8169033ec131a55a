"""The frozen config tree. tyro builds the CLI from it; field docstrings are the `--help`.

Derived values are properties. `validate()` raises `ConfigError` naming the field and what to
change, before anything compiles.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Literal, get_args
from typing import get_origin as typing_origin

import numpy as np

from crlx.contrastive import ContrastiveLoss
from crlx.energy import Energy

ComputeDtype = Literal["float32", "bfloat16"]
Activation = Literal["swish", "relu", "gelu", "tanh", "elu"]
GoalStrategy = Literal["geometric", "uniform_future", "final"]
PrefillActions = Literal["uniform", "policy"]
WandbMode = Literal["online", "offline", "disabled"]
Scale = Literal["auto", "cpu", "gpu"]


class ConfigError(ValueError):
    """A config value that cannot work; the message names the field and the fix."""


@dataclass(frozen=True)
class NetworkConfig:
    """A residual MLP: Dense(width) -> [LayerNorm] -> act, then depth/block_size residual blocks
    of block_size x (Dense -> [LayerNorm] -> act) + identity, then the output Dense."""

    width: int = 256
    """hidden width of every Dense layer"""
    depth: int = 2
    """Dense layers inside residual blocks (must be a multiple of block_size)"""
    block_size: int = 2
    """Dense layers per residual block (the skip connection spans this many)"""
    layer_norm: bool = True
    """LayerNorm after every hidden Dense"""
    activation: Activation = "swish"
    """hidden activation"""
    compute_dtype: ComputeDtype = "float32"
    """dtype of hidden-layer compute; bfloat16 speeds up GPUs (params, outputs and losses stay float32)"""
    residual: bool = True
    """skip connections around each block; False: a plain MLP of 1 + depth hidden Dense layers"""
    init_scale: float = 1.0
    """kernel init variance_scaling(init_scale, fan_in, uniform): 1.0 is lecun_uniform, 1/3 JaxGCRL's"""

    @property
    def num_blocks(self) -> int:
        return self.depth // self.block_size


@dataclass(frozen=True)
class CriticConfig(NetworkConfig):
    """Encoders phi(s, a) and psi(g), each a residual MLP with output size repr_dim."""

    repr_dim: int = 64
    """representation size of phi(s, a) and psi(g)"""


@dataclass(frozen=True)
class ActorConfig(NetworkConfig):
    """Tanh-Gaussian policy pi(a | s, g)."""

    min_log_std: float = -5.0
    """lower bound of the policy's log standard deviation (smooth tanh squashing)"""
    max_log_std: float = 2.0
    """upper bound of the policy's log standard deviation"""


@dataclass(frozen=True)
class LossConfig:
    """Contrastive critic and SAC-style actor objectives."""

    energy: Energy = "l2"
    """critic energy f(phi, psi) -> logits; see crlx.energy"""
    contrastive: ContrastiveLoss = "infonce"
    """contrastive loss over the (B, B) logits; see crlx.contrastive"""
    logsumexp_penalty: float = 0.1
    """coefficient c of the penalty c * mean_i(logsumexp_j logits_ij)^2"""
    temperature: float = 1.0
    """logits = energy / temperature (initial value when learn_temperature)"""
    learn_temperature: bool = False
    """learn log(temperature) with the critic"""
    auto_entropy: bool = True
    """tune alpha so that policy entropy tracks target_entropy; False keeps alpha = init_alpha"""
    init_alpha: float = 1.0
    """initial (or fixed, without auto_entropy) entropy coefficient alpha"""
    target_entropy_per_dim: float = -0.5
    """target entropy = target_entropy_per_dim * action_dim"""


@dataclass(frozen=True)
class BufferConfig:
    """Per-env time-ordered ring of transitions with hindsight future-state goals."""

    max_replay_size: int = 10_000
    """ring length per env in time steps; total capacity = max_replay_size * num_envs"""
    min_replay_size: int = 1_000
    """time steps per env collected with random actions before training starts"""
    goal_strategy: GoalStrategy = "geometric"
    """future-state goal: geometric (P(k) ~ discount^(k-1), truncated at episode end),
    uniform_future (uniform over the rest of the episode), final (last state of the episode)"""
    random_goal_prob: float = 0.0
    """probability of replacing the actor loss's goal by the achieved goal of a random buffer state
    (the critic always trains on hindsight goals of the same episode)"""
    prefill_actions: PrefillActions = "uniform"
    """actions of the prefill: uniform in [-1, 1], or the initial stochastic policy (JaxGCRL's)"""


@dataclass(frozen=True)
class LogConfig:
    """Host-side outputs."""

    run_dir: str = "runs"
    """parent folder of the run directory (config.json, metrics.jsonl, wandb files)"""
    run_name: str | None = None
    """run directory name and wandb run name (one name, no '/'); default <env>-<contrastive>-<energy>-s<seed>-
    <date>-<time>-<milliseconds>-<hash of the config>, unique per run"""
    wandb_project: str = "crlx"
    """wandb project"""
    wandb_group: str | None = None
    """wandb group"""
    wandb_tags: tuple[str, ...] = ()
    """wandb tags"""
    progress: bool = True
    """show a progress bar with env steps, steps/s and ETA"""
    plots: bool = True
    """write learning_curves.png (eval/success, critic/accuracy vs env steps) into the run dir at the end"""
    video: str = ""
    """render one deterministic evaluation episode at the end to this file in the run dir (e.g.
    rollout.mp4 or rollout.gif; also logged to wandb); empty: no video. Needs headless GL (EGL or
    OSMesa) for MuJoCo scenes, else a 2-D top view is drawn"""


@dataclass(frozen=True)
class CheckpointConfig:
    """Orbax checkpoints of the whole TrainState under <run dir>/checkpoints."""

    every: int = 10
    """save every N epochs, after the last one and when SIGINT / SIGTERM stops the run; 0 disables checkpoints"""
    every_minutes: float = 5.0
    """also save after an epoch that ends this many minutes after the last save; 0: only every N epochs"""
    buffer: bool = True
    """include the replay buffer (needed for a bit-identical resume; most of a checkpoint's size: config.json's
    derived.checkpoint_buffer_bytes, and the start-up lines)"""
    keep: int = 2
    """number of newest checkpoints kept on disk"""


@dataclass(frozen=True)
class WandbConfig:
    """Weights & Biases logging."""

    mode: WandbMode = "disabled"
    """online, offline (files only, sync later) or disabled"""


@dataclass(frozen=True)
class Config:
    """Everything a crlx training run needs.

    crlx's defaults: JaxGCRL's sizes and rates (256 envs, unroll 62, batch 256, lr 3e-4, repr 64,
    logsumexp penalty 0.1, l2 energy, forward InfoNCE) with crlx's own schedule and networks: 62 updates
    per 256 x 62 env steps (1.0 sampled transition per env step; JaxGCRL: 16.1) and residual MLPs with
    LayerNorm (JaxGCRL: 2 plain Dense layers). configs/jaxgcrl.yaml is JaxGCRL's setting;
    docs/JAXGCRL.md compares the two. `Config.for_env(name)` adds the env's training defaults."""

    env: str = "ant"
    """registered env name (see crlx.ENVS)"""
    episode_length: int | None = None
    """override the env's episode length (default: the env's own)"""
    success_threshold: float | None = None
    """override the env's success threshold (default: the env's own)"""
    backend: str | None = None
    """override the env's physics backend, e.g. mjx or generalized (default: the env's own)"""
    goal_space: str | None = None
    """the env's goal space (achieved-goal function), e.g. ball_and_torso for ant_light_ball (default: the env's first)"""
    env_options: tuple[str, ...] = ()
    """any other constructor option of the env as NAME=VALUE, e.g. `--env_options goal_distance=5.0`
    (YAML: a mapping); typed by the option's default; `crlx.envs.env_options(NAME)` lists them"""
    single_goal: bool = False
    """SGCRL (Liu et al. 2024): every rollout and evaluation commands one fixed goal, the goal the
    env's reset draws from a key of (seed, env name); the critic and actor still train on hindsight
    future-state goals (crlx.single_goal). With num_seeds > 1 the seeds share the goal of `seed`"""
    scale: Scale = "auto"
    """run scale: "cpu" (the env's training defaults, sized for a CPU), "gpu" (num_envs raised to at
    least 1024, updates_per_iteration and num_eval_envs by the same factor: the same update-to-data
    ratio), or "auto" (gpu when JAX's default backend is an accelerator); resolved by
    `Config.for_env` and the CLI, recorded resolved in config.json"""
    seed: int = 0
    """PRNG seed for networks, envs and sampling"""
    num_seeds: int = 1
    """independent agents trained together in one process (vmapped: one compile; each its own
    networks, envs and buffer) with seeds seed, seed+1, ...; each logs to <run dir>/seed_<s>/"""
    num_devices: int = 1
    """devices to train on (0 = all). With one seed: data parallel, envs, buffer and batch
    split over devices, gradients of the global batch; with num_seeds > 1: seeds split over devices"""
    total_env_steps: int = 10_000_000
    """training env steps (excluding prefill); rounded up to whole iterations per epoch"""
    num_epochs: int = 50
    """number of jitted epochs; evaluation and logging happen after each"""
    num_envs: int = 256
    """parallel training envs"""
    unroll_length: int = 62
    """env steps per env collected in one iteration"""
    batch_size: int = 256
    """transitions per gradient update (also the number of negatives + 1 in the (B, B) logits)"""
    updates_per_iteration: int = 62
    """gradient updates after each collection of num_envs * unroll_length env steps; the
    update-to-data ratio is updates_per_iteration * batch_size / (num_envs * unroll_length)
    sampled transitions per env step (1.0 with the defaults)"""
    discount: float = 0.99
    """discount gamma of the geometric future-goal distribution"""
    actor_lr: float = 3e-4
    """Adam learning rate of the actor"""
    critic_lr: float = 3e-4
    """Adam learning rate of the critic"""
    alpha_lr: float = 3e-4
    """Adam learning rate of log(alpha)"""
    num_eval_envs: int = 128
    """envs in each deterministic evaluation (one fresh episode each)"""
    eval_sampled: bool = False
    """also evaluate the training policy's sampled actions on the same episodes, logged as
    eval/success_sampled etc. (JaxGCRL's published ant curves evaluated sampled actions; eval/success
    is the deterministic tanh(mean) policy, as in JaxGCRL 0.2.8)"""
    actor: ActorConfig = field(default_factory=ActorConfig)
    critic: CriticConfig = field(default_factory=CriticConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    buffer: BufferConfig = field(default_factory=BufferConfig)
    log: LogConfig = field(default_factory=LogConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)

    # ---- derived values -------------------------------------------------------------------
    @property
    def env_steps_per_iteration(self) -> int:
        return self.num_envs * self.unroll_length

    @property
    def iterations_per_epoch(self) -> int:
        """ceil(total_env_steps / (num_epochs * env_steps_per_iteration)), at least 1."""
        return max(1, math.ceil(self.total_env_steps / (self.num_epochs * self.env_steps_per_iteration)))

    @property
    def env_steps_per_epoch(self) -> int:
        return self.iterations_per_epoch * self.env_steps_per_iteration

    @property
    def planned_env_steps(self) -> int:
        """training env steps actually run (>= total_env_steps)."""
        return self.num_epochs * self.env_steps_per_epoch

    @property
    def update_to_data_ratio(self) -> float:
        """sampled transitions per collected env step."""
        return self.updates_per_iteration * self.batch_size / self.env_steps_per_iteration

    @property
    def seeds_batched(self) -> bool:
        """The one switch between crlx's two ways of using devices: True (num_seeds > 1) vmaps
        num_seeds independent agents and splits the seeds over devices; False trains one agent,
        data parallel (envs, buffer and batch split over devices)."""
        return self.num_seeds > 1

    @property
    def updates_per_env_step(self) -> float:
        """gradient updates per collected env step (JaxGCRL's CRL: 0.063)."""
        return self.updates_per_iteration / self.env_steps_per_iteration

    @property
    def prefill_iterations(self) -> int:
        """random-action iterations of unroll_length steps that reach min_replay_size per env."""
        return math.ceil(self.buffer.min_replay_size / self.unroll_length)

    def env_overrides(self) -> dict:
        """Keyword overrides passed to `make_env`: the four top-level env fields that are set, then
        env_options ("NAME=VALUE", converted to the type of the option's default)."""
        out = {}
        for name in ENV_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(parse_env_options(self.env, self.env_options))
        return out

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, base: "Config | None" = None, source: str = "config") -> "Config":
        """Build a Config from nested dicts (e.g. YAML or config.json) over `base` (default: defaults).

        Unknown keys raise ConfigError naming the key and `source`; the 'derived' and 'sources' sections
        of a config.json are ignored.
        """
        return _merge(base or cls(), {k: v for k, v in data.items() if k not in ("derived", "sources")}, source, "")

    @classmethod
    def for_env(cls, env: str, scale: str = "auto", **changes) -> "Config":
        """crlx's defaults, then env `env`'s training defaults (crlx.envs.training_defaults) at the run
        scale (`scale`; "auto" resolved from the device), then `changes` (top-level fields): what
        `python -m crlx.train --env NAME` starts from."""
        from crlx.envs.training_defaults import at_scale, resolve_scale, training_defaults

        scale = resolve_scale(scale)
        base = cls.from_dict(training_defaults(env), base=cls(env=env), source=f"{env}'s training defaults")
        return at_scale(base, scale).replace(**changes)

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)

    @property
    def devices(self) -> int:
        """Devices the run uses: num_devices, or every device when it is 0 (all processes' devices
        after jax.distributed.initialize())."""
        import jax

        return self.num_devices or jax.device_count()

    def validate(self) -> "Config":
        """Raise ConfigError for any field value that cannot work; returns self for chaining.

        A pure check of the config's values (types, ranges, choices, env name and env option names);
        it builds nothing. What needs the built env or the machine (option values an env rejects,
        device counts, GL for videos) is checked by `crlx.preflight.prepare` before anything compiles.
        """
        from crlx.contrastive import LOSSES
        from crlx.energy import ENERGIES
        from crlx.envs import ENVS, unknown_env_message

        _check_types(self, "")
        if self.env not in ENVS:
            raise ConfigError(unknown_env_message(self.env))
        positive = {
            "total_env_steps": self.total_env_steps,
            "num_epochs": self.num_epochs,
            "num_seeds": self.num_seeds,
            "num_envs": self.num_envs,
            "unroll_length": self.unroll_length,
            "batch_size": self.batch_size,
            "updates_per_iteration": self.updates_per_iteration,
            "num_eval_envs": self.num_eval_envs,
            "buffer.max_replay_size": self.buffer.max_replay_size,
            "buffer.min_replay_size": self.buffer.min_replay_size,
            "actor_lr": self.actor_lr,
            "critic_lr": self.critic_lr,
            "alpha_lr": self.alpha_lr,
            "loss.temperature": self.loss.temperature,
            "loss.init_alpha": self.loss.init_alpha,
            "checkpoint.keep": self.checkpoint.keep,
        }
        if self.episode_length is not None:
            positive["episode_length"] = self.episode_length
        if self.success_threshold is not None:
            positive["success_threshold"] = self.success_threshold
        for prefix, net in (("actor", self.actor), ("critic", self.critic)):
            positive[f"{prefix}.width"] = net.width
            positive[f"{prefix}.depth"] = net.depth
            positive[f"{prefix}.block_size"] = net.block_size
            positive[f"{prefix}.init_scale"] = net.init_scale
        positive["critic.repr_dim"] = self.critic.repr_dim
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be > 0, got {value}.")
        if self.num_devices < 0:
            raise ConfigError(f"num_devices must be >= 0 (0 = every device), got {self.num_devices}.")
        for prefix, net in (("actor", self.actor), ("critic", self.critic)):
            if net.depth % net.block_size:
                raise ConfigError(
                    f"{prefix}.depth={net.depth} is not a multiple of {prefix}.block_size={net.block_size}; "
                    f"set {prefix}.depth to a multiple such as {net.block_size * max(1, net.num_blocks)}."
                )
        choices = {
            "loss.energy": (self.loss.energy, sorted(ENERGIES)),
            "loss.contrastive": (self.loss.contrastive, sorted(LOSSES)),
            "buffer.goal_strategy": (self.buffer.goal_strategy, get_args(GoalStrategy)),
            "buffer.prefill_actions": (self.buffer.prefill_actions, get_args(PrefillActions)),
            "wandb.mode": (self.wandb.mode, get_args(WandbMode)),
            "scale": (self.scale, get_args(Scale)),
        }
        for prefix, net in (("actor", self.actor), ("critic", self.critic)):
            choices[f"{prefix}.activation"] = (net.activation, get_args(Activation))
            choices[f"{prefix}.compute_dtype"] = (net.compute_dtype, get_args(ComputeDtype))
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                lowered = {str(a).lower(): a for a in allowed}
                close = difflib.get_close_matches(str(value).lower(), list(lowered), n=1, cutoff=0.5)
                hint = f" Did you mean {lowered[close[0]]!r}?" if close else ""
                raise ConfigError(f"{name}: unknown value {value!r}.{hint} Choose from {list(allowed)}.")
        if self.actor.min_log_std >= self.actor.max_log_std:
            raise ConfigError(
                f"actor.min_log_std={self.actor.min_log_std} must be < actor.max_log_std={self.actor.max_log_std}."
            )
        if not 0.0 < self.discount < 1.0:
            raise ConfigError(f"discount must be in (0, 1), got {self.discount}.")
        if float(np.float32(self.discount)) >= 1.0:
            raise ConfigError(
                f"discount={self.discount} rounds to 1.0 in float32, the dtype training uses (every geometric goal "
                f"would be the next state); use at most {float(np.nextafter(np.float32(1), np.float32(0))):.8f}."
            )
        # TrainState.env_steps and .updates are int32, and the eval key folds in the env steps
        limit = 2**31 - 1
        if self.total_env_steps > limit or self.planned_env_steps > limit:
            rounded = "" if self.planned_env_steps == self.total_env_steps else (
                f" (rounded up to whole epochs: {self.planned_env_steps:,})")
            raise ConfigError(
                f"total_env_steps={self.total_env_steps:,}{rounded} does not fit the int32 step counter (at most "
                f"{limit:,}); train fewer env steps per run."
            )
        updates = self.num_epochs * self.iterations_per_epoch * self.updates_per_iteration
        if updates > limit:
            raise ConfigError(
                f"updates_per_iteration={self.updates_per_iteration}: the run would make {updates:,} updates, more than "
                f"the int32 update counter holds ({limit:,}); lower updates_per_iteration or total_env_steps."
            )
        name = self.log.run_name
        if name is not None and (not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0")):
            raise ConfigError(
                f"log.run_name must be one directory name (no '/', '\\', '.' or '..'; it is created under "
                f"log.run_dir), got {name!r}; put the parent folders in --log.run_dir."
            )
        if self.checkpoint.every_minutes < 0:
            raise ConfigError(
                f"checkpoint.every_minutes must be >= 0 (0: only every checkpoint.every epochs), got "
                f"{self.checkpoint.every_minutes}."
            )
        if not 0.0 <= self.buffer.random_goal_prob <= 1.0:
            raise ConfigError(f"buffer.random_goal_prob must be in [0, 1], got {self.buffer.random_goal_prob}.")
        if self.loss.logsumexp_penalty < 0:
            raise ConfigError(f"loss.logsumexp_penalty must be >= 0, got {self.loss.logsumexp_penalty}.")
        if self.log.video and not self.log.video.endswith((".mp4", ".gif")):
            raise ConfigError(f"log.video must end in .mp4 or .gif (or be empty), got {self.log.video!r}.")
        if self.checkpoint.every < 0:
            raise ConfigError(f"checkpoint.every must be >= 0 (0 disables checkpoints), got {self.checkpoint.every}.")
        if self.buffer.min_replay_size > self.buffer.max_replay_size:
            raise ConfigError(
                f"buffer.min_replay_size={self.buffer.min_replay_size} exceeds buffer.max_replay_size="
                f"{self.buffer.max_replay_size}; lower min_replay_size or raise max_replay_size."
            )
        if self.unroll_length > self.buffer.max_replay_size:
            raise ConfigError(
                f"unroll_length={self.unroll_length} exceeds buffer.max_replay_size={self.buffer.max_replay_size}: "
                "one iteration would overwrite itself; raise buffer.max_replay_size."
            )
        held = self.buffer.max_replay_size * self.num_envs
        if self.batch_size > held:
            raise ConfigError(
                f"batch_size={self.batch_size} is larger than the buffer can hold "
                f"(buffer.max_replay_size * num_envs = {held}); lower batch_size or raise the buffer size."
            )
        if self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2 for contrastive negatives, got {self.batch_size}.")
        if self.loss.energy == "mrn" and self.critic.repr_dim % 2:
            raise ConfigError(
                f"loss.energy='mrn' needs an even critic.repr_dim, got {self.critic.repr_dim}."
            )
        parse_env_options(self.env, self.env_options)
        return self


ENV_FIELDS = ("episode_length", "success_threshold", "backend", "goal_space")
"""top-level Config fields that are env constructor options"""


def parse_env_options(env: str, options: tuple[str, ...]) -> dict:
    """("NAME=VALUE", ...) -> {NAME: value}, each value converted to the type of the env option's
    default (bool: true/false; tuple: comma-separated). ConfigError naming the option otherwise."""
    import inspect

    from crlx.envs import ENVS

    parameters = inspect.signature(ENVS[env]).parameters
    out = {}
    for item in options:
        name, sep, text = str(item).partition("=")
        name = name.strip()
        if not sep:
            raise ConfigError(f"env_options: {item!r} is not NAME=VALUE, e.g. goal_distance=5.0.")
        if name in ENV_FIELDS:
            raise ConfigError(f"env_options: set {name} with its own field (--{name}), not in env_options.")
        if name not in parameters:
            choices = [n for n in parameters if n not in ENV_FIELDS]
            close = difflib.get_close_matches(name, choices, n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(f"env_options: {env} has no option {name!r}.{hint} Its options: {choices}.")
        out[name] = _convert_option(env, name, text.strip(), parameters[name].default)
    return out


def _convert_option(env: str, name: str, text: str, default):
    where = f"env_options: {env}'s {name}"
    try:
        if isinstance(default, bool):
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, tuple):
            kind = type(default[0]) if default else str
            return tuple(kind(part.strip()) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{where} takes a {type(default).__name__} (default {default!r}), got {text!r}.") from None
    if text.lower() == "none" and default is None:
        return None
    return text


def _check_types(node, prefix: str) -> None:
    """Every field holds a value of its annotated kind (YAML can put a str where a number belongs),
    and every float is finite (inf and nan parse as floats from flags and YAML)."""
    import typing

    hints = typing.get_type_hints(type(node))
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            _check_types(value, f"{prefix}{f.name}.")
            continue
        kinds = _kinds(hints[f.name])
        if kinds and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            names = " or ".join(sorted({k.__name__ for k in kinds}))
            raise ConfigError(f"{prefix}{f.name} must be {names}, got {value!r} ({type(value).__name__}).")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{prefix}{f.name} must be a finite number, got {value}.")


def _kinds(hint) -> tuple[type, ...]:
    """The runtime types a field annotation admits (int admits no bool; float admits int)."""
    origin = typing_origin(hint)
    if origin is Literal:
        return tuple({type(a) for a in get_args(hint)})
    if origin in (types.UnionType, typing.Union):
        return tuple(k for arg in get_args(hint) for k in _kinds(arg))
    if origin is tuple:
        return (tuple,)
    if hint is type(None):
        return (type(None),)
    if hint is float:
        return (float, int)
    if isinstance(hint, type):
        return (hint,)
    return ()


def field_values(node, prefix: str = "") -> dict:
    """{dotted field name: value} over every leaf field of a config tree."""
    out = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            out.update(field_values(value, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = value
    return out


def value_sources(cfg: Config, layers: dict[str, Config] | None = None, last: str = "user") -> dict[str, str]:
    """{dotted field: the source that set it}: "crlx" (Config defaults), "env" (the env's training
    defaults), "device" (the run scale, crlx.envs.training_defaults.at_scale), each later layer by
    name (e.g. {"config": the config after --config FILE}), and `last`
    for what differs from every layer ("flag" on the command line, "user" from Python).

    A source "sets" a field when its value differs from the one below it."""
    env_card = Config.for_env(cfg.env, scale="cpu").replace(scale=Config.scale)  # the card before any scale
    stack = [("crlx", Config(env=cfg.env)), ("env", env_card),
             ("device", Config.for_env(cfg.env, scale=cfg.scale)), *(layers or {}).items()]
    stack.append((last, cfg))
    values = [(name, field_values(layer)) for name, layer in stack]
    out = {}
    for key in values[0][1]:
        source, below = values[0][0], values[0][1][key]
        for name, layer in values[1:]:
            if layer[key] != below:
                source, below = name, layer[key]
        out[key] = source
    return out


def _merge(node, data: dict, source: str, prefix: str):
    """Recursively replace dataclass fields of `node` by the values in `data` (strict keys)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'top level'} must be a mapping, got {data!r}.")
    fields = {f.name: f for f in dataclasses.fields(node)}
    changes = {}
    for key, value in data.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"{source}: unknown field {prefix + key!r}.{hint}")
        current = getattr(node, key)
        if key == "env_options" and isinstance(value, dict):  # YAML: {goal_distance: 5.0, ...}
            value = [f"{k}={','.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in value.items()]
        if dataclasses.is_dataclass(current):
            changes[key] = _merge(current, value, source, f"{prefix}{key}.")
        elif isinstance(value, list):
            changes[key] = tuple(value)
        else:
            changes[key] = value
    return dataclasses.replace(node, **changes)
