"""Rollout videos: one deterministic episode of a GoalEnv, rendered to mp4 or gif.

    import crlx
    from crlx.render import gl_available, render_rollout

    env = crlx.make_env("reacher")
    policy = crlx.make_policy(result.params, cfg)          # obs -> action
    render_rollout(env, policy, jax.random.PRNGKey(0), "runs/x/rollout.mp4")

Envs with an MJCF scene (`PhysicsGoalEnv` and the Meta-World envs, which have `mj_model`) are
drawn by MuJoCo's offscreen `mujoco.Renderer`: each step's `env.scene_fields(state)` (qpos, qvel;
for Meta-World also the mocap and the episode's moved bodies) is copied into an `MjData`
(`body_pos` into a copy of the model), `mj_forward` places the bodies, and the goal is added to
the scene as visual-only geoms (a flat disc of radius `success_threshold` on the floor, green on
steps that count as success, red otherwise, and a small sphere at its centre; for 3-D goals a
translucent sphere). Envs without a scene (`point_mass`) are drawn in 2-D with PIL: the arena,
the goal disc, the trail and the point.

Headless GL: on Linux without DISPLAY/WAYLAND_DISPLAY, and only when MUJOCO_GL is unset, this
module sets MUJOCO_GL=egl. MuJoCo picks its GL backend when it is first imported (importing
`crlx` already imports it); if that import happened before this module set the variable, the
EGL context class is swapped in before the first Renderer is made. `gl_available()` says whether
offscreen rendering works here, with the reason when it does not.
"""

from __future__ import annotations

import copy
import functools
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

_AUTO_GL: str | None = None
if "MUJOCO_GL" not in os.environ and sys.platform.startswith("linux"):
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["MUJOCO_GL"] = _AUTO_GL = "egl"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from crlx.envs.base import EpisodeWrapper, GoalEnv  # noqa: E402

VIDEO_SUFFIXES = (".mp4", ".gif")
DEFAULT_FPS = 20
"""frame rate for envs without a physics time step (`env.dt`)"""

_SUCCESS_RGBA = np.array([0.15, 0.75, 0.25, 0.55], np.float32)
_MISS_RGBA = np.array([0.85, 0.25, 0.2, 0.45], np.float32)
_CENTRE_RGBA = np.array([0.1, 0.6, 0.2, 1.0], np.float32)


# ---------------------------------------------------------------------------------------------
# GL set-up


def _use_auto_gl() -> None:
    """If this module chose MUJOCO_GL but mujoco was imported earlier with its default, switch."""
    if _AUTO_GL is None:
        return
    try:
        from mujoco.rendering.classic import gl_context
    except ImportError:  # older MuJoCo, e.g. 3.3 (the metaworld extra pins it)
        from mujoco import gl_context

    if getattr(gl_context, "_MUJOCO_GL", _AUTO_GL) == _AUTO_GL or getattr(gl_context, "_crlx_switched", False):
        return
    from mujoco.egl import GLContext  # sets PYOPENGL_PLATFORM=egl before OpenGL is imported

    gl_context.GLContext = GLContext
    gl_context._crlx_switched = True


_GL_SWITCH_ERROR: Exception | None = None
try:  # so that mujoco.Renderer works headless after `import crlx.render`, even outside this module
    _use_auto_gl()
except Exception as _err:  # e.g. no libEGL: reported by gl_available()
    _GL_SWITCH_ERROR = _err


def _gl_backend() -> str:
    return os.environ.get("MUJOCO_GL", "") or "glfw (default)"


