"""`python -m crlx.continual`: CRL trained on a sequence of tasks, one after another, with the
success matrix and Continual World's metrics (see crlx.continual_metrics and docs/CONTINUAL.md).

    python -m crlx.continual --sequence mw_cw10 --steps_per_task 1000000 --num_envs 512
    python -m crlx.continual --tasks point_u_maze,point_big_maze --transfer critic --reference run
    python -m crlx.continual --resume runs/mw_cw10-all-s0-20261201-101500

    import crlx
    result = crlx.train_sequence(crlx.Config(num_envs=64), tasks="point_u_maze,point_big_maze")
    result.matrix, result.metrics["average_forgetting"], result.params[0]["actor"]

Every task trains cfg.num_epochs epochs of its own steps_per_task env steps. Before task 0 and
every task i the state comes from `Program.start_task` (fresh networks, the transferred fields,
a fresh prefilled buffer unless kept); after every eval_every epochs and at the task's end every
task of the sequence is evaluated. Checkpoints (cfg.checkpoint) are written on the usual epoch
schedule and after every task; `--resume` continues at the task and epoch of the latest one.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Literal

import jax
import numpy as np

from crlx import checkpoint, compile_cache
from crlx.config import Config, ConfigError
from crlx.continual_metrics import own_curves, success_matrix, summarize
from crlx.continual_program import cached_program
from crlx.continual_report import write_report
from crlx.envs import SEQUENCES
from crlx.interrupt import EXIT_CODES, Interrupted, StopRequest, interrupted
from crlx.logging import RunLogger, config_hash, require_fresh
from crlx.runlock import RunLock
from crlx.trainer import NonFiniteError, check_finite

Transfer = Literal["none", "critic", "all"]


@dataclasses.dataclass(frozen=True)
class ContinualConfig:
    """What a task sequence adds to a training Config (which sets everything per task)."""

    sequence: str | None = None
    """a named task sequence (crlx.envs.SEQUENCES), e.g. mw_cw10"""
    tasks: str | None = None
    """or a custom sequence: comma-separated env names, e.g. point_u_maze,point_big_maze"""
    steps_per_task: int | None = None
    """training env steps per task (sets total_env_steps of every task; default: total_env_steps)"""
    transfer: Transfer = "all"
    """what the next task keeps: none (fresh networks: the single-task reference), critic (critic
    kept, actor and alpha fresh), all (actor, critic and alpha kept and fine-tuned)"""
    keep_optimizer: bool = False
    """keep the Adam states of the transferred networks (default: fresh, as a fresh run starts)"""
    keep_buffer: bool = False
    """keep the replay buffer across tasks (default: a fresh buffer, prefilled, per task)"""
    eval_every: int = 1
    """evaluate every task of the sequence every N epochs of a task (0: only at its start and end)"""
    reference: str = ""
    """forward transfer's reference: a run dir of a transfer=none run of the same sequence and
    budget, or 'run' to train one first into <run dir>/reference; empty: no forward transfer"""

    def task_names(self) -> tuple[str, ...]:
        if (self.sequence is None) == (self.tasks is None):
            raise ConfigError("give exactly one of --sequence NAME (one of "
                              f"{sorted(SEQUENCES)}) or --tasks a,b,c.")
        if self.sequence is not None:
            if self.sequence not in SEQUENCES:
                raise ConfigError(f"--sequence: unknown sequence {self.sequence!r}; known: {sorted(SEQUENCES)}, "
                                  "or pass --tasks a,b,c.")
            return tuple(SEQUENCES[self.sequence])
        names = tuple(t.strip() for t in self.tasks.split(",") if t.strip())
        if not names:
            raise ConfigError(f"--tasks: no env names in {self.tasks!r}; pass e.g. --tasks point_u_maze,point_big_maze.")
        return names

    def validate(self) -> "ContinualConfig":
        self.task_names()
        if self.transfer not in ("none", "critic", "all"):
            raise ConfigError(f"--transfer must be none, critic or all, got {self.transfer!r}.")
        if self.steps_per_task is not None and self.steps_per_task <= 0:
            raise ConfigError(f"--steps_per_task must be > 0, got {self.steps_per_task}.")
        if self.eval_every < 0:
            raise ConfigError(f"--eval_every must be >= 0 (0: only at a task's start and end), got {self.eval_every}.")
        return self

    @property
    def label(self) -> str:
        return self.sequence or "tasks"


@dataclasses.dataclass
class ContinualResult:
    tasks: tuple[str, ...]
    params: list[dict[str, Any]]  # per task i: {"actor", "critic"} after training task i (host arrays)
    histories: list[list[dict[str, Any]]]  # per task i: the metrics rows logged while training it
    matrix: np.ndarray  # S[i, j]: success on task j after training task i
    metrics: dict[str, Any]  # average_performance, forgetting, auc, forward_transfer, ...
    run_dir: Path
    state: Any  # the last TrainState
    compile_s: dict[str, float]  # seconds per compiled program in this process


def task_configs(cfg: Config, cont: ContinualConfig) -> tuple[tuple[str, ...], Config]:
    """(env names in order, the config every task trains with, its env aside)."""
    tasks = cont.task_names()
    if cont.steps_per_task is not None:
        cfg = cfg.replace(total_env_steps=cont.steps_per_task)
    return tasks, cfg


def namespaced(metrics: dict[str, Any], task: str) -> dict[str, float]:
    """'critic/accuracy' -> 'critic/<task>/accuracy'."""
    return {f"{k.split('/', 1)[0]}/{task}/{k.split('/', 1)[1]}": float(v) for k, v in metrics.items()}


def params_dir(run_dir: Path, task: int) -> Path:
    return Path(run_dir).absolute() / "params" / f"task_{task:02d}"


def save_params(run_dir: Path, task: int, params: dict) -> None:
    import orbax.checkpoint as ocp

    with ocp.StandardCheckpointer() as saver:
        saver.save(params_dir(run_dir, task), params, force=True)


def load_params(run_dir: Path, task: int, like: dict) -> dict:
    import orbax.checkpoint as ocp

    with ocp.StandardCheckpointer() as loader:
        return jax.device_get(loader.restore(params_dir(run_dir, task), like))


def read_rows(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def reference_curves(cont: ContinualConfig, cfg: Config, run_dir: Path, tasks: tuple[str, ...], span: int):
    """Own-task curves of the forward-transfer reference (None without one); trains it for 'run'."""
    if not cont.reference:
        return None
    if cont.reference == "run":
        ref_dir = run_dir / "reference"
        ref_cont = dataclasses.replace(cont, transfer="none", keep_optimizer=False, keep_buffer=False, reference="")
        if not (ref_dir / "continual_metrics.json").exists():
            log = dataclasses.replace(cfg.log, run_dir=str(run_dir), run_name="reference")
            resume = ref_dir if checkpoint.latest_step(ref_dir) is not None else None
            train_sequence(cfg.replace(log=log), ref_cont, resume=resume)
    else:
        ref_dir = Path(cont.reference)
    saved = ref_dir / "continual.json"
    if not saved.exists():
        raise ConfigError(f"--reference: {str(saved)!r} not found; pass the run dir of a transfer=none run or 'run'.")
    data = json.loads(saved.read_text())
    ref_tasks, ref_cfg = task_configs(Config.from_dict(data["config"]), ContinualConfig(**data["continual"]))
    problems = []
    if ref_tasks != tasks:
        problems.append(f"tasks {list(ref_tasks)} != {list(tasks)}")
    if ref_cfg.replace(env=tasks[0]).planned_env_steps != span:
        problems.append(f"{ref_cfg.replace(env=tasks[0]).planned_env_steps} env steps per task != {span}")
    if data["continual"]["transfer"] != "none":
        problems.append(f"transfer={data['continual']['transfer']} (the reference trains fresh networks: none)")
    if problems:
        raise ConfigError(f"--reference {ref_dir}: {'; '.join(problems)}; run the reference with the same "
                          "sequence and budget and --transfer none, or pass --reference run.")
    return own_curves([r for r in read_rows(ref_dir) if "task_index" in r], list(tasks))


def final_metrics(tasks: tuple[str, ...], metrics: dict[str, Any]) -> dict[str, float]:
    """The run's summary for wandb: averages and per-task forgetting / forward transfer."""
    out = {"continual/average_performance": metrics["average_performance"],
           "continual/average_forgetting": metrics["average_forgetting"]}
    if metrics["average_forward_transfer"] is not None:
        out["continual/average_forward_transfer"] = metrics["average_forward_transfer"]
    for j, name in enumerate(tasks):
        out[f"continual/{name}/forgetting"] = metrics["forgetting"][j]
        if metrics["forward_transfer"] is not None and metrics["forward_transfer"][j] is not None:
            out[f"continual/{name}/forward_transfer"] = metrics["forward_transfer"][j]
    return out


