"""Config validation: each bad input raises ConfigError naming the field, before any compile."""

from __future__ import annotations

import dataclasses
import fnmatch
import re

import pytest

from crlx.config import (ActorConfig, BufferConfig, CheckpointConfig, Config, ConfigError, CriticConfig, LogConfig,
                         LossConfig, WandbConfig)
from crlx.preflight import prepare


def with_buffer(**kw):
    return {"buffer": BufferConfig(**kw)}


BAD = [
    ({"env": "reachr"}, "did you mean 'reacher'"),
    ({"env": "no_such_env_at_all"}, "unknown env 'no_such_env_at_all'"),
    ({"num_envs": 0}, "num_envs must be > 0"),
    ({"num_envs": -4}, "num_envs must be > 0"),
    ({"unroll_length": 0}, "unroll_length must be > 0"),
    ({"batch_size": -1}, "batch_size must be > 0"),
    ({"batch_size": 1}, "batch_size must be >= 2"),
    ({"updates_per_iteration": 0}, "updates_per_iteration must be > 0"),
    ({"total_env_steps": 0}, "total_env_steps must be > 0"),
    ({"num_epochs": 0}, "num_epochs must be > 0"),
    ({"actor_lr": 0.0}, "actor_lr must be > 0"),
    ({"discount": 1.0}, "discount must be in (0, 1)"),
    ({"episode_length": 0}, "episode_length must be > 0"),
    (with_buffer(max_replay_size=100, min_replay_size=200), "buffer.min_replay_size=200 exceeds buffer.max_replay_size=100"),
    (with_buffer(max_replay_size=5, min_replay_size=5), "unroll_length=62 exceeds buffer.max_replay_size=5"),
    ({"num_envs": 2, "unroll_length": 4, **with_buffer(max_replay_size=8, min_replay_size=4)}, "larger than the buffer can hold"),
    (with_buffer(random_goal_prob=1.5), "buffer.random_goal_prob must be in [0, 1]"),
    ({"critic": CriticConfig(depth=3, block_size=2)}, "critic.depth=3 is not a multiple of critic.block_size=2"),
    ({"critic": CriticConfig(repr_dim=0)}, "critic.repr_dim must be > 0"),
    ({"critic": CriticConfig(repr_dim=7), "loss": LossConfig(energy="mrn")}, "needs an even critic.repr_dim"),
    ({"loss": LossConfig(energy="l3")}, "loss.energy: unknown value 'l3'. Did you mean 'l2'?"),
    ({"loss": LossConfig(contrastive="nce")}, "loss.contrastive: unknown value 'nce'"),
    (with_buffer(goal_strategy="geometrc"), "buffer.goal_strategy: unknown value 'geometrc'. Did you mean 'geometric'?"),
    (with_buffer(prefill_actions="random"), "buffer.prefill_actions: unknown value 'random'"),
    ({"critic": CriticConfig(activation="swsh")}, "critic.activation: unknown value 'swsh'. Did you mean 'swish'?"),
    ({"actor": ActorConfig(compute_dtype="float16")}, "actor.compute_dtype: unknown value 'float16'"),
    ({"critic": CriticConfig(init_scale=0.0)}, "critic.init_scale must be > 0"),
    ({"num_envs": "64"}, "num_envs must be int, got '64' (str)"),
    ({"num_envs": True}, "num_envs must be int, got True (bool)"),
    ({"discount": "0.99"}, "discount must be float or int, got '0.99'"),
    ({"critic": CriticConfig(layer_norm="yes")}, "critic.layer_norm must be bool, got 'yes'"),
    ({"episode_length": 1.5}, "episode_length must be NoneType or int, got 1.5"),
    ({"num_devices": -1}, "num_devices must be >= 0"),
    ({"checkpoint": CheckpointConfig(keep=0)}, "checkpoint.keep must be > 0"),
    ({"log": LogConfig(video="rollout.avi")}, "log.video must end in .mp4 or .gif"),
    ({"wandb": WandbConfig(mode="onlin")}, "wandb.mode: unknown value 'onlin'. Did you mean 'online'?"),
    ({"env_options": ("goal_distanse=5",)}, "env_options: point_mass has no option 'goal_distanse'"),
    ({"env_options": ("episode_length=5",)}, "set episode_length with its own field"),
    ({"env_options": ("size",)}, "env_options: 'size' is not NAME=VALUE"),
    ({"loss": LossConfig(logsumexp_penalty=-1.0)}, "loss.logsumexp_penalty must be >= 0"),
    ({"loss": LossConfig(temperature=0.0)}, "loss.temperature must be > 0"),
    ({"env": "point_mass", "backend": "mjx"}, "point_mass: backend must be 'jax'"),
]


