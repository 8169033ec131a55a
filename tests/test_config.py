"""Config validation: each bad input raises ConfigError naming the field, before any compile."""

from __future__ import annotations

import dataclasses

import pytest

from crlx.config import BufferConfig, Config, ConfigError, CriticConfig, LossConfig


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
    ({"loss": LossConfig(energy="l3")}, "loss.energy: unknown energy 'l3'"),
    ({"loss": LossConfig(contrastive="nce")}, "loss.contrastive: unknown loss 'nce'"),
    ({"loss": LossConfig(logsumexp_penalty=-1.0)}, "loss.logsumexp_penalty must be >= 0"),
    ({"loss": LossConfig(temperature=0.0)}, "loss.temperature must be > 0"),
    ({"env": "point_mass", "backend": "mjx"}, "point_mass: backend must be 'jax'"),
]


@pytest.mark.parametrize("changes,message", BAD, ids=[m for _, m in BAD])
def test_bad_config_names_the_field(changes, message):
    cfg = dataclasses.replace(Config(env="point_mass"), **changes)
    with pytest.raises(ConfigError) as info:
        cfg.validate()
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
        Config(env="arm_reach", log=LogConfig(video="rollout.mp4")).validate()
    Config(env="reacher", log=LogConfig(video="rollout.mp4")).validate()  # drawn in 2-D
    Config(env="arm_reach").validate()  # no video asked for