def train_sequence(cfg: Config, continual: ContinualConfig | None = None, resume: str | Path | None = None,
                   **options) -> ContinualResult:
    """Train `cfg` on every task of the sequence in turn; `options` replace ContinualConfig fields,
    e.g. train_sequence(cfg, tasks="point_u_maze,point_big_maze", transfer="critic")."""
    cont = dataclasses.replace(continual or ContinualConfig(), **options).validate()
    compile_cache.enable()
    tasks, cfg = task_configs(cfg, cont)
    program = cached_program(tasks, cfg)  # validates every task and the sizes; compiles nothing yet
    now = time.time()
    stamp = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}-{int(now * 1000) % 1000:03d}-{config_hash(cfg)}"
    run_dir = Path(resume) if resume is not None else Path(cfg.log.run_dir) / (
        cfg.log.run_name or f"{cont.label}-{cont.transfer}-s{cfg.seed}-{stamp}")
    if resume is not None and not run_dir.is_dir():
        raise checkpoint.CheckpointError(f"--resume: no run directory {run_dir}; pass the directory of an earlier run.")
    with RunLock(run_dir, "log.run_name" if resume is None else "--resume"), StopRequest(SETTING_UP) as stop:
        return sequence_locked(cfg, cont, resume, tasks, program, run_dir, stop)


