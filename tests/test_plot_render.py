"""Learning-curve PNGs, the `python -m crlx.plot` comparison CLI, and rollout videos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import crlx
from crlx.plot import CURVES_FILE, aggregate, group_runs, load_runs, write_learning_curves
from crlx.render import gl_available, render_rollout, write_video
from tests.conftest import subprocess_env

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fake_run(root: Path, name: str, seed: int, energy: str, offset: float) -> Path:
    """A run dir as crlx.train writes it: config.json and one metrics row per evaluation."""
    run = root / name
    run.mkdir(parents=True)
    config = {
        "env": "point_mass",
        "seed": seed,
        "num_envs": 32,
        "loss": {"energy": energy, "contrastive": "infonce"},
        "log": {"run_dir": str(root), "run_name": name, "progress": False},
        "wandb": {"mode": "disabled"},
        "derived": {"env_steps_per_iteration": 1600},
    }
    (run / "config.json").write_text(json.dumps(config, indent=2))
    rows = [{"env_steps": 0, "eval/success": 0.0, "perf/compile_s": 3.0}]  # the first row has no critic metrics
    for i in range(1, 6):
        rows.append(
            {"env_steps": 1000 * i, "eval/success": min(1.0, 0.2 * i + offset), "critic/accuracy": 0.1 * i + offset}
        )
    rows[2]["critic/accuracy"] = float("nan")  # a non-finite value is left out of the curve
    (run / "metrics.jsonl").write_text("".join(json.dumps(r, allow_nan=True) + "\n" for r in rows))
    return run


@pytest.fixture
def runs(tmp_path) -> list[Path]:
    return [
        fake_run(tmp_path, "l2-s0", 0, "l2", 0.0),
        fake_run(tmp_path, "l2-s1", 1, "l2", 0.1),
        fake_run(tmp_path, "dot-s0", 0, "dot", -0.1),
        fake_run(tmp_path, "dot-s1", 1, "dot", -0.05),
    ]


def check_png(path: Path, size: tuple[int, int] | None = None) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    with Image.open(path) as image:
        image.load()
        if size is not None:
            assert image.size == size
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.std() > 5.0, "the figure is blank"


def plot_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = subprocess_env()
    return subprocess.run(
        [sys.executable, "-m", "crlx.plot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_write_learning_curves_writes_a_png(runs):
    paths = write_learning_curves(runs[0])
    assert paths == [runs[0] / CURVES_FILE]
    check_png(paths[0], size=(1000, 380))  # two 5 x 3.8 inch panels at 100 dpi


def test_runs_are_grouped_over_seeds_and_labelled_by_what_differs(runs):
    groups = group_runs(load_runs(runs))
    assert [[r.dir.name for r in g.runs] for g in groups] == [["l2-s0", "l2-s1"], ["dot-s0", "dot-s1"]]
    assert [g.label for g in groups] == ["loss.energy=l2 (n=2)", "loss.energy=dot (n=2)"]
    stats = aggregate(groups[0].runs, "eval/success", band="minmax")
    assert stats["steps"].tolist() == [0, 1000, 2000, 3000, 4000, 5000]
    np.testing.assert_allclose(stats["mean"][1], 0.25)
    np.testing.assert_allclose([stats["low"][1], stats["high"][1]], [0.2, 0.3])
    std = aggregate(groups[0].runs, "critic/accuracy", band="std")
    assert 2000 not in std["steps"].tolist()  # NaN in both seeds
    np.testing.assert_allclose(std["high"][0] - std["mean"][0], 0.05)


def test_plot_cli_compares_groups(runs, tmp_path):
    out = tmp_path / "compare.png"
    result = plot_cli([*map(str, runs), "--metric", "eval/success", "--out", str(out)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loss.energy=dot (n=2)" in result.stdout
    check_png(out)


def test_plot_cli_fails_clearly_without_metrics(runs, tmp_path):
    empty = tmp_path / "not-a-run"
    empty.mkdir()
    result = plot_cli([str(runs[0]), str(empty), "--out", str(tmp_path / "x.png")], cwd=tmp_path)
    assert result.returncode != 0
    assert "not-a-run" in result.stderr and "no metrics.jsonl" in result.stderr
    assert not (tmp_path / "x.png").exists()


def towards_goal(obs: jax.Array) -> jax.Array:
    return jnp.clip(10.0 * (obs[2:] - obs[:2]), -1.0, 1.0)


def test_point_mass_gif(tmp_path):
    env = crlx.make_env("point_mass")
    key = jax.random.PRNGKey(3)
    path = render_rollout(env, towards_goal, key, tmp_path / "pm.gif", num_steps=20, width=160, height=120)
    assert path.read_bytes()[:6] == b"GIF89a"
    with Image.open(path) as gif:
        assert gif.size == (160, 120) and gif.n_frames == 21  # the reset frame + 20 steps
        first = np.asarray(gif.convert("RGB"), dtype=np.int32)
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"), dtype=np.int32)
    assert np.abs(first - last).sum() > 0, "the point did not move in the video"


def test_render_rejects_bad_arguments(tmp_path):
    env = crlx.make_env("point_mass")
    with pytest.raises(ValueError, match="must end in one of"):
        render_rollout(env, towards_goal, jax.random.PRNGKey(0), tmp_path / "pm.avi")
    with pytest.raises(ValueError, match="no MJCF scene"):
        render_rollout(env, towards_goal, jax.random.PRNGKey(0), tmp_path / "pm.gif", mode="mujoco")


def test_gl_available_names_the_backend_or_the_fix():
    """With GL it names the MUJOCO_GL backend in use; without, the reason and the packages to install."""
    ok, reason = gl_available()
    if ok:
        assert reason.startswith("MUJOCO_GL="), reason
    else:
        assert "offscreen rendering is unavailable (MUJOCO_GL=" in reason and "libegl1" in reason, reason


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # reading the mp4 back starts ffmpeg
def test_reacher_mp4_and_gif(tmp_path):
    ok, reason = gl_available()
    if not ok:
        pytest.skip(reason)
    import imageio_ffmpeg

    env = crlx.make_env("reacher")
    path = render_rollout(env, lambda obs: jnp.zeros(2), jax.random.PRNGKey(0), tmp_path / "reacher.mp4", num_steps=10)
    assert path.read_bytes()[4:8] == b"ftyp"
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(240, 320, 3) for f in reader]
    assert meta["size"] == (320, 240) and meta["fps"] == 50.0  # 1 / env.dt
    assert len(frames) == 11
    assert 20 < frames[-1].mean() < 250, "the frame is blank"
    gif = write_video(frames, tmp_path / "reacher.gif", fps=50)
    with Image.open(gif) as image:
        assert image.n_frames == 11 and image.size == (320, 240)
