"""Task sequences: every transfer mode end to end on two point mazes (one compiled program shared
by all runs of this module), the metrics against hand-computed values, resume after SIGKILL and
SIGTERM mid-sequence, size checks, single-goal rollouts, and Meta-World's object_and_hand goal space."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import crlx
from crlx.checkpoint import latest_step
from crlx.config import BufferConfig, ConfigError, LogConfig, WandbConfig
from crlx.continual import main, parse_args, train_sequence
from crlx.continual_metrics import auc, forward_transfer, own_curves, success_matrix, summarize
from crlx.continual_program import cached_program
from tests.conftest import subprocess_env, tiny_config
from tests.test_cli import TINY_SIZE_FLAGS

TASKS = "point_u_maze,point_big_maze"
SEQUENCE_FLAGS = [
    "--tasks", TASKS, "--num_envs=8", *TINY_SIZE_FLAGS, "--steps_per_task=160", "--num_epochs=2",
    "--checkpoint.every=1", "--checkpoint.keep=4", "--log.progress=False",
]
"""two tasks of 2 epochs x 1 iteration x 80 env steps; a checkpoint after every epoch"""


def rows(run_dir) -> list[dict]:
    out = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        out.append({k: v for k, v in json.loads(line).items() if not k.startswith("perf/")})
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run per transfer mode (and the kept optimizer / buffer variants) on one compiled program."""
    root = tmp_path_factory.mktemp("continual")
    cfg, cont, _ = parse_args([*SEQUENCE_FLAGS, f"--log.run_dir={root}"])
    out = {}
    for name, options in {
        "none": dict(transfer="none"),
        "critic": dict(transfer="critic", reference="run"),
        "all": dict(transfer="all", keep_optimizer=True, keep_buffer=True, eval_every=0),
    }.items():
        run_cfg = cfg.replace(log=LogConfig(run_dir=str(root), run_name=name, progress=False),
                              wandb=WandbConfig(mode="offline" if name == "critic" else "disabled"))
        out[name] = train_sequence(run_cfg, cont, **options)
    return out


def test_every_transfer_mode_trains_the_sequence_and_writes_the_report(runs):
    for name, result in runs.items():
        assert result.tasks == ("point_u_maze", "point_big_maze")
        assert result.matrix.shape == (2, 2) and np.isfinite(result.matrix).all()
        assert len(result.params) == 2 and len(result.histories) == 2
        for f in ("continual_metrics.json", "continual_metrics.md", "success_matrix.png", "task_curves.png",
                  "continual.json", "metrics.jsonl"):
            assert (result.run_dir / f).is_file(), (name, f)
        saved = json.loads((result.run_dir / "continual_metrics.json").read_text())
        np.testing.assert_allclose(saved["success_matrix"], result.matrix)
        row = result.histories[1][-1]
        assert {"eval/point_u_maze/success", "eval/point_big_maze/success", "critic/point_big_maze/accuracy"} <= set(row)
    # eval_every=0: only a task's start and end are evaluated; else after every epoch
    assert [len(h) for h in runs["all"].histories] == [2, 2]
    assert [len(h) for h in runs["none"].histories] == [3, 3]
    # the reference (transfer none, trained first into <run>/reference) gives forward transfer
    assert (runs["critic"].run_dir / "reference" / "continual_metrics.json").is_file()
    assert runs["critic"].metrics["forward_transfer"] is not None and runs["none"].metrics["forward_transfer"] is None
    # wandb (offline): rows with the task name in the key, the metrics in the summary
    logs = list((runs["critic"].run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 1, "one offline wandb run"
    written = logs[0].read_bytes()  # the run's records; keys are stored as plain strings
    for key in ("eval/point_u_maze/success", "critic/point_big_maze/accuracy", "continual/average_forgetting",
                "continual/point_big_maze/forward_transfer"):
        assert key.encode() in written, key
    assert list((runs["critic"].run_dir / "wandb").glob("offline-run-*/files/media/images/continual/*.png"))
    # one compiled program for both tasks of the group, shared by every run of this process
    assert {k.split("/")[0] for k in runs["all"].compile_s} <= {"init", "prefill", "prefill_step", "train_epoch", "eval"}
    assert sum(k.startswith("train_epoch/") for k in runs["all"].compile_s) == 1


def test_transfer_modes_keep_exactly_their_fields(tmp_path):
    cfg = tiny_config(tmp_path, total_env_steps=160)
    program = cached_program(("point_u_maze", "point_big_maze"), cfg)
    assert program.groups == [[0, 1]], "equal shapes share one program"
    previous = jax.device_get(program.prefill(0, program.init(0, jax.random.PRNGKey(0))))
    fresh = jax.device_get(program.init(1, jax.random.PRNGKey(1)))

    def same(a, b):
        return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))

    for transfer, keep_opt, keep_buffer in [("none", False, False), ("critic", False, False), ("critic", True, False),
                                            ("all", False, True), ("all", True, False)]:
        before = jax.tree.map(jnp.asarray, previous)
        ts = jax.device_get(program.start_task(1, jax.random.PRNGKey(1), before, transfer, keep_opt, keep_buffer))
        kept = {"none": set(), "critic": {"critic_params"}, "all": {"critic_params", "actor_params", "log_alpha"}}[transfer]
        for field, opt in (("critic_params", "critic_opt"), ("actor_params", "actor_opt"), ("log_alpha", "alpha_opt")):
            assert same(getattr(ts, field), getattr(previous if field in kept else fresh, field)), (transfer, field)
            from_previous = field in kept and keep_opt
            assert same(getattr(ts, opt), getattr(previous if from_previous else fresh, opt)), (transfer, opt)
        assert same(ts.buffer, previous.buffer) == keep_buffer
        assert int(ts.env_steps) == 0