SETTING_UP = "finishing what it started (a compile, prefill or evaluation), then stopping after the next epoch"


def sequence_locked(cfg: Config, cont: ContinualConfig, resume, tasks: tuple[str, ...], program, run_dir: Path,
                    stop: StopRequest) -> ContinualResult:
    """`train_sequence` once it holds the run directory's lock, with SIGINT / SIGTERM caught by `stop`:
    a signal stops the sequence after the current epoch with a checkpoint and raises Interrupted."""
    span, epochs, per_epoch = program.cfgs[0].planned_env_steps, cfg.num_epochs, program.cfgs[0].env_steps_per_epoch
    if resume is None:
        require_fresh([run_dir], run_dir)
    ref_curves = reference_curves(cont, cfg, run_dir, tasks, span) if cont.transfer != "none" else None
    init_key, eval_key = jax.random.split(jax.random.PRNGKey(cfg.seed))
    task_key = lambda i: jax.random.fold_in(init_key, i)  # noqa: E731
    first_task, first_epoch, ts, previous, resume_at = 0, 0, None, None, None
    if resume is not None:
        restored, meta, has_buffer = checkpoint.restore(
            run_dir, lambda step: program.init((step - 1) // span, task_key((step - 1) // span)))
        step = int(meta["env_steps"])
        task = (step - 1) // span
        if meta.get("task") != tasks[task]:
            raise checkpoint.CheckpointError(f"checkpoint {step} of {run_dir} is of task {meta.get('task')!r}, "
                                             f"the sequence has {tasks[task]!r} there; it was written by another sequence.")
        if not has_buffer:
            restored = program.prefill(task, restored)
        done_epochs, resume_at = int(meta["task_env_steps"]) // per_epoch, step
        position = (task, int(meta["task_env_steps"]))
        kept = [r for r in read_rows(run_dir) if "task_index" in r and (r["task_index"], r["task_env_steps"]) <= position]
        (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
        if done_epochs == epochs:
            first_task, previous = task + 1, restored
        else:
            first_task, first_epoch, ts = task, done_epochs, restored
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "continual.json").write_text(json.dumps(
        {"continual": dataclasses.asdict(cont), "config": cfg.to_dict(), "tasks": list(tasks), "steps_per_task": span},
        indent=2, default=str))
    log_cfg = cfg.replace(env=tasks[0], log=dataclasses.replace(cfg.log, progress=False))  # this run's log and wandb
    logger = RunLogger(log_cfg, run_dir=run_dir, resume_at=resume_at, progress=False)
    if getattr(logger, "_wandb", None) is not None:
        logger._wandb.config.update({"continual": dataclasses.asdict(cont), "tasks": list(tasks)}, allow_val_change=True)
    distinct = list(dict.fromkeys(tasks))
    params: list[dict] = []
    if resume is not None:
        like = {"actor": restored.actor_params, "critic": restored.critic_params}
        params = [load_params(run_dir, i, like) for i in range(task)]
        if previous is not None:  # resumed at the end of a task: its params are the checkpoint's
            params.append(jax.device_get(like))
    exit_code, start = 1, time.perf_counter()
    wall_before = max((row.get("perf/wall_s", 0.0) for row in logger.history), default=0.0)  # of a resumed run
    schedule = checkpoint.Schedule(cfg.checkpoint.every, cfg.checkpoint.every_minutes)

    def evaluate(i: int, t: int, ts, end: bool, extra: dict) -> dict:
        key = jax.random.fold_in(jax.random.fold_in(eval_key, i), t)
        row = {"task_index": i, "task": tasks[i], "task_env_steps": t, "task_end": float(end), **extra}
        for j, name in enumerate(distinct):
            result = jax.device_get(program.evaluate(tasks.index(name), ts.actor_params, jax.random.fold_in(key, j)))
            row.update({f"eval/{name}/{k.split('/', 1)[1]}": float(v) for k, v in result.items()})
        row["eval/average_success"] = float(np.mean([row[f"eval/{name}/success"] for name in tasks]))
        row["perf/wall_s"] = wall_before + time.perf_counter() - start
        logger.log(i * span + t, row)
        return row

    try:
        for i in range(first_task, len(tasks)):
            if ts is None:
                t0 = time.perf_counter()
                ts = program.start_task(i, task_key(i), previous, cont.transfer, cont.keep_optimizer, cont.keep_buffer)
                jax.block_until_ready(ts)
                evaluate(i, 0, ts, False, {"perf/start_task_s": time.perf_counter() - t0})
            for e in range(first_epoch, epochs):
                stop.doing = f"finishing epoch {e + 1} of {epochs} of task {i} ({tasks[i]}), then saving a checkpoint"
                t0 = time.perf_counter()
                ts, metrics = program.epoch(i, ts)
                metrics = jax.device_get(metrics)
                seconds, t = time.perf_counter() - t0, (e + 1) * per_epoch
                check_finite(metrics, i * span + t)
                last = e + 1 == epochs
                if last or (cont.eval_every and (e + 1) % cont.eval_every == 0):
                    evaluate(i, t, ts, last, {**namespaced(metrics, tasks[i]), "perf/epoch_s": seconds,
                                              "perf/env_steps_per_s": per_epoch / seconds})
                saved = None
                if schedule.due(e + 1, last, stopping=stop.signum is not None):
                    meta = {"env_steps": i * span + t, "task_index": i, "task": tasks[i], "task_env_steps": t,
                            "epoch": e + 1, "updates": int(ts.updates)}
                    saved = checkpoint.save(run_dir, ts, meta, with_buffer=cfg.checkpoint.buffer, keep=cfg.checkpoint.keep)
                    schedule.saved()
                if stop.signum is not None and not (last and i + 1 == len(tasks)):
                    exit_code = EXIT_CODES[stop.signum]
                    raise interrupted(stop, run_dir, f"after epoch {e + 1} of {epochs} of task {i} ({tasks[i]}, env step "
                                      f"{i * span + t:,})", saved, module="crlx.continual")
            params.append(jax.device_get({"actor": ts.actor_params, "critic": ts.critic_params}))
            save_params(run_dir, i, params[-1])
            if cfg.log.progress:
                print(f"crlx.continual: task {i} {tasks[i]} done at {(i + 1) * span} env steps, "
                      f"eval/average_success={logger.history[-1]['eval/average_success']:.3f}", file=sys.stderr)
            previous, ts, first_epoch = ts, None, 0
        rows = [r for r in logger.history if "task_index" in r]
        matrix = success_matrix(rows, list(tasks))
        if cont.transfer == "none" and cont.reference:
            ref_curves = own_curves(rows, list(tasks))
        metrics = summarize(matrix, own_curves(rows, list(tasks)), span, ref_curves)
        metrics["compile_s"] = dict(program.compile_s)
        metrics["wall_s"] = time.perf_counter() - start
        for path in write_report(run_dir, list(tasks), matrix, metrics, rows, span):
            logger.log_media(f"continual/{path.stem}", path, len(tasks) * span)
        if getattr(logger, "_wandb", None) is not None:
            logger._wandb.summary.update(final_metrics(tasks, metrics))
        exit_code = 0
    finally:
        logger.close(exit_code)
    histories = [[r for r in rows if r["task_index"] == i] for i in range(len(tasks))]
    return ContinualResult(tasks=tasks, params=params, histories=histories, matrix=matrix, metrics=metrics,
                           run_dir=run_dir, state=previous, compile_s=dict(program.compile_s))


BOOL_FLAGS = ("keep_optimizer", "keep_buffer", "single_goal")


def parse_args(argv: list[str] | None = None) -> tuple[Config, ContinualConfig, Path | None]:
    """Continual flags (ContinualConfig), then every `python -m crlx.train` flag for the Config.

    Precedence: defaults < --config FILE < --resume RUN_DIR's continual.json < flags. The boolean
    flags of BOOL_FLAGS may stand alone (`--single_goal` means `--single_goal True`)."""
    import tyro

    from crlx.train import _changed_fields, _pop_option, load_config_file

    argv = list(sys.argv[1:] if argv is None else argv)
    for name in BOOL_FLAGS:
        flag = f"--{name}"
        while flag in argv and (argv.index(flag) + 1 == len(argv) or argv[argv.index(flag) + 1].startswith("--")):
            argv[argv.index(flag)] = f"{flag}=True"
    config_file, argv = _pop_option(argv, "config")
    resume, argv = _pop_option(argv, "resume")
    base, base_cont = Config(), ContinualConfig()
    if config_file is not None:
        base = load_config_file(config_file, base)
    if resume is not None:
        saved = Path(resume) / "continual.json"
        if not saved.is_file():
            raise ConfigError(f"--resume: {str(saved)!r} not found; pass the directory of an earlier crlx.continual run.")
        data = json.loads(saved.read_text())
        base, base_cont = Config.from_dict(data["config"], base=base, source=str(saved)), ContinualConfig(**data["continual"])
    options = dict(prog="python -m crlx.continual", use_underscores=True, config=(tyro.conf.FlagConversionOff,))
    cont, rest = tyro.cli(ContinualConfig, args=argv, default=base_cont, return_unknown_args=True, **options,
                          description="Train CRL on a task sequence (and every flag of python -m crlx.train).")
    cfg = tyro.cli(Config, args=rest, default=base, **options)
    if resume is not None:
        changed = _changed_fields(base, cfg) + _changed_fields(base_cont, cont)
        if changed:
            raise ConfigError(f"--resume continues {resume} with its saved config; these flags would change it: "
                              f"{changed}. Start a new run instead, or drop them.")
    return cfg, cont.validate(), None if resume is None else Path(resume)


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, cont, resume = parse_args(argv)
        result = train_sequence(cfg, cont, resume=resume)
    except Interrupted as stopped:
        print(f"crlx.continual: {stopped}", file=sys.stderr)
        return stopped.exit_code
    except KeyboardInterrupt:  # a second Ctrl-C, or one before the loop could catch it
        print("crlx.continual: stopped by Ctrl-C at once, without a new checkpoint (earlier ones are kept).",
              file=sys.stderr)
        return 130
    except (ConfigError, NonFiniteError, checkpoint.CheckpointError) as err:
        print(f"crlx.continual: error: {err}", file=sys.stderr)
        return 2
    m = result.metrics
    ft = m["average_forward_transfer"]
    print(f"crlx.continual: done: {len(result.tasks)} tasks, average performance {m['average_performance']:.3f}, "
          f"average forgetting {m['average_forgetting']:.3f}, forward transfer "
          f"{'n/a' if ft is None else f'{ft:.3f}'}; run dir {result.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
