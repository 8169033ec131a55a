"""The frozen config tree. tyro builds the CLI from it; field docstrings are the `--help`.

Derived values are properties. `validate()` raises `ConfigError` naming the field and what to
change, before anything compiles.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from crlx.contrastive import ContrastiveLoss
from crlx.energy import Energy

ComputeDtype = Literal["float32", "bfloat16"]
Activation = Literal["swish", "relu", "gelu", "tanh", "elu"]
GoalStrategy = Literal["geometric", "uniform_future", "final"]
WandbMode = Literal["online", "offline", "disabled"]


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
    """probability of replacing the future goal by the achieved goal of a random buffer state"""


@dataclass(frozen=True)
class LogConfig:
    """Host-side outputs."""

    run_dir: str = "runs"
    """parent folder of the run directory (config.json, metrics.jsonl, wandb files)"""
    run_name: str | None = None
    """run directory name and wandb run name; default <env>-<contrastive>-<energy>-s<seed>-<time>"""
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
    """save every N epochs and after the last one; 0 disables checkpoints"""
    buffer: bool = True
    """include the replay buffer (needed for a bit-identical resume; large: see config.json sizes)"""
    keep: int = 2
    """number of newest checkpoints kept on disk"""


@dataclass(frozen=True)
class WandbConfig:
    """Weights & Biases logging."""

    mode: WandbMode = "disabled"
    """online, offline (files only, sync later) or disabled"""


@dataclass(frozen=True)
class Config:
    """Everything a crlx training run needs. Defaults follow JaxGCRL's CRL on ant."""

    env: str = "ant"
    """registered env name (see crlx.ENVS)"""
    episode_length: int | None = None
    """override the env's episode length (default: the env's own)"""
    success_threshold: float | None = None
    """override the env's success threshold (default: the env's own)"""
    backend: str | None = None
    """override the env's physics backend, e.g. mjx or generalized (default: the env's own)"""
    goal_space: str | None = None
    """the env's goal space (achieved-goal function), e.g. ball_and_torso for ant_ball (default: the env's first)"""
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
    def prefill_iterations(self) -> int:
        """random-action iterations of unroll_length steps that reach min_replay_size per env."""
        return math.ceil(self.buffer.min_replay_size / self.unroll_length)

    def env_overrides(self) -> dict:
        """Keyword overrides passed to `make_env` (only the ones set)."""
        out = {}
        for name in ("episode_length", "success_threshold", "backend", "goal_space"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, base: "Config | None" = None, source: str = "config") -> "Config":
        """Build a Config from nested dicts (e.g. YAML or config.json) over `base` (default: defaults).

        Unknown keys raise ConfigError naming the key and `source`; a 'derived' section is ignored.
        """
        return _merge(base or cls(), {k: v for k, v in data.items() if k != "derived"}, source, "")

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)

    @property
    def devices(self) -> int:
        """Devices the run uses: num_devices, or every device when it is 0 (all processes' devices
        after jax.distributed.initialize())."""
        import jax

        return self.num_devices or jax.device_count()

    def _validate_devices(self) -> None:
        import jax

        available = jax.device_count()
        if self.num_devices < 0 or self.num_devices > available:
            raise ConfigError(
                f"num_devices={self.num_devices} but {available} device(s) are visible "
                f"({jax.default_backend()}); set num_devices between 1 and {available}, or 0 for all."
            )
        n = self.devices
        if self.num_seeds > 1:
            if self.num_seeds % n:
                raise ConfigError(
                    f"num_seeds={self.num_seeds} is not a multiple of num_devices={n}: with several seeds the "
                    "devices split the seeds; choose num_seeds as a multiple of num_devices."
                )
            return
        for name in ("num_envs", "batch_size", "num_eval_envs"):
            value = getattr(self, name)
            if value % n:
                raise ConfigError(
                    f"{name}={value} is not a multiple of num_devices={n}: data-parallel training splits it over "
                    f"devices; set {name} to a multiple such as {n * max(1, value // n)}."
                )

    def validate(self) -> "Config":
        """Raise ConfigError for values that cannot work; returns self for chaining."""
        from crlx.envs import ENVS, unknown_env_message

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
        }
        if self.episode_length is not None:
            positive["episode_length"] = self.episode_length
        if self.success_threshold is not None:
            positive["success_threshold"] = self.success_threshold
        for prefix, net in (("actor", self.actor), ("critic", self.critic)):
            positive[f"{prefix}.width"] = net.width
            positive[f"{prefix}.depth"] = net.depth
            positive[f"{prefix}.block_size"] = net.block_size
        positive["critic.repr_dim"] = self.critic.repr_dim
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be > 0, got {value}.")
        self._validate_devices()
        for prefix, net in (("actor", self.actor), ("critic", self.critic)):
            if net.depth % net.block_size:
                raise ConfigError(
                    f"{prefix}.depth={net.depth} is not a multiple of {prefix}.block_size={net.block_size}; "
                    f"set {prefix}.depth to a multiple such as {net.block_size * max(1, net.num_blocks)}."
                )
        for prefix, net in (("actor", self.actor), ("critic", self.critic)):
            if net.compute_dtype not in get_args(ComputeDtype):
                raise ConfigError(
                    f"{prefix}.compute_dtype must be one of {get_args(ComputeDtype)}, got {net.compute_dtype!r}."
                )
        if self.actor.min_log_std >= self.actor.max_log_std:
            raise ConfigError(
                f"actor.min_log_std={self.actor.min_log_std} must be < actor.max_log_std={self.actor.max_log_std}."
            )
        if not 0.0 < self.discount < 1.0:
            raise ConfigError(f"discount must be in (0, 1), got {self.discount}.")
        if not 0.0 <= self.buffer.random_goal_prob <= 1.0:
            raise ConfigError(f"buffer.random_goal_prob must be in [0, 1], got {self.buffer.random_goal_prob}.")
        if self.loss.logsumexp_penalty < 0:
            raise ConfigError(f"loss.logsumexp_penalty must be >= 0, got {self.loss.logsumexp_penalty}.")
        if self.log.video and not self.log.video.endswith((".mp4", ".gif")):
            raise ConfigError(f"log.video must end in .mp4 or .gif (or be empty), got {self.log.video!r}.")
        if self.checkpoint.every < 0:
            raise ConfigError(f"checkpoint.every must be >= 0 (0 disables checkpoints), got {self.checkpoint.every}.")
        if self.checkpoint.keep < 1:
            raise ConfigError(f"checkpoint.keep must be >= 1, got {self.checkpoint.keep}.")
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
        from crlx.contrastive import LOSSES
        from crlx.energy import ENERGIES

        if self.loss.energy not in ENERGIES:
            raise ConfigError(f"loss.energy: unknown energy {self.loss.energy!r}; choose from {sorted(ENERGIES)}.")
        if self.loss.contrastive not in LOSSES:
            raise ConfigError(f"loss.contrastive: unknown loss {self.loss.contrastive!r}; choose from {sorted(LOSSES)}.")
        if self.wandb.mode not in get_args(WandbMode):
            raise ConfigError(f"wandb.mode must be one of {get_args(WandbMode)}, got {self.wandb.mode!r}.")
        try:
            from crlx.envs import MetaWorldNotInstalled, make_env

            env = make_env(self.env, **self.env_overrides())
        except (ValueError, TypeError, MetaWorldNotInstalled) as err:
            raise ConfigError(str(err)) from err
        if self.log.video:
            from crlx.render import drawing_mode, gl_available

            if drawing_mode(env) == "2d" and env.goal_dim != 2:
                raise ConfigError(
                    f"log.video: {self.env} needs MuJoCo rendering (its goal has {env.goal_dim} dimensions, the 2-D "
                    f"fallback draws 2), which is unavailable here: {gl_available()[1]} Or leave log.video empty."
                )
        return self


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
        if dataclasses.is_dataclass(current):
            changes[key] = _merge(current, value, source, f"{prefix}{key}.")
        elif isinstance(value, list):
            changes[key] = tuple(value)
        else:
            changes[key] = value
    return dataclasses.replace(node, **changes)