@functools.lru_cache(maxsize=1)
def gl_available() -> tuple[bool, str]:
    """(True, backend) if a tiny `mujoco.Renderer` can render here, else (False, reason). Cached."""
    try:
        if _GL_SWITCH_ERROR is not None:
            raise _GL_SWITCH_ERROR
        _use_auto_gl()
        model = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom size="0.1"/></worldbody></mujoco>')
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        with warnings.catch_warnings():  # glfw reports a missing display as warnings before failing
            warnings.simplefilter("ignore")
            renderer = mujoco.Renderer(model, 16, 16)
        try:
            renderer.update_scene(data)
            pixels = renderer.render()
        finally:
            renderer.close()
        if pixels.shape != (16, 16, 3):
            return False, f"MUJOCO_GL={_gl_backend()}: the test render returned shape {pixels.shape}"
    except Exception as err:  # any failure of context creation means: no offscreen GL here
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return False, (
            f"MuJoCo offscreen rendering is unavailable (MUJOCO_GL={_gl_backend()}): {type(err).__name__}: {message}. "
            "Headless Linux needs EGL (apt: libegl1 libgl1-mesa-dri) or OSMesa (apt: libosmesa6, MUJOCO_GL=osmesa)."
        )
    return True, f"MUJOCO_GL={_gl_backend()}"


# ---------------------------------------------------------------------------------------------
# The episode


def _unwrap(env: Any) -> GoalEnv:
    """The GoalEnv inside brax wrappers (render_rollout wraps it again with its own episode limit)."""
    while not isinstance(env, GoalEnv) and hasattr(env, "env"):
        env = env.env
    if not isinstance(env, GoalEnv):
        raise TypeError(f"render_rollout: expected a crlx GoalEnv, got {type(env).__name__}")
    return env


def _has_scene(env: GoalEnv) -> bool:
    """Whether `env` has an MJCF scene (`mj_model`) that MuJoCo can draw."""
    return getattr(env, "mj_model", None) is not None


def run_episode(env: GoalEnv, policy_fn: Callable, key: jax.Array, num_steps: int | None = None) -> dict:
    """One deterministic episode with jitted reset/step; host arrays, one row per frame.

    Returns {"obs": (T+1, obs_dim), "dist": (T+1,), "success": (T+1,), "goal": (T+1, goal_dim),
    "scene": {field: (T+1, ...)} from `env.scene_fields` or None without an MJCF scene}. Frame 0
    is the reset state; the episode stops early when the env terminates (e.g. the ant falls).
    """
    env = _unwrap(env)
    length = env.spec.episode_length if num_steps is None else int(num_steps)
    if length < 1:
        raise ValueError(f"render_rollout: num_steps must be >= 1, got {num_steps}")
    if isinstance(key, int):
        key = jax.random.PRNGKey(key)
    episode_env = EpisodeWrapper(env, length)
    reset, step = jax.jit(episode_env.reset), jax.jit(episode_env.step)
    physics = _has_scene(env)

    def snapshot(state) -> tuple:
        return jax.device_get(
            (
                state.obs,
                state.metrics["dist"],
                state.metrics["success"],
                state.info["goal"],
                state.done,
                state.info["truncation"],
                env.scene_fields(state) if physics else None,
            )
        )

    state = reset(key)
    rows = [snapshot(state)]
    for _ in range(length):
        action = jnp.asarray(policy_fn(state.obs))
        state = step(state, action)
        rows.append(snapshot(state))
        done, truncation = rows[-1][4], rows[-1][5]
        if done > 0 and truncation == 0:  # terminated before the time limit
            break
    cols = list(zip(*rows))
    return {
        "obs": np.stack(cols[0]),
        "dist": np.asarray(cols[1], np.float64),
        "success": np.asarray(cols[2], np.float64),
        "goal": np.stack(cols[3]),
        "scene": {field: np.stack([row[field] for row in cols[6]]) for field in cols[6][0]} if physics else None,
    }


# ---------------------------------------------------------------------------------------------
# Frames


