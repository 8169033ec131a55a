"""Checks that need more than the config's values, run once before anything compiles.

`prepare(cfg)` = `cfg.validate()` (the values), then the env built once (option values it rejects
become a ConfigError), then what the machine must offer (devices, GL for a video). The built env is
returned so that nothing builds it again.
"""

from __future__ import annotations

from crlx.config import Config, ConfigError
from crlx.envs import GoalEnv


def build_env(cfg: Config) -> GoalEnv:
    """make_env(cfg.env, **cfg.env_overrides()), its ValueError / TypeError as a ConfigError;
    with cfg.single_goal wrapped to command its one fixed goal (crlx.single_goal)."""
    from crlx.envs import MetaWorldNotInstalled, make_env

    try:
        env = make_env(cfg.env, **cfg.env_overrides())
    except (ValueError, TypeError, MetaWorldNotInstalled) as err:
        raise ConfigError(str(err)) from err
    if cfg.single_goal:
        from crlx.single_goal import SingleGoal, fixed_goal

        env = SingleGoal(env, fixed_goal(env, cfg.env, cfg.seed))
    return env


def check_devices(cfg: Config) -> None:
    """num_devices against the visible devices, and the sizes that data parallelism splits."""
    import jax

    available = jax.device_count()
    if cfg.num_devices > available:
        raise ConfigError(
            f"num_devices={cfg.num_devices} but {available} device(s) are visible "
            f"({jax.default_backend()}); set num_devices between 1 and {available}, or 0 for all."
        )
    n = cfg.devices
    if cfg.seeds_batched:
        if cfg.num_seeds % n:
            raise ConfigError(
                f"num_seeds={cfg.num_seeds} is not a multiple of num_devices={n}: with several seeds the "
                "devices split the seeds; choose num_seeds as a multiple of num_devices."
            )
        return
    for name in ("num_envs", "batch_size", "num_eval_envs"):
        value = getattr(cfg, name)
        if value % n:
            raise ConfigError(
                f"{name}={value} is not a multiple of num_devices={n}: data-parallel training splits it over "
                f"devices; set {name} to a multiple such as {n * max(1, value // n)}."
            )


def check_video(cfg: Config, env: GoalEnv) -> None:
    """A video needs MuJoCo rendering unless the 2-D fallback can draw the env's goal."""
    if not cfg.log.video:
        return
    from crlx.render import drawing_mode, gl_available

    if drawing_mode(env) == "2d" and env.goal_dim != 2:
        raise ConfigError(
            f"log.video: {cfg.env} needs MuJoCo rendering (its goal has {env.goal_dim} dimensions, the 2-D "
            f"fallback draws 2), which is unavailable here: {gl_available()[1]} Or leave log.video empty."
        )


def unavailable_envs() -> dict[str, str]:
    """{env name: why it cannot be built in this install, and the fix} for registered envs that need
    something missing (the mw_* envs need the metaworld extra); empty when every env can be built."""
    from crlx.envs import ENVS, MW_ENVS, metaworld_available
    from crlx.envs.metaworld.package import INSTALL_HINT

    if metaworld_available():
        return {}
    why = f"needs Meta-World's scene files from the metaworld package: {INSTALL_HINT}"
    return {name: why for name in ENVS if name in MW_ENVS}


def available_envs() -> list[str]:
    """Names of the registered envs this install can build (crlx.ENVS lists every registered one;
    `unavailable_envs()` says why the others cannot be built)."""
    from crlx.envs import ENVS

    missing = unavailable_envs()
    return sorted(name for name in ENVS if name not in missing)


def prepare(cfg: Config) -> GoalEnv:
    """Validate `cfg`, build its env once, check the machine; returns the env."""
    cfg.validate()
    env = build_env(cfg)
    check_devices(cfg)
    check_video(cfg, env)
    return env