def test_metrics_match_hand_computed_values():
    tasks = ["a", "b", "c"]
    span = 100
    # success matrix S[i, j]
    S = np.array([[0.8, 0.1, 0.0], [0.5, 0.9, 0.2], [0.4, 0.6, 1.0]])
    own = {0: [0.0, 0.4, 0.8], 1: [0.3, 0.9, 0.9], 2: [0.2, 0.2, 1.0]}  # own curves at t = 0, 50, 100
    metrics_rows = []
    for i in range(3):
        for k, t in enumerate((0, 50, 100)):
            row = {"task_index": i, "task_env_steps": t, "task_end": float(t == span)}
            row.update({f"eval/{name}/success": (own[i][k] if j == i else S[i, j]) for j, name in enumerate(tasks)})
            metrics_rows.append(row)
    np.testing.assert_allclose(success_matrix(metrics_rows, tasks), S)
    curves = own_curves(metrics_rows, tasks)
    # AUC_a = (0.5 * (0 + 0.4) * 50 + 0.5 * (0.4 + 0.8) * 50) / 100 = 0.4
    assert auc(*curves[0], span) == pytest.approx(0.4)
    reference = [(np.array([0, 50, 100.0]), np.array(p)) for p in ([0.0, 0.0, 0.4], [0.0, 0.2, 0.6], [1.0, 1.0, 1.0])]
    m = summarize(S, curves, span, reference)
    assert m["average_performance"] == pytest.approx((0.4 + 0.6 + 1.0) / 3)
    np.testing.assert_allclose(m["forgetting"], [0.8 - 0.4, 0.9 - 0.6, 0.0])
    assert m["average_forgetting"] == pytest.approx((0.4 + 0.3) / 3)
    np.testing.assert_allclose(m["auc"], [0.4, 0.75, 0.4])  # c: (0.2 * 50 + 0.6 * 50) / 100
    np.testing.assert_allclose(m["reference_auc"], [0.1, 0.25, 1.0])
    # FT = (AUC - AUC_ref) / (1 - AUC_ref): (0.4 - 0.1) / 0.9, (0.75 - 0.25) / 0.75; undefined for AUC_ref = 1
    assert m["forward_transfer"][0] == pytest.approx(1 / 3) and m["forward_transfer"][1] == pytest.approx(2 / 3)
    assert m["forward_transfer"][2] is None and m["average_forward_transfer"] == pytest.approx(0.5)
    assert np.isnan(forward_transfer([0.5], [1.0])[0])
    with pytest.raises(ValueError, match="evaluations at 0 and 100"):
        auc(np.array([0, 50.0]), np.array([0.1, 0.2]), span)