@pytest.mark.parametrize("changes,message", BAD, ids=[m for _, m in BAD])
def test_bad_config_names_the_field(changes, message):
    cfg = dataclasses.replace(Config(env="point_mass"), **changes)
    with pytest.raises(ConfigError) as info:
        prepare(cfg)
    assert message.lower() in str(info.value).lower()


def test_defaults_follow_jaxgcrl_and_validate():
    cfg = Config().validate()
    assert (cfg.num_envs, cfg.unroll_length, cfg.batch_size, cfg.discount) == (256, 62, 256, 0.99)
    assert (cfg.actor_lr, cfg.critic.repr_dim, cfg.critic.width, cfg.loss.logsumexp_penalty) == (3e-4, 64, 256, 0.1)
    assert cfg.update_to_data_ratio == pytest.approx(1.0)


def test_derived_values_are_properties_and_config_is_frozen():
    cfg = Config(env="point_mass", num_envs=4, unroll_length=5, total_env_steps=1000, num_epochs=3)
    assert cfg.env_steps_per_iteration == 20
    assert cfg.iterations_per_epoch == 17  # ceil(1000 / (3 * 20))
    assert cfg.planned_env_steps == 3 * 17 * 20 >= cfg.total_env_steps
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.num_envs = 8  # type: ignore[misc]


def test_video_that_cannot_be_drawn_here_is_refused_before_training(monkeypatch):
    """Without GL a video falls back to a 2-D top view, which only goal_dim-2 envs have."""
    import crlx.render
    from crlx.config import LogConfig

    monkeypatch.setattr(crlx.render, "gl_available", lambda: (False, "no offscreen GL here."))
    with pytest.raises(ConfigError, match=r"log.video: arm_reach needs MuJoCo rendering \(its goal has 3 dimensions.*no offscreen GL here"):
        prepare(Config(env="arm_reach", log=LogConfig(video="rollout.mp4")))
    prepare(Config(env="point_mass", log=LogConfig(video="rollout.mp4")))  # drawn in 2-D
    prepare(Config(env="arm_reach"))  # no video asked for


def test_env_options_are_typed_by_the_env_and_reach_make_env():
    cfg = Config(env="point_mass", env_options=("arena=2", "max_step=0.05"))
    assert cfg.validate().env_overrides() == {"arena": 2.0, "max_step": 0.05}
    assert isinstance(cfg.env_overrides()["arena"], float)
    with pytest.raises(ConfigError, match=r"env_options: point_mass's arena takes a float \(default 1.0\), got 'wide'"):
        Config(env="point_mass", env_options=("arena=wide",)).validate()
    with pytest.raises(ConfigError, match=r"arena and max_step must be > 0"):
        prepare(Config(env="point_mass", env_options=("arena=-1",)))  # a value the env itself rejects


def test_yaml_values_of_the_wrong_type_or_choice_are_refused(tmp_path):
    from crlx.train import load_config_file

    for text, message in [
        ("num_envs: many\n", "num_envs must be int, got 'many'"),
        ("buffer: {goal_strategy: futur}\n", "buffer.goal_strategy: unknown value 'futur'"),
        ("actor: {activation: RELU}\n", "actor.activation: unknown value 'RELU'. Did you mean 'relu'?"),
        ("env: point_mass\nenv_options: {arena: 2.0, max_steps: 0.1}\n", "Did you mean 'max_step'"),
    ]:
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config_file(path, Config(env="point_mass")).validate()