def _font(height: int):
    try:
        return ImageFont.load_default(size=max(10, height // 20))
    except TypeError:  # Pillow < 10.1 has one fixed bitmap font
        return ImageFont.load_default()


def _overlay(frame: np.ndarray, text: str, font) -> np.ndarray:
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    x, y = 4, 3
    left, top, right, bottom = draw.textbbox((x, y), text, font=font)
    draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=(255, 255, 255))
    draw.text((x, y), text, fill=(0, 0, 0), font=font)
    return np.asarray(image)


def _caption(t: int, episode: dict) -> str:
    dist, success = episode["dist"][t], episode["success"][t]
    return f"t={t:<4d} dist={dist:.3f}" + ("  success" if success > 0 else "")


def _frames_2d(env: GoalEnv, episode: dict, width: int, height: int) -> list[np.ndarray]:
    """Top view of the achieved goal (the point) and the commanded goal, for goal_dim 2."""
    idx = list(env.goal_indices)
    pos = episode["obs"][:, idx]
    goal = episode["goal"]
    r = float(env.spec.success_threshold)
    arena = getattr(env, "arena", None)
    if arena is not None:
        lo, hi = np.array([-arena, -arena], float), np.array([arena, arena], float)
    else:
        points = np.concatenate([pos, goal])
        lo, hi = points.min(0) - r, points.max(0) + r
    centre, half = (lo + hi) / 2, max(float(np.max(hi - lo)) / 2, 1e-6) * 1.08
    scale = (min(width, height) / 2 - 2) / half

    def px(p) -> tuple[float, float]:
        return (width / 2 + (p[0] - centre[0]) * scale, height / 2 - (p[1] - centre[1]) * scale)

    font = _font(height)
    dot = max(3.0, min(width, height) / 60)
    frames = []
    for t in range(len(pos)):
        image = Image.new("RGB", (width, height), (250, 250, 247))
        draw = ImageDraw.Draw(image)
        if arena is not None:
            (x0, y1), (x1, y0) = px(lo), px(hi)
            draw.rectangle((x0, y0, x1, y1), outline=(90, 90, 90), width=2)
        gx, gy = px(goal[t])
        fill = (150, 220, 160) if episode["success"][t] > 0 else (240, 180, 170)
        draw.ellipse((gx - r * scale, gy - r * scale, gx + r * scale, gy + r * scale), fill=fill, outline=(40, 140, 60))
        draw.line((gx - dot, gy, gx + dot, gy), fill=(40, 140, 60), width=2)
        draw.line((gx, gy - dot, gx, gy + dot), fill=(40, 140, 60), width=2)
        start = 0
        for s in range(1, t + 1):  # a new goal (after an auto-reset) starts a new trail
            if np.any(goal[s] != goal[s - 1]):
                start = s
        trail = [px(p) for p in pos[start : t + 1]]
        if len(trail) > 1:
            draw.line(trail, fill=(120, 150, 220), width=2)
        x, y = px(pos[t])
        draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=(30, 70, 200))
        frames.append(_overlay(np.asarray(image), _caption(t, episode), font))
    return frames


def _goal_geoms(scene: mujoco.MjvScene, goal: np.ndarray, radius: float, success: bool) -> None:
    """Visual-only goal markers appended to the scene (after update_scene, before render)."""
    eye = np.eye(3).ravel()
    region = _SUCCESS_RGBA if success else _MISS_RGBA
    if len(goal) == 2:  # on the floor (z = 0)
        thickness = max(radius * 0.02, 1e-3)
        dot = radius * 0.2
        markers = [
            # mjv_initGeom reads sizes as in MJCF: a cylinder's are (radius, half-height)
            (mujoco.mjtGeom.mjGEOM_CYLINDER, [radius, thickness, 0.0], [goal[0], goal[1], thickness], region),
            (mujoco.mjtGeom.mjGEOM_SPHERE, [dot] * 3, [goal[0], goal[1], 2 * thickness + dot], _CENTRE_RGBA),
        ]
    elif len(goal) == 3:
        markers = [(mujoco.mjtGeom.mjGEOM_SPHERE, [radius] * 3, list(goal), region)]
    else:
        return  # no spatial meaning to draw
    for kind, size, pos, rgba in markers:
        if scene.ngeom >= scene.maxgeom:
            return
        size, pos = np.asarray(size, np.float64), np.asarray(pos, np.float64)
        mujoco.mjv_initGeom(scene.geoms[scene.ngeom], kind, size, pos, eye, rgba)
        scene.ngeom += 1


