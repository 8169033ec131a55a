"""Runs never lose or mix work: SIGINT / SIGTERM / SIGKILL then resume, one run per directory,
checksummed checkpoints with fallback, every bad value refused before compiling."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import pytest

import crlx
from crlx import checkpoint
from crlx.checkpoint import CheckpointError, latest_step
from crlx.config import CheckpointConfig
from crlx.runlock import LOCK_FILE
from crlx.train import main, parse_command
from tests.conftest import ROOT, subprocess_env, tiny_config
from tests.test_cli import TINY_FLAGS, run_cli

RUN_FLAGS = [*TINY_FLAGS, "--num_epochs=8", "--total_env_steps=1280", "--checkpoint.every=2"]
"""8 epochs of 160 env steps, a checkpoint every 2 epochs"""


def rows(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the wall-clock perf/ fields."""
    return [{k: v for k, v in json.loads(line).items() if not k.startswith("perf/")}
            for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def wall_seconds(run_dir: Path) -> list[tuple[int, float]]:
    """(env steps, perf/wall_s) of the rows that have it (every row after an epoch)."""
    out = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [(row["env_steps"], row["perf/wall_s"]) for row in out if "perf/wall_s" in row]


def start(args: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "crlx.train", *args], env=subprocess_env(), text=True, **kw)


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"the run ended (rc {proc.returncode}) before {what}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# ---- one run, one directory ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory):
    """Run A (the uninterrupted reference of the stop tests) holds `same/`; while it is paused holding
    it, run B is started into the same directory. A asks for 1,200 env steps (rounded up to 1,280, the
    same program as 1,280) and saves on the wall clock (every 1e-9 minutes: after every epoch)."""
    root = tmp_path_factory.mktemp("concurrent")
    flags = [*RUN_FLAGS, "--total_env_steps=1200", "--checkpoint.every_minutes=1e-9", "--checkpoint.keep=20",
             f"--log.run_dir={root}", "--log.run_name=same"]
    a = start([*flags, "--log.progress=True"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lock = root / "same" / LOCK_FILE
    wait_for(lambda: lock.is_file() and f'"pid": {a.pid}' in lock.read_text(), a, "run A took its lock")
    os.kill(a.pid, signal.SIGSTOP)  # A holds the lock, paused
    try:
        t0 = time.perf_counter()
        b = run_cli(flags, root)
        b_seconds = time.perf_counter() - t0
    finally:
        os.kill(a.pid, signal.SIGCONT)
    a_out, a_err = a.communicate(timeout=600)
    return {"dir": root / "same", "a": a, "a_err": a_err, "b": b, "b_seconds": b_seconds}


def test_a_second_run_into_a_held_directory_stops_naming_the_first(concurrent):
    a, b = concurrent["a"], concurrent["b"]
    assert a.returncode == 0, concurrent["a_err"][-3000:]
    assert b.returncode == 2, b.stderr[-3000:]
    assert f"is in use by another run (pid {a.pid} on host" in b.stderr and "python -m crlx.train" in b.stderr
    assert "compiling" not in b.stderr and b.stderr.count("crlx: error:") == 1, b.stderr
    # A's files are its own: every row once, in order, and its config
    assert [r["env_steps"] for r in rows(concurrent["dir"])] == list(range(0, 1281, 160))
    assert json.loads((concurrent["dir"] / "config.json").read_text())["total_env_steps"] == 1200
    assert (concurrent["dir"] / LOCK_FILE).read_text() == ""  # released (emptied) when A ended


def test_a_fresh_run_into_a_used_directory_is_refused(concurrent, capsys):
    assert main([*RUN_FLAGS, f"--log.run_dir={concurrent['dir'].parent}", "--log.run_name=same"]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and f"--resume {concurrent['dir']}" in err


def test_a_run_that_saved_nothing_points_to_a_fresh_start_not_to_resume(tmp_path, capsys):
    dead = tmp_path / "dead"  # a run killed before its first checkpoint
    dead.mkdir()
    (dead / "metrics.jsonl").write_text("")
    (dead / "config.json").write_text(json.dumps(tiny_config(tmp_path).to_dict()))
    assert main([*TINY_FLAGS, f"--log.run_dir={tmp_path}", "--log.run_name=dead"]) == 2
    err = capsys.readouterr().err
    assert "saved no checkpoint" in err and "--resume" not in err
    assert main(["--resume", str(dead)]) == 2
    err = capsys.readouterr().err
    assert "stopped before its first checkpoint" in err and "start it afresh" in err


def test_default_run_names_differ_between_runs_started_together():
    from crlx.logging import default_run_name

    cfg = crlx.Config(env="point_mass")
    now = 1_796_400_000.25
    names = {default_run_name(cfg, now), default_run_name(cfg.replace(actor_lr=1e-3), now),
             default_run_name(cfg, now + 0.001)}
    assert len(names) == 3, names
    assert default_run_name(cfg, now).endswith("-250-" + default_run_name(cfg, now).rsplit("-", 1)[1])


def test_the_start_up_lines_say_how_the_budget_was_rounded(concurrent):
    assert "total_env_steps 1,200 rounded up to 1,280: 8 epochs of 2 iterations of 80 env steps" in concurrent["a_err"]
    assert "checkpoints: state" in concurrent["a_err"]


def test_checkpoints_follow_the_wall_clock(concurrent):
    """every_minutes=1e-9 saves after every epoch although checkpoint.every is 2."""
    assert checkpoint.steps(concurrent["dir"]) == list(range(160, 1281, 160))


def test_wall_clock_schedule():
    now = [0.0]
    schedule = checkpoint.Schedule(every=10, every_minutes=5, clock=lambda: now[0])
    assert not schedule.due(1)
    now[0] = 299.0
    assert not schedule.due(2) and schedule.due(10) and schedule.due(3, last=True) and schedule.due(3, stopping=True)
    now[0] = 300.0
    assert schedule.due(3)
    schedule.saved()
    assert not schedule.due(4)
    assert not checkpoint.Schedule(every=0, every_minutes=5).due(10, last=True, stopping=True)  # checkpoints off
    assert not checkpoint.Schedule(every=3, every_minutes=0, clock=lambda: 1e9).due(4)


# ---- stopping is safe ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_stopped_run_resumes_bit_identical(concurrent, tmp_path, signum):
    """SIGINT / SIGTERM: the epoch in progress finishes, a checkpoint is written, one line says where and
    how to resume, exit 130 / 143. SIGKILL: the last checkpoint. Either way --resume continues exactly."""
    full = concurrent["dir"]
    proc = start([*RUN_FLAGS, f"--log.run_dir={tmp_path}", "--log.run_name=stopped"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stopped = tmp_path / "stopped"
    if signum == signal.SIGKILL:
        wait_for(lambda: latest_step(stopped) is not None, proc, "the first checkpoint")
    else:
        metrics = stopped / "metrics.jsonl"
        wait_for(lambda: metrics.is_file() and len(metrics.read_text().splitlines()) >= 2, proc, "the first epoch")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=300)
    kept = rows(stopped)
    assert len(kept) < len(rows(full)), "the run finished before it could be stopped"
    if signum == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        assert f'"pid": {proc.pid}' in (stopped / LOCK_FILE).read_text()  # a stale lock: the OS dropped it
    else:
        assert proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[signum], err[-3000:]
        assert f"crlx: {signum.name} received: finishing epoch" in err and "Traceback" not in err, err
        last = err.strip().splitlines()[-1]
        step = kept[-1]["env_steps"]
        assert last.startswith(f"crlx: stopped by {signum.name} after epoch {step // 160} of 8 (env step {step:,})")
        assert f"checkpoint {stopped.absolute() / 'checkpoints' / str(step)}" in last
        assert last.endswith(f"continue with: python -m crlx.train --resume {stopped}")
        assert latest_step(stopped) == step  # saved at the stop, off the every-2-epochs cadence when odd
        assert (stopped / "learning_curves.png").is_file()
    resume_at = latest_step(stopped)
    assert main(["--resume", str(stopped), "--log.progress=False"]) == 0
    assert rows(stopped) == rows(full)
    walls = wall_seconds(stopped)
    before = [w for (step, w) in walls if step <= resume_at]
    after = [w for (step, w) in walls if step > resume_at]
    assert before and after and min(after) > max(before)  # perf/wall_s continues across the resume


def test_stop_request_restores_the_handlers_it_replaced():
    from crlx.interrupt import StopRequest

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with StopRequest() as stop:
        assert stop.signum is None
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        assert stop.signum == signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) == before[0]  # a second SIGTERM acts as before
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_finished_run_can_be_extended(concurrent, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(concurrent["dir"], run)
    assert main(["--resume", str(run), "--total_env_steps=1100"]) == 2  # fewer than planned
    assert "already plans 1,280 env steps" in capsys.readouterr().err
    assert main(["--resume", str(run), "--total_env_steps=1500", "--log.progress=False"]) == 0
    assert [r["env_steps"] for r in rows(run)] == list(range(0, 1601, 160))  # rounded up to whole epochs
    assert rows(run)[:9] == rows(concurrent["dir"])
    saved = json.loads((run / "config.json").read_text())
    assert (saved["num_epochs"], saved["derived"]["planned_env_steps"], saved["derived"]["iterations_per_epoch"]) == (10, 1600, 2)


# ---- corrupt checkpoints ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A finished tiny run with checkpoints at 160 and 320 env steps, and a fresh state to restore into."""
    root = tmp_path_factory.mktemp("saved")
    cfg = tiny_config(root, checkpoint=CheckpointConfig(every=1, keep=3))
    result = crlx.train(cfg)
    from crlx.agent import make_agent

    agent = make_agent(cfg)
    return {"cfg": cfg, "dir": result.run_dir, "history": result.history, "agent": agent,
            "target": agent.init(jax.random.PRNGKey(7))}


def copy_of(saved, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(saved["dir"], run)
    return run


def largest_file(folder: Path) -> Path:
    return max((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)


def flip_bytes(path: Path, count: int = 8) -> None:
    data = bytearray(path.read_bytes())
    for i in range(count):
        data[(i * 7919) % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("item", ["state", "buffer"])
def test_flipped_bytes_are_found_and_the_previous_checkpoint_is_used(saved, tmp_path, item):
    run = copy_of(saved, tmp_path)
    bad = largest_file(run / "checkpoints" / "320" / item)
    flip_bytes(bad)
    warnings = []
    _, meta, _ = checkpoint.restore(run, saved["target"], warn=warnings.append)
    assert meta["env_steps"] == 160
    assert len(warnings) == 1 and "checkpoints/320 is corrupt" in warnings[0], warnings
    assert f"{bad.relative_to(run / 'checkpoints' / '320')} fails its SHA-256 checksum" in warnings[0]
    assert checkpoint.steps(run) == [160] and (run / "checkpoints" / "320.corrupt").is_dir()


def test_a_truncated_checkpoint_is_reported_and_the_run_continues_from_the_previous_one(saved, tmp_path, capsys):
    run = copy_of(saved, tmp_path)
    bad = largest_file(run / "checkpoints" / "320" / "state")
    size = bad.stat().st_size
    bad.write_bytes(bad.read_bytes()[: size // 2])
    result = crlx.train(saved["cfg"], resume=run)
    err = capsys.readouterr().err
    assert f"has {size // 2} of its {size} bytes" in err and "trying the previous one" in err
    assert rows(run) == [{k: v for k, v in r.items() if not k.startswith("perf/")} for r in saved["history"]]
    assert latest_step(run) == 320 and result.history[-1]["env_steps"] == 320


def test_no_good_checkpoint_is_a_short_error_naming_the_files(saved, tmp_path, capsys):
    run = copy_of(saved, tmp_path)
    for step in ("160", "320"):
        flip_bytes(largest_file(run / "checkpoints" / step / "buffer"))
    assert main(["--resume", str(run), "--log.progress=False"]) == 2
    err = capsys.readouterr().err
    error = [line for line in err.splitlines() if line.startswith("crlx: error:")]
    assert len(error) == 1 and "no good checkpoint" in error[0] and "fails its SHA-256 checksum" in error[0], err
    assert "160" in error[0] and "320" in error[0] and len(err.splitlines()) <= 4, err
    assert main(["--resume", str(run), "--log.progress=False"]) == 2  # again: the renamed ones are named
    assert "160.corrupt, 320.corrupt failed their checksums" in capsys.readouterr().err


def test_an_unfinished_write_is_reported_and_removed(saved, tmp_path):
    run = copy_of(saved, tmp_path)
    tmp = run / "checkpoints" / "480.orbax-checkpoint-tmp-1764880000"
    (tmp / "state").mkdir(parents=True)
    (tmp / "state" / "half").write_bytes(b"\0" * 100)
    warnings = []
    _, meta, _ = checkpoint.restore(run, saved["target"], warn=warnings.append)
    assert meta["env_steps"] == 320 and not tmp.exists()
    assert len(warnings) == 1 and "480.orbax-checkpoint-tmp-1764880000" in warnings[0] and "unfinished" in warnings[0]
    # killed while writing its first checkpoint: nothing to resume, said so
    for step in checkpoint.steps(run):
        shutil.rmtree(run / "checkpoints" / str(step))
    (tmp / "state").mkdir(parents=True)
    with pytest.raises(CheckpointError, match="stopped before its first checkpoint"):
        checkpoint.restore(run, saved["target"], warn=warnings.append)
    assert "unfinished" in warnings[-1]


def test_a_restored_state_compiles_to_the_cached_program(saved):
    """Restored arrays are placed as a fresh state's are, so the resumed run lowers to the same program
    (the compilation cache's key) instead of compiling again."""
    agent, target = saved["agent"], saved["target"]
    restored, _, _ = checkpoint.restore(saved["dir"], target)
    assert [x.committed for x in jax.tree.leaves(restored)] == [x.committed for x in jax.tree.leaves(target)]
    assert agent.program.lower(restored, *agent.epoch_args).as_text() == agent.program.lower(target, *agent.epoch_args).as_text()


# ---- bad values and paths, refused before compiling ---------------------------------------------------

BAD_VALUES = [
    ("--actor_lr=inf", "actor_lr must be a finite number"),
    ("--critic_lr=inf", "critic_lr must be a finite number"),
    ("--alpha_lr=inf", "alpha_lr must be a finite number"),
    ("--loss.temperature=inf", "loss.temperature must be a finite number"),
    ("--loss.init_alpha=inf", "loss.init_alpha must be a finite number"),
    ("--actor.init_scale=inf", "actor.init_scale must be a finite number"),
    ("--critic.init_scale=inf", "critic.init_scale must be a finite number"),
    ("--success_threshold=inf", "success_threshold must be a finite number"),
    ("--loss.logsumexp_penalty=nan", "loss.logsumexp_penalty must be a finite number"),
    ("--loss.logsumexp_penalty=inf", "loss.logsumexp_penalty must be a finite number"),
    ("--loss.target_entropy_per_dim=nan", "loss.target_entropy_per_dim must be a finite number"),
    ("--loss.target_entropy_per_dim=-inf", "loss.target_entropy_per_dim must be a finite number"),
    ("--actor.min_log_std=nan", "actor.min_log_std must be a finite number"),
    ("--actor.min_log_std=-inf", "actor.min_log_std must be a finite number"),
    ("--actor.max_log_std=inf", "actor.max_log_std must be a finite number"),
    ("--actor.max_log_std=nan", "actor.max_log_std must be a finite number"),
    ("--discount=0.99999999", "discount=0.99999999 rounds to 1.0 in float32"),
    ("--total_env_steps=2147483680", "total_env_steps=2,147,483,680 does not fit the int32 step counter"),
    ("--total_env_steps=2147483600", "(rounded up to whole epochs: 2,147,483,680) does not fit the int32 step counter"),
    ("--updates_per_iteration=600000000", "updates_per_iteration=600000000: the run would make 2,400,000,000 updates"),
    ("--log.run_name=../../escape", "log.run_name must be one directory name"),
    ("--log.run_name=a/b", "log.run_name must be one directory name"),
    ("--checkpoint.every_minutes=-1", "checkpoint.every_minutes must be >= 0"),
]


@pytest.mark.parametrize("flag,message", BAD_VALUES, ids=[flag for flag, _ in BAD_VALUES])
def test_bad_values_exit_2_naming_the_field_before_anything_is_written(tmp_path, capsys, flag, message):
    assert main([*TINY_FLAGS, flag, f"--log.run_dir={tmp_path / 'runs'}"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "runs").exists()


def test_an_unwritable_run_dir_exits_2_before_compiling(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main([*TINY_FLAGS, "--log.progress=True", f"--log.run_dir={blocker / 'runs'}"]) == 2
    err = capsys.readouterr().err
    assert f"log.run_dir: cannot write the run directory {blocker / 'runs'}" in err and "compiling" not in err, err
    assert err.strip().splitlines()[-1].startswith("crlx: error:") and "Traceback" not in err


def test_yaml_syntax_errors_name_file_line_and_column(tmp_path, capsys):
    preset = tmp_path / "bad.yaml"
    preset.write_text("env: point_mass\nnum_envs: 8\nbuffer: {max_replay_size: 100\nnum_epochs: 2\n")
    assert main(["--config", str(preset)]) == 2
    err = capsys.readouterr().err
    assert f"--config: {preset}:4:" in err and "not valid YAML" in err and "line 3, column 9" in err, err
    assert len(err.strip().splitlines()) == 1
    preset.write_text("env: point_mass\nactor_lr: 1e-5\ncritic_lr: 2E-4\n")  # YAML 1.1 would read strings
    cfg = parse_command(["--config", str(preset)]).cfg
    assert (cfg.actor_lr, cfg.critic_lr) == (1e-5, 2e-4)


# ---- presets by name, available envs ---------------------------------------------------------------


def test_presets_are_usable_by_name_from_any_directory(tmp_path, monkeypatch):
    import tomllib

    expected = parse_command(["--config", str(ROOT / "configs" / "cpu.yaml")]).cfg
    monkeypatch.chdir(tmp_path)
    for value in ("cpu", "cpu.yaml", "configs/cpu.yaml"):
        assert parse_command(["--config", value]).cfg == expected, value
    with pytest.raises(crlx.ConfigError, match="no such file 'cpux', nor a preset of that name; crlx's presets: cpu, jaxgcrl"):
        parse_command(["--config", "cpux"])
    # the wheel ships configs/ as crlx/configs, where a bare name resolves outside a checkout
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["force-include"]["configs"] == "crlx/configs"
    from crlx.train import preset_dirs

    package = Path(crlx.__file__).resolve().parent
    assert preset_dirs() == [d for d in (package / "configs", ROOT / "configs") if d.is_dir()]


def test_available_envs_say_which_envs_this_install_can_build(monkeypatch):
    import crlx.envs
    from crlx.envs import ENVS, MW_ENVS

    monkeypatch.setattr(crlx.envs, "metaworld_available", lambda: False)
    missing = crlx.unavailable_envs()
    assert sorted(missing) == sorted(MW_ENVS) and all('pip install -e ".[metaworld]"' in why for why in missing.values())
    assert crlx.available_envs() == sorted(set(ENVS) - set(MW_ENVS)) and "point_mass" in crlx.available_envs()
    monkeypatch.setattr(crlx.envs, "metaworld_available", lambda: True)
    assert crlx.unavailable_envs() == {} and crlx.available_envs() == sorted(ENVS)
