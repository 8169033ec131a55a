"""The compiled programs of a task sequence: one agent per task, checked for equal sizes, and
one jitted init / prefill / epoch per group of tasks whose TrainState shapes agree.

A group's program is `lax.switch(task, [agent_i.train_epoch for i in group], state)`: the task is
a traced int32, so moving to the next task of the group runs the same executable (XLA compiles
every branch once, up front). Tasks whose states differ in shape (e.g. Meta-World scenes with
different bodies) form their own groups and compile their own programs. Evaluators are compiled
once per distinct env and reused at every evaluation.

Programs do not depend on the seed or the transfer mode, so `cached_program` shares them between
runs of one process (a `none` reference run, tests).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp

from crlx import preflight
from crlx.agent import Agent, make_agent
from crlx.config import Config, ConfigError
from crlx.evaluate import make_evaluate
from crlx.types import TrainState

TRANSFERRED = {
    "none": (),
    "critic": ("critic_params",),
    "all": ("critic_params", "actor_params", "log_alpha"),
}
"""TrainState fields each transfer mode keeps from the previous task"""
OPTIMIZER_OF = {"critic_params": "critic_opt", "actor_params": "actor_opt", "log_alpha": "alpha_opt"}


def signature(tree) -> tuple:
    """(treedef, shapes and dtypes of the leaves) of a pytree of arrays or ShapeDtypeStructs."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((tuple(x.shape), str(x.dtype)) for x in leaves)


def check_sizes(tasks: list[str], agents: list[Agent]) -> None:
    """ConfigError naming the tasks whose observation, goal, state or action size differs from the first's."""
    sizes = {
        "observation": [a.env.observation_size for a in agents],
        "goal": [a.env.goal_dim for a in agents],
        "state": [a.env.state_dim for a in agents],
        "action": [a.env.action_size for a in agents],
    }
    for what, values in sizes.items():
        odd = [t for t, v in zip(tasks, values) if v != values[0]]
        if odd:
            listed = ", ".join(f"{t}={v}" for t, v in zip(tasks, values))
            raise ConfigError(
                f"--tasks: the tasks' {what} sizes differ ({listed}): {', '.join(odd)} differ from {tasks[0]}. "
                "Every task of a sequence trains the same actor and critic, so observation, goal, state and "
                f"action sizes must agree; drop {', '.join(odd)} or pick tasks of one family (and one --goal_space)."
            )