def _framing_camera(model: mujoco.MjModel, datas_xyz: np.ndarray, fovy: float) -> mujoco.MjvCamera:
    """A fixed free camera, looking down at 70 degrees, that keeps every point in view."""
    lo, hi = datas_xyz.min(0), datas_xyz.max(0)
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 0.05)
    camera = mujoco.MjvCamera()
    mujoco.mjv_defaultFreeCamera(model, camera)
    camera.type = mujoco.mjtCamera.mjCAMERA_FREE
    camera.lookat[:] = (lo + hi) / 2
    camera.distance = 1.05 * radius / np.sin(np.deg2rad(fovy) / 2)
    camera.elevation = -70.0
    camera.azimuth = 90.0
    return camera


def placed_scene(env: GoalEnv, scene: dict[str, np.ndarray]) -> tuple[mujoco.MjModel, mujoco.MjData, Callable[[int], None]]:
    """(model, data, place) for drawing `scene`, {field: (T, ...)} stacked from `env.scene_fields`:
    `place(t)` copies frame t's fields into `data` ('body_pos' into `model`, then a copy of
    `env.mj_model`) and runs `mj_forward`."""
    model = copy.copy(env.mj_model) if "body_pos" in scene else env.mj_model
    data = mujoco.MjData(model)
    target = {field: getattr(model if field == "body_pos" else data, field) for field in scene}
    for field, values in scene.items():
        if values.shape[1:] != target[field].shape:
            raise ValueError(f"render_rollout: scene field {field!r} has shape {values.shape[1:]}, "
                             f"the MJCF model's is {target[field].shape}")

    def place(t: int) -> None:
        for field, values in scene.items():
            target[field][:] = values[t]
        mujoco.mj_forward(model, data)

    return model, data, place


def _frames_mujoco(
    env: GoalEnv, episode: dict, width: int, height: int, camera: int | str | mujoco.MjvCamera | None
) -> list[np.ndarray]:
    model, data, place = placed_scene(env, episode["scene"])
    goal_dim = episode["goal"].shape[1]
    if camera is None:
        poses = []
        for t in range(len(episode["goal"])):
            place(t)
            poses.append(data.geom_xpos.copy())
        moving = model.geom_type != mujoco.mjtGeom.mjGEOM_PLANE  # planes are the (large) floor
        points = np.concatenate(poses)[np.tile(moving, len(poses))]
        goals = episode["goal"]
        if goal_dim in (2, 3):
            r = env.spec.success_threshold
            goal_xyz = np.zeros((len(goals), 3))
            goal_xyz[:, :goal_dim] = goals
            points = np.concatenate([points, goal_xyz + r, goal_xyz - r])
        camera = _framing_camera(model, points, float(model.vis.global_.fovy))

    if width > model.vis.global_.offwidth or height > model.vis.global_.offheight:
        model = copy.copy(model)  # leave the env's model untouched; the renderer alone reads this copy
        model.vis.global_.offwidth = max(width, model.vis.global_.offwidth)
        model.vis.global_.offheight = max(height, model.vis.global_.offheight)
    _use_auto_gl()
    renderer = mujoco.Renderer(model, height, width)
    font = _font(height)
    frames = []
    try:
        for t in range(len(episode["goal"])):
            place(t)
            renderer.update_scene(data, camera)
            _goal_geoms(renderer.scene, episode["goal"][t], env.spec.success_threshold, episode["success"][t] > 0)
            frames.append(_overlay(renderer.render(), _caption(t, episode), font))
    finally:
        renderer.close()
    return frames


# ---------------------------------------------------------------------------------------------
# Files


