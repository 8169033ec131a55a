"""`python -m crlx.train` driven as a user drives it: a subprocess with flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import subprocess_env


TINY_SIZE_FLAGS = [  # small envs count, networks and buffer: compiles in seconds
    "--unroll_length", "10",
    "--batch_size=32",
    "--updates_per_iteration", "2",
    "--num_eval_envs=8",
    "--buffer.max_replay_size=100",
    "--buffer.min_replay_size", "10",
    "--actor.width=16",
    "--critic.width", "16",
    "--critic.repr_dim=8",
]
TINY_FLAGS = [
    "--env", "point_mass",
    "--num_envs=8",
    *TINY_SIZE_FLAGS,
    "--total_env_steps=320",
    "--num_epochs", "2",
    "--loss.auto_entropy=True",
    "--log.progress", "False",
]


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crlx.train", *args], cwd=cwd, env=subprocess_env(), capture_output=True, text=True, timeout=600
    )


def test_cli_trains_and_logs_to_wandb_offline(tmp_path):
    wandb_flags = ["--log.video=rollout.gif", "--wandb.mode", "offline", "--log.wandb_group=grp-xyz", "--log.wandb_tags", "tag-a", "tag-b"]
    proc = run_cli([*TINY_FLAGS, *wandb_flags, "--log.run_dir", str(tmp_path), "--log.run_name=cli"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "cli"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["num_envs"] == 8 and config["critic"]["repr_dim"] == 8 and config["wandb"]["mode"] == "offline"
    sources = config["sources"]
    assert (sources["num_envs"], sources["alpha_lr"], sources["discount"]) == ("flag", "env", "crlx")
    assert config["alpha_lr"] == 3e-3  # point_mass's training default (crlx's is 3e-4)
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["env_steps"] for r in rows] == [0, 160, 320]
    assert "critic/accuracy" in rows[-1] and "eval/success" in rows[-1]
    offline_runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1, list((run_dir / "wandb").iterdir())
    run_files = list(offline_runs[0].glob("run-*.wandb"))
    assert run_files, "wandb wrote no run file"
    logged = run_files[0].read_bytes()
    missing = [key for row in rows for key in row if key.encode() not in logged]
    assert not missing, f"metrics not sent to wandb: {missing}"
    assert (run_dir / "learning_curves.png").stat().st_size > 0 and (run_dir / "rollout.gif").stat().st_size > 0
    for value in (b"grp-xyz", b"tag-a", b"tag-b", b'"repr_dim"', b"eval/video", b"plots/learning_curves"):
        assert value in logged, value


def test_cli_bad_input_exits_nonzero_with_message(tmp_path):
    proc = run_cli(["--env", "reachr", "--log.run_dir", str(tmp_path)], tmp_path)
    assert proc.returncode != 0
    assert "unknown env 'reachr'" in proc.stderr and "reacher" in proc.stderr
    proc = run_cli([*TINY_FLAGS, "--buffer.min_replay_size=1000", "--log.run_dir", str(tmp_path)], tmp_path)
    assert proc.returncode == 2
    assert "buffer.min_replay_size=1000 exceeds buffer.max_replay_size=100" in proc.stderr


def test_cli_help_shows_field_docs(tmp_path):
    proc = run_cli(["--help"], tmp_path)
    assert proc.returncode == 0
    assert "update-to-data ratio" in proc.stdout and "--loss.energy" in proc.stdout
    assert "usage: python -m crlx.train" in proc.stdout and "train.py" not in proc.stdout


def test_precedence_crlx_then_env_then_config_file_then_flags(tmp_path):
    from crlx.config import Config
    from crlx.train import parse_command

    preset = tmp_path / "preset.yaml"
    preset.write_text("env: point_mass\nnum_envs: 16\nunroll_length: 20\nactor: {width: 32}\n")
    cfg, _, sources = parse_command(["--config", str(preset), "--unroll_length", "30"])
    env_defaults = Config.for_env("point_mass")
    assert env_defaults.num_envs == 32 and Config().num_envs == 256
    assert (cfg.num_envs, cfg.unroll_length, cfg.actor.width, cfg.critic.width) == (16, 30, 32, env_defaults.critic.width)
    assert (cfg.discount, cfg.updates_per_iteration) == (Config().discount, env_defaults.updates_per_iteration)
    assert sources["num_envs"] == "config" and sources["unroll_length"] == "flag"
    assert sources["actor.width"] == "config" and sources["critic.width"] == "env" and sources["discount"] == "crlx"
    flagged, _, _ = parse_command(["--env", "reacher", "--config", str(preset)])  # the flag's env wins
    assert flagged.env == "reacher" and flagged.num_envs == 16