@dataclasses.dataclass
class Program:
    """Per-task configs and agents, their groups, and the lazily compiled executables."""

    tasks: tuple[str, ...]
    """env names in sequence order"""
    cfgs: list[Config]
    agents: list[Agent]
    groups: list[list[int]]
    """task positions per group of equal TrainState signature"""
    evaluators: dict[str, Callable] = dataclasses.field(default_factory=dict)
    compiled: dict[tuple, Any] = dataclasses.field(default_factory=dict)
    compile_s: dict[str, float] = dataclasses.field(default_factory=dict)
    """seconds spent compiling, by program name (e.g. 'epoch/group0', 'eval/point_u_maze')"""

    def branches(self, g: int) -> list[int]:
        """Task positions of group g's switch branches: the first position of each distinct env."""
        first = {}
        for i in self.groups[g]:
            first.setdefault(self.tasks[i], i)
        return list(first.values())

    def group(self, task: int) -> tuple[int, jax.Array]:
        """(group index, the task's branch in that group's switch as an int32)."""
        for g, members in enumerate(self.groups):
            if task in members:
                names = [self.tasks[i] for i in self.branches(g)]
                return g, jnp.asarray(names.index(self.tasks[task]), jnp.int32)
        raise IndexError(task)

    def _run(self, kind: str, task: int, arg):
        g, branch = self.group(task)
        key = (kind, g)
        if key not in self.compiled:
            branches = [getattr(self.agents[i], kind) for i in self.branches(g)]

            def program(index, x):
                return jax.lax.switch(index, branches, x)

            jitted = jax.jit(program) if kind == "init" else jax.jit(program, donate_argnums=1)
            t0 = time.perf_counter()
            self.compiled[key] = jitted.lower(branch, arg).compile()
            self.compile_s[f"{kind}/group{g}"] = time.perf_counter() - t0
        return self.compiled[key](branch, arg)

    def init(self, task: int, key: jax.Array) -> TrainState:
        """A fresh TrainState of `task` (networks, optimizers, empty buffer, its envs reset)."""
        return self._run("init", task, key)

    def prefill(self, task: int, ts: TrainState) -> TrainState:
        """The agent's prefill of the buffer on `task` (ts donated): cfg.prefill_iterations calls of
        one compiled prefill iteration where the agent has `prefill_step`, else its jitted prefill."""
        if hasattr(self.agents[task], "prefill_step"):
            for _ in range(self.cfgs[task].prefill_iterations):
                ts = self._run("prefill_step", task, ts)
            return ts
        return self._run("prefill", task, ts)

    def epoch(self, task: int, ts: TrainState) -> tuple[TrainState, dict]:
        """One fused training epoch of `task` (ts donated)."""
        return self._run("train_epoch", task, ts)

    def evaluate(self, task: int, actor_params, key: jax.Array) -> dict:
        """Deterministic evaluation of `actor_params` on `task` -> {'eval/...': scalar}."""
        name = self.tasks[task]
        if name not in self.evaluators:
            agent, cfg = self.agents[task], self.cfgs[task]
            jitted = make_evaluate(agent.env, agent.actor, cfg.num_eval_envs)
            t0 = time.perf_counter()
            self.evaluators[name] = jitted.lower(actor_params, key).compile()
            self.compile_s[f"eval/{name}"] = time.perf_counter() - t0
        return self.evaluators[name](actor_params, key)

    def start_task(self, task: int, key: jax.Array, previous: TrainState | None, transfer: str,
                   keep_optimizer: bool, keep_buffer: bool) -> TrainState:
        """The state task `task` starts from: a fresh state (init with `key`) whose fields named by
        TRANSFERRED[transfer] (and their optimizer states with keep_optimizer) come from `previous`;
        the buffer is `previous`'s with keep_buffer, else fresh and prefilled. Counters start at 0."""
        ts = self.init(task, key)
        if previous is not None:
            kept = list(TRANSFERRED[transfer])
            kept += [OPTIMIZER_OF[f] for f in kept if keep_optimizer]
            if keep_buffer:
                if signature(previous.buffer) != signature(ts.buffer):
                    raise ConfigError(f"--keep_buffer: the buffer of {self.tasks[task]} differs in shape from the "
                                      "previous task's; run without --keep_buffer.")
                kept.append("buffer")
            ts = ts.replace(**{name: getattr(previous, name) for name in kept})
        if previous is None or not keep_buffer:
            ts = self.prefill(task, ts)
        return ts


def program_key(tasks: tuple[str, ...], cfg: Config) -> str:
    """What a Program depends on: the tasks and the config without logging and checkpoints (and
    without the seed, unless it picks the single goals)."""
    drop = ("log", "wandb", "checkpoint", "env") + (() if cfg.single_goal else ("seed",))
    data = {k: v for k, v in cfg.to_dict().items() if k not in drop}
    return json.dumps([list(tasks), data], sort_keys=True, default=str)


_PROGRAMS: dict[str, Program] = {}


def build_program(tasks: tuple[str, ...], cfg: Config) -> Program:
    """Validate every task's config, build the agents (nothing compiles), check sizes, group tasks.
    With cfg.single_goal every env commands its one fixed goal (crlx.single_goal)."""
    if cfg.num_seeds != 1:
        raise ConfigError(f"num_seeds={cfg.num_seeds}: task sequences train one seed per process; "
                          "set --num_seeds 1 and start one run per seed (--seed).")
    if cfg.devices != 1:
        raise ConfigError(f"num_devices={cfg.num_devices}: task sequences run on one device; set --num_devices 1.")
    cfgs, agents, unique = [], [], {}
    for name in tasks:
        task_cfg = cfg.replace(env=name)
        if name not in unique:
            try:
                env = preflight.prepare(task_cfg)
            except ConfigError as err:
                raise ConfigError(f"task {name}: {err}") from err
            unique[name] = make_agent(task_cfg, env=env)
        cfgs.append(task_cfg)
        agents.append(unique[name])
    check_sizes(list(tasks), agents)
    groups: list[list[int]] = []
    sigs: list[tuple] = []
    for i, agent in enumerate(agents):
        sig = signature(jax.eval_shape(agent.init, jax.random.PRNGKey(0)))
        if sig in sigs:
            groups[sigs.index(sig)].append(i)
        else:
            sigs.append(sig)
            groups.append([i])
    return Program(tasks=tuple(tasks), cfgs=cfgs, agents=agents, groups=groups)


def cached_program(tasks: tuple[str, ...], cfg: Config) -> Program:
    """`build_program`, shared between runs of this process with the same tasks and sizes."""
    key = program_key(tasks, cfg)
    if key not in _PROGRAMS:
        _PROGRAMS[key] = build_program(tasks, cfg)
    return _PROGRAMS[key]