def test_every_env_has_valid_training_defaults_and_every_rule_is_documented():
    from crlx.envs import ENVS
    from crlx.envs.training_defaults import RULES, training_defaults
    from tests.conftest import ROOT

    for name in ENVS:
        cfg = Config.for_env(name).validate()
        for key, value in training_defaults(name).items():
            if not isinstance(value, dict):
                assert getattr(cfg, key) == value, (name, key)
    docs = (ROOT / "docs" / "ENVIRONMENTS.md").read_text()
    for pattern, _, _ in RULES:
        assert any(fnmatch.fnmatchcase(name, pattern) for name in ENVS), f"rule {pattern!r} matches no env"
        assert f"`{pattern}`" in docs, f"docs/ENVIRONMENTS.md does not list the training defaults of {pattern!r}"
    assert Config.for_env("point_mass").num_envs == 32 and Config.for_env("ant").num_envs == Config().num_envs


def test_ant_card_is_jaxgcrl_preset_without_its_budget():
    """`--env ant` trains JaxGCRL's CRL (the schedule and networks of configs/jaxgcrl.yaml) at CPU scale."""
    from crlx.config import field_values
    from crlx.train import load_config_file
    from tests.conftest import ROOT

    preset = field_values(load_config_file(ROOT / "configs" / "jaxgcrl.yaml", Config(env="ant")))
    card = field_values(Config.for_env("ant", scale="cpu"))
    differ = {k for k in preset if preset[k] != card[k]}
    assert differ == {"total_env_steps", "num_epochs", "scale", "episode_length"}, differ
    from crlx.envs import make_env

    assert card["episode_length"] is None and make_env("ant").spec.episode_length == preset["episode_length"] == 1001
    assert Config.for_env("ant", scale="cpu").update_to_data_ratio == pytest.approx(16.13, abs=0.01)


def test_gpu_scale_multiplies_envs_updates_and_eval_envs_keeping_the_ratio():
    from crlx.envs.training_defaults import GPU_NUM_ENVS

    for name in ("ant", "point_mass", "mw_push", "reacher"):
        cpu, gpu = Config.for_env(name, scale="cpu"), Config.for_env(name, scale="gpu")
        assert (cpu.scale, gpu.scale) == ("cpu", "gpu")
        assert gpu.num_envs == max(GPU_NUM_ENVS, cpu.num_envs)
        factor = gpu.num_envs / cpu.num_envs
        assert gpu.updates_per_iteration == round(cpu.updates_per_iteration * factor), name
        assert gpu.num_eval_envs == round(cpu.num_eval_envs * factor), name
        assert gpu.updates_per_env_step == pytest.approx(cpu.updates_per_env_step, rel=0.02), name
        gpu.validate()
    ant = Config.for_env("ant", scale="gpu")
    assert (ant.num_envs, ant.updates_per_iteration, ant.num_eval_envs) == (1024, 4000, 1024)
    big = Config.for_env("ant", scale="cpu").replace(num_envs=2048)
    from crlx.envs.training_defaults import at_scale

    assert at_scale(big, "gpu").num_envs == 2048 and at_scale(big, "gpu").updates_per_iteration == 1000


def test_auto_scale_follows_the_default_backend(monkeypatch):
    import jax

    from crlx.envs.training_defaults import resolve_scale

    assert Config.for_env("ant").scale == "cpu" == resolve_scale("auto")  # the test machine has no GPU
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert resolve_scale("auto") == "gpu" and Config.for_env("ant").num_envs == 1024
    assert resolve_scale("cpu") == "cpu" and Config.for_env("ant", scale="cpu").num_envs == 256


def test_scale_flag_overrides_and_flags_win_over_the_scale():
    from crlx.config import value_sources
    from crlx.train import parse_command

    cfg, _, sources = parse_command(["--env", "ant", "--scale", "gpu"])
    assert (cfg.scale, cfg.num_envs, cfg.updates_per_iteration) == ("gpu", 1024, 4000)
    assert sources["scale"] == "device" and sources["num_envs"] == "device" and sources["actor.depth"] == "env"
    cfg, _, sources = parse_command(["--env", "ant", "--scale", "gpu", "--num_envs", "512"])
    assert (cfg.num_envs, cfg.updates_per_iteration) == (512, 4000) and sources["num_envs"] == "flag"
    cfg, _, _ = parse_command(["--env", "ant"])
    assert (cfg.scale, cfg.num_envs) == ("cpu", 256)
    assert value_sources(Config.for_env("ant", scale="cpu"))["scale"] == "device"
    with pytest.raises(ConfigError, match="scale"):
        Config(env="ant", scale="tpu").validate()