def write_video(frames: list[np.ndarray], path: str | Path, fps: float) -> Path:
    """(H, W, 3) uint8 frames -> mp4 (imageio-ffmpeg, H.264) or gif (Pillow), by the path suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"write_video: {path} must end in one of {VIDEO_SUFFIXES}")
    if not frames:
        raise ValueError("write_video: no frames")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        images = [Image.fromarray(f) for f in frames]
        duration = max(20, int(round(1000 / fps)))  # browsers slow down GIF delays under 20 ms
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0)
        return path
    import imageio_ffmpeg

    height, width = frames[0].shape[:2]
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=fps, codec="libx264", macro_block_size=2, ffmpeg_log_level="error"
    )
    with warnings.catch_warnings():  # JAX warns on any fork; the child only execs ffmpeg
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        writer.send(None)  # starts ffmpeg
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame, dtype=np.uint8))
    finally:
        writer.close()
    return path


def drawing_mode(env: GoalEnv) -> str:
    """How `mode='auto'` draws `env`: 'mujoco' where it has an MJCF scene and GL works, else '2d'
    (which needs goal_dim 2)."""
    return "mujoco" if _has_scene(_unwrap(env)) and gl_available()[0] else "2d"


def render_rollout(
    env: GoalEnv,
    policy_fn: Callable[[jax.Array], jax.Array],
    key: jax.Array | int,
    path: str | Path,
    num_steps: int | None = None,
    width: int = 320,
    height: int = 240,
    *,
    fps: float | None = None,
    camera: int | str | mujoco.MjvCamera | None = None,
    mode: str = "auto",
) -> Path:
    """Run one deterministic episode (reset from `key`, actions `policy_fn(obs)`) and save a video.

    path:      .mp4 (H.264 via imageio-ffmpeg; odd sizes are rounded to even) or .gif (Pillow)
    num_steps: episode length (default env.spec.episode_length); stops early on termination
    fps:       default 1 / env.dt for physics envs (reacher 50, ant 20), else 20
    camera:    MuJoCo camera id/name/MjvCamera; default a fixed view that frames the whole episode
    mode:      'mujoco' (needs mj_model and GL), '2d' (goal_dim 2: top view of the achieved goal),
               'auto' (mujoco where the env has an MJCF scene and GL works, else 2d with a warning)
    Each frame carries the step, the distance to the goal and 'success' when within the threshold.
    """
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"render_rollout: {path} must end in one of {VIDEO_SUFFIXES}")
    if mode not in ("auto", "mujoco", "2d"):
        raise ValueError(f"render_rollout: mode must be 'auto', 'mujoco' or '2d', got {mode!r}")
    if width < 16 or height < 16:
        raise ValueError(f"render_rollout: width and height must be >= 16, got {width}x{height}")
    env = _unwrap(env)
    has_scene = _has_scene(env)
    if mode == "auto":
        mode = drawing_mode(env)
        if mode == "2d" and has_scene:
            warnings.warn(f"render_rollout: drawing {type(env).__name__} in 2-D. {gl_available()[1]}", stacklevel=2)
    if mode == "mujoco":
        if not has_scene:
            raise ValueError(f"render_rollout: {type(env).__name__} has no MJCF scene (mj_model); use mode='2d'")
        ok, reason = gl_available()
        if not ok:
            raise RuntimeError(reason)
    elif env.goal_dim != 2:
        raise ValueError(f"render_rollout: 2-D drawing needs goal_dim 2, {type(env).__name__} has {env.goal_dim}"
                         + ("" if not has_scene else f". {gl_available()[1]}"))
    if path.suffix.lower() == ".mp4":  # yuv420p needs even sizes
        width, height = width + width % 2, height + height % 2
    if fps is None:
        dt = getattr(env, "dt", None) if has_scene else None
        fps = float(np.round(1.0 / float(dt))) if dt else DEFAULT_FPS

    episode = run_episode(env, policy_fn, key, num_steps)
    if mode == "mujoco":
        frames = _frames_mujoco(env, episode, width, height, camera)
    else:
        frames = _frames_2d(env, episode, width, height)
    return write_video(frames, path, fps)


__all__ = ["drawing_mode", "gl_available", "render_rollout", "run_episode", "write_video"]