def test_sigkill_mid_sequence_then_resume_is_bit_identical(tmp_path, runs):
    full = runs["none"].run_dir
    proc = subprocess.Popen(
        [sys.executable, "-m", "crlx.continual", *SEQUENCE_FLAGS, "--transfer=none", f"--log.run_dir={tmp_path}",
         "--log.run_name=killed"],
        env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    killed = tmp_path / "killed"
    deadline = time.time() + 400
    while latest_step(killed) is None and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert len(rows(killed)) < len(rows(full))
    assert main(["--resume", str(killed), "--log.progress=False"]) == 0
    assert rows(killed) == rows(full)
    assert json.loads((killed / "continual_metrics.json").read_text())["success_matrix"] == runs["none"].matrix.tolist()
    # resuming at a task boundary: the checkpoint after task 0 only
    boundary = tmp_path / "boundary"
    shutil.copytree(full, boundary)
    for step in (boundary / "checkpoints").iterdir():
        if step.name.isdigit() and int(step.name) > 160:
            shutil.rmtree(step)
    shutil.rmtree(boundary / "params" / "task_01")
    assert main(["--resume", str(boundary), "--log.progress=False"]) == 0
    assert rows(boundary) == rows(full)
    with pytest.raises(ConfigError, match="transfer"):
        parse_args(["--resume", str(boundary), "--transfer=all"])


def test_sigterm_mid_sequence_checkpoints_and_resumes_exactly(tmp_path, runs):
    """SIGTERM: the epoch in progress ends, a checkpoint is written, exit 143 with the resume command."""
    full = runs["none"].run_dir
    proc = subprocess.Popen(
        [sys.executable, "-m", "crlx.continual", *SEQUENCE_FLAGS, "--transfer=none", f"--log.run_dir={tmp_path}",
         "--log.run_name=stopped"],
        env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    stopped, deadline = tmp_path / "stopped", time.time() + 400
    metrics = stopped / "metrics.jsonl"
    while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= 2) and proc.poll() is None:
        assert time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err[-3000:]
    assert len(rows(stopped)) < len(rows(full)) and latest_step(stopped) == rows(stopped)[-1]["env_steps"]
    assert err.strip().splitlines()[-1].endswith(f"continue with: python -m crlx.continual --resume {stopped}"), err
    assert main(["--resume", str(stopped), "--log.progress=False"]) == 0
    assert rows(stopped) == rows(full)


def test_sizes_and_sequences_are_checked_before_compiling(tmp_path, capsys):
    cfg = tiny_config(tmp_path)
    with pytest.raises(ConfigError, match=r"observation sizes differ.*reacher differ from point_u_maze"):
        train_sequence(cfg, tasks="point_u_maze,reacher")
    with pytest.raises(ConfigError, match="exactly one of --sequence"):
        train_sequence(cfg, tasks="point_u_maze", sequence="mw_cw10")
    with pytest.raises(ConfigError, match="unknown sequence 'cw20'"):
        train_sequence(cfg, sequence="cw20")
    with pytest.raises(ConfigError, match="task point_nowhere_maze: .*unknown env"):
        train_sequence(cfg, tasks="point_u_maze,point_nowhere_maze")
    assert main(["--tasks", "point_u_maze,reacher", f"--log.run_dir={tmp_path}"]) == 2
    assert "reacher" in capsys.readouterr().err


def test_single_goal_commands_one_goal_per_task_and_keeps_hindsight(tmp_path):
    from crlx.envs import wrap_for_training

    cfg = tiny_config(tmp_path)
    cfg = cfg.replace(single_goal=True)
    program = cached_program(("point_u_maze", "point_big_maze"), cfg)
    goals = []
    for agent in program.agents:
        env = wrap_for_training(agent.env)
        state = env.reset(jax.random.split(jax.random.PRNGKey(0), 8))
        for _ in range(120):  # past an episode end (100 steps on point_u_maze): auto-reset keeps the goal
            state = env.step(state, jnp.ones((8, 2)))
        goal = np.asarray(state.info["goal"])
        assert (goal == goal[0]).all() and np.array_equal(np.asarray(state.obs[:, 2:]), goal)
        goals.append(goal[0])
        assert agent.env.achieved_goal is not None and agent.env.goal_dim == 2  # hindsight goals: the position
    assert not np.array_equal(goals[0], goals[1])
    again = cached_program(("point_u_maze", "point_big_maze"), cfg.replace(seed=cfg.seed + 1))
    assert not np.array_equal(np.asarray(again.agents[0].env.goal), goals[0]), "the goal is fixed per run (seed)"


def test_single_goal_is_a_training_flag():
    """`python -m crlx.train --single_goal True` builds the run's env on the goal crlx.continual uses."""
    from crlx import preflight
    from crlx.single_goal import SingleGoal, fixed_goal
    from crlx.train import parse_command

    cfg = parse_command(["--env", "point_u_maze", "--single_goal", "True", "--seed", "3"]).cfg
    env = preflight.prepare(cfg)
    assert isinstance(env, SingleGoal)
    np.testing.assert_array_equal(np.asarray(env.goal), fixed_goal(env.env, "point_u_maze", 3))
    goals = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 4)).info["goal"]
    assert (np.asarray(goals) == np.asarray(env.goal)).all()
    assert not isinstance(preflight.prepare(cfg.replace(single_goal=False)), SingleGoal)


