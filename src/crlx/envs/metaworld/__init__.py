"""MJX ports of Meta-World v3 tasks: `mw_<task>` envs and the `mw_cw10` task sequence.

The scenes load at run time from the installed `metaworld` package (see `package.py`);
building an env without it raises `MetaWorldNotInstalled` with the install command.
"""

from __future__ import annotations

import inspect
from typing import Callable

from crlx.envs.metaworld.articulated_tasks import FaucetClose, HandlePressSide, WindowClose
from crlx.envs.metaworld.env import MW_OBS_INDICES, MetaWorldEnv
from crlx.envs.metaworld.object_tasks import PickPlace, Push, PushBack, PushWall, Reach, ShelfPlace
from crlx.envs.metaworld.package import MetaWorldNotInstalled, metaworld_available
from crlx.envs.metaworld.task import Task, env_name
from crlx.envs.metaworld.tool_tasks import Hammer, PegUnplugSide, StickPull

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        Hammer, PushWall, FaucetClose, PushBack, StickPull, HandlePressSide, Push, ShelfPlace, WindowClose, PegUnplugSide,
        Reach, PickPlace,
    )
}
"""Meta-World task name (e.g. 'push-back') -> its Task class"""

CW10 = ("hammer", "push-wall", "faucet-close", "push-back", "stick-pull", "handle-press-side", "push", "shelf-place",
        "window-close", "peg-unplug-side")
"""Continual World's ten tasks, in its order"""


def task_factory(cls: type[Task]) -> Callable[..., MetaWorldEnv]:
    """`mw_<task>`'s factory; its keyword arguments are MetaWorldEnv's options."""

    def factory(**options) -> MetaWorldEnv:
        return MetaWorldEnv(cls(), **options)

    parameters = list(inspect.signature(MetaWorldEnv).parameters.values())[1:]
    factory.__signature__ = inspect.Signature(parameters)
    factory.__doc__ = f"Meta-World {cls.name} on MJX. {cls.__doc__}"
    return factory


MW_ENVS: dict[str, Callable[..., MetaWorldEnv]] = {env_name(name): task_factory(cls) for name, cls in TASKS.items()}
SEQUENCES: dict[str, tuple[str, ...]] = {"mw_cw10": tuple(env_name(task) for task in CW10)}
"""named task sequences (env names in order) for continual learning"""

__all__ = ["CW10", "MW_ENVS", "MW_OBS_INDICES", "MetaWorldEnv", "MetaWorldNotInstalled", "SEQUENCES", "TASKS", "Task",
           "env_name", "metaworld_available"]
