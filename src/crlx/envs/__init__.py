"""Env registry: `ENVS[name]` is a factory; `make_env(name, **overrides)` builds one.

Overrides are the factory's keyword arguments (episode_length, success_threshold, backend, ...);
an unknown env name or override raises a ValueError that names the close matches.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Callable

from crlx.envs.ant import Ant, AntRandomStart
from crlx.envs.ant_ball import AntBall, AntBallMaze
from crlx.envs.ant_light import AntLightBall, AntLightPush
from crlx.envs.ant_push import AntPush
from crlx.envs.arm import ARM_TASKS
from crlx.envs.base import EnvSpec, GoalEnv, wrap_for_eval, wrap_for_training
from crlx.envs.cheetah import Cheetah
from crlx.envs.humanoid import Humanoid
from crlx.envs.humanoid_light import HumanoidLight
from crlx.envs.ant_maze import AntMaze
from crlx.envs.grid_maze import GRID_LAYOUTS
from crlx.envs.humanoid_maze import HumanoidMaze
from crlx.envs.maze import LAYOUTS, AntLightBallMaze, HumanoidLightMaze, PointMaze
from crlx.envs.metaworld import MW_ENVS, SEQUENCES, MetaWorldNotInstalled, metaworld_available
from crlx.envs.planar_pusher import PlanarPusherEasy, PlanarPusherHard, PlanarPusherReacher
from crlx.envs.point_mass import PointMass
from crlx.envs.pusher import PusherEasy, PusherHard, PusherReacher
from crlx.envs.reacher import Reacher
from crlx.envs.simple_maze import SimpleMaze


def with_layout(cls: type, layout: str) -> Callable[..., GoalEnv]:
    """`cls` with its maze layout fixed: the factory's options are cls's minus `layout`."""

    def factory(**overrides) -> GoalEnv:
        return cls(layout=layout, **overrides)

    signature = inspect.signature(cls)
    factory.__signature__ = signature.replace(parameters=[p for n, p in signature.parameters.items() if n != "layout"])
    factory.__doc__ = f"{cls.__name__} on the {layout!r} layout."
    return factory


ENVS: dict[str, Callable[..., GoalEnv]] = {
    "point_mass": PointMass,
    "reacher": Reacher,
    "cheetah": Cheetah,
    "pusher_easy": PusherEasy,
    "pusher_hard": PusherHard,
    "pusher_reacher": PusherReacher,
    "planar_pusher_easy": PlanarPusherEasy,
    "planar_pusher_hard": PlanarPusherHard,
    "planar_pusher_reacher": PlanarPusherReacher,
    "ant": Ant,
    "ant_random_start": AntRandomStart,
    "ant_ball": AntBall,
    "ant_push": AntPush,
    "ant_light_ball": AntLightBall,
    "ant_light_push": AntLightPush,
    **{f"point_{layout}_maze": with_layout(PointMaze, layout) for layout in LAYOUTS},
    **{f"simple_{layout}_maze": with_layout(SimpleMaze, layout) for layout in GRID_LAYOUTS},
    **{f"ant_{layout}_maze": with_layout(AntMaze, layout) for layout in GRID_LAYOUTS},
    "ant_ball_maze": AntBallMaze,
    "ant_light_ball_maze": AntLightBallMaze,
    "humanoid": Humanoid,
    "humanoid_light": HumanoidLight,
    **{f"humanoid_{layout}_maze": with_layout(HumanoidMaze, layout) for layout in GRID_LAYOUTS},
    **{f"humanoid_light_{layout}_maze": with_layout(HumanoidLightMaze, layout) for layout in LAYOUTS},
    **ARM_TASKS,
    **MW_ENVS,
}


def unknown_env_message(name: str) -> str:
    if name in SEQUENCES:
        return (f"env: {name!r} is a task sequence, not one env: {', '.join(SEQUENCES[name])}. "
                f"Train on one of its tasks, e.g. --env {SEQUENCES[name][0]}.")
    close = difflib.get_close_matches(name, list(ENVS), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"env: unknown env {name!r}.{hint} Registered envs: {', '.join(sorted(ENVS))}."


def env_options(name: str) -> list[str]:
    """Keyword arguments the env factory accepts (the names `make_env` overrides may use)."""
    return [p for p in inspect.signature(ENVS[name]).parameters]


def make_env(name: str, **overrides) -> GoalEnv:
    """Build the registered env `name`, e.g. `make_env("reacher", episode_length=100)`."""
    if name not in ENVS:
        raise ValueError(unknown_env_message(name))
    allowed = env_options(name)
    bad = sorted(set(overrides) - set(allowed))
    if bad:
        raise ValueError(f"env: {name!r} has no option(s) {bad}; it accepts {allowed}.")
    return ENVS[name](**overrides)


__all__ = ["ENVS", "EnvSpec", "GoalEnv", "MW_ENVS", "MetaWorldNotInstalled", "SEQUENCES", "env_options", "make_env",
           "metaworld_available", "wrap_for_eval", "wrap_for_training"]