def test_object_and_hand_goal_space_formula():
    """[object, hand - object] on a hand-made state, without building a scene."""
    from crlx.envs.metaworld import MetaWorldEnv

    env = MetaWorldEnv.__new__(MetaWorldEnv)
    env.goal_space = "object_and_hand"
    s = np.arange(39, dtype=np.float32) / 10
    np.testing.assert_allclose(np.asarray(env.achieved_goal(jnp.asarray(s))),
                               np.concatenate([s[36:39], s[0:3] - s[36:39]]), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(env.command(jnp.array([1.0, 2.0, 3.0]))), [1, 2, 3, 0, 0, 0])


@pytest.mark.metaworld
def test_object_and_hand_goal_space_on_the_state():
    """Three MJX steps of mw_push with goal_space object_and_hand (one compiled rollout)."""
    from crlx.envs import make_env

    env = make_env("mw_push", goal_space="object_and_hand")
    assert (env.goal_space, env.goal_dim) == ("object_and_hand", 6)
    actions = jnp.tile(jnp.array([0.5, 1.0, -0.5, 0.3]), (3, 3, 1))  # (steps, envs, 4)

    @jax.jit
    def rollout(keys):
        return jax.lax.scan(lambda s, a: (jax.vmap(env.step)(s, a), None), jax.vmap(env.reset)(keys), actions)[0]

    state = rollout(jax.random.split(jax.random.PRNGKey(0), 3))
    s, goal = np.asarray(state.obs[:, :39]), np.asarray(state.obs[:, 39:])
    np.testing.assert_allclose(np.asarray(env.achieved_goal(jnp.asarray(s))),
                               np.concatenate([s[:, 36:39], s[:, 0:3] - s[:, 36:39]], axis=1), atol=1e-6)
    np.testing.assert_array_equal(goal[:, 3:], 0.0)  # commanded [goal, 0, 0, 0]
    assert np.ptp(goal[:, :3], axis=0).max() > 0  # a fresh goal per env
    # success and dist stay Meta-World's: the object's distance to the goal only
    dist = np.linalg.norm((s[:, 36:39] - goal[:, :3])[:, list(env.task.success_axes)], axis=1)
    np.testing.assert_allclose(np.asarray(state.metrics["dist"]), dist, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(state.metrics["success"]), dist <= env.spec.success_threshold)


@pytest.mark.metaworld
@pytest.mark.slow
def test_cw10_prefix_of_two_tasks_end_to_end(tmp_path):
    """Marked slow: on a shared CPU core, XLA compiles one Meta-World prefill program in about 12
    minutes (measured for mw_hammer, docs/CONTINUAL.md), and hammer and push-wall compile their own."""
    cfg = tiny_config(tmp_path, num_envs=2, num_eval_envs=2, unroll_length=5, batch_size=8, episode_length=10,
                      total_env_steps=20, num_epochs=2)
    cfg = cfg.replace(buffer=BufferConfig(max_replay_size=20, min_replay_size=5))
    tasks = ",".join(crlx.envs.SEQUENCES["mw_cw10"][:2])
    result = train_sequence(cfg, tasks=tasks)
    assert result.tasks == ("mw_hammer", "mw_push_wall") and result.matrix.shape == (2, 2)
    assert np.isfinite(result.matrix).all() and (result.run_dir / "success_matrix.png").is_file()
