"""Learning curves from a run's metrics.jsonl, and comparisons of runs grouped over seeds.

In Python (e.g. at the end of a run):

    from crlx.plot import write_learning_curves
    write_learning_curves("runs/reacher-infonce-l2-s0-...")   # -> [<run_dir>/learning_curves.png]

`learning_curves.png` has one panel per metric, by default eval/success and critic/accuracy
against env steps.

From the shell, to compare runs:

    python -m crlx.plot runs/a-s0 runs/a-s1 runs/b-s0 runs/b-s1 --metric eval/success --out compare.png

Runs whose config.json are equal except for the `seed`, `log` and `wandb` sections (change the
set with --ignore) form one group; each group is drawn as the mean over its runs with a band
(min-max by default, `--band std` for mean +- std) against env steps. The legend names each group
by the config fields that differ between groups (dotted paths, e.g. `loss.energy=dot`) and its
number of runs. --metric can be given more than once (one panel each). A RUN_DIR without
metrics.jsonl stops the command with a message and exit status 2.

Figures are drawn with matplotlib's Agg canvas directly; pyplot and the global backend are left
alone, so this works on machines without a display and inside notebooks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"
CURVES_FILE = "learning_curves.png"
"""the file `write_learning_curves` writes into the run directory"""
DEFAULT_CURVES = ("eval/success", "critic/accuracy")
GROUP_IGNORE = ("seed", "log", "wandb")
"""top-level config sections that do not split runs into groups"""
BANDS = ("minmax", "std")


class PlotError(ValueError):
    """A run directory or metric cannot be plotted; the message says which and why."""


# ---------------------------------------------------------------------------------------------
# Reading runs


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of <run_dir>/metrics.jsonl. A cut-off last line (a run still writing) is skipped."""
    run_dir = Path(run_dir)
    path = run_dir / METRICS_FILE
    if not run_dir.is_dir():
        raise PlotError(f"{run_dir}: no such run directory")
    if not path.is_file():
        raise PlotError(f"{run_dir}: no {METRICS_FILE} (not a crlx run directory, or the run has not evaluated yet)")
    lines = [(n, line) for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip()]
    rows = []
    for i, (n, line) in enumerate(lines):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            if i == len(lines) - 1:
                break
            raise PlotError(f"{path}:{n}: not a JSON row ({err})") from None
        if not isinstance(row, dict) or "env_steps" not in row:
            raise PlotError(f"{path}:{n}: a row must be a JSON object with 'env_steps'")
        rows.append(row)
    return rows


def read_config(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise PlotError(f"{path}: not valid JSON ({err})") from None


def series(rows: Iterable[dict[str, Any]], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(env_steps, values) of the rows that have a finite `metric`, sorted by env steps.

    Rows with the same env_steps (a run appended to the same directory, or resumed) keep the last.
    """
    by_step: dict[int, float] = {}
    for row in rows:
        value = row.get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            by_step[int(row["env_steps"])] = float(value)
    steps = np.array(sorted(by_step), dtype=np.int64)
    return steps, np.array([by_step[s] for s in steps], dtype=np.float64)


def available_metrics(rows: Iterable[dict[str, Any]]) -> list[str]:
    return sorted({k for row in rows for k in row if k != "env_steps"})


# ---------------------------------------------------------------------------------------------
# Drawing helpers


def _new_figure(panels: int) -> tuple[Figure, list[Any]]:
    fig = Figure(figsize=(5.0 * panels, 3.8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    return fig, list(axes)


def _style_axis(ax, metric: str, values: Sequence[np.ndarray]) -> None:
    ax.set_xlabel("env steps")
    ax.set_ylabel(metric)
    ax.set_title(metric)
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.grid(True, alpha=0.3)
    finite = np.concatenate([v for v in values if len(v)]) if any(len(v) for v in values) else np.array([])
    if len(finite) and finite.min() >= 0.0 and finite.max() <= 1.0:  # rates: success, accuracy
        ax.set_ylim(-0.03, 1.03)


def _no_data(ax, metric: str) -> None:
    ax.text(0.5, 0.5, f"no finite values of\n{metric}", ha="center", va="center", transform=ax.transAxes, color="0.4")


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


# ---------------------------------------------------------------------------------------------
# One run


def write_learning_curves(
    run_dir: str | Path, metrics: Sequence[str] = DEFAULT_CURVES, filename: str = CURVES_FILE
) -> list[Path]:
    """Write <run_dir>/learning_curves.png: one panel per metric against env steps; returns [path].

    Raises PlotError when run_dir has no metrics.jsonl. A metric with no finite value gets an
    empty panel that says so (the first evaluation row, at env step 0, has no critic metrics).
    """
    run_dir = Path(run_dir)
    rows = read_metrics(run_dir)
    config = read_config(run_dir) or {}
    fig, axes = _new_figure(len(metrics))
    for ax, metric in zip(axes, metrics):
        steps, values = series(rows, metric)
        if len(steps):
            ax.plot(steps, values, marker="o", markersize=3, linewidth=1.5)
        else:
            _no_data(ax, metric)
        _style_axis(ax, metric, [values])
    env = config.get("env")
    fig.suptitle(f"{run_dir.name}" + (f"  ({env}, seed {config.get('seed')})" if env else ""), fontsize=10)
    return [_save(fig, run_dir / filename)]


# ---------------------------------------------------------------------------------------------
# Comparing runs


@dataclasses.dataclass
class Run:
    dir: Path
    config: dict[str, Any] | None
    rows: list[dict[str, Any]]


@dataclasses.dataclass
class Group:
    settings: dict[str, Any]  # flattened config without the ignored sections ({} without config.json)
    runs: list[Run]
    label: str = ""


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'actor': {'width': 64}} -> {'actor.width': 64}."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def load_runs(run_dirs: Sequence[str | Path]) -> list[Run]:
    """Every run dir must have metrics.jsonl (PlotError names the first that does not)."""
    return [Run(Path(d), read_config(d), read_metrics(d)) for d in run_dirs]


def group_runs(runs: Sequence[Run], ignore: Sequence[str] = GROUP_IGNORE) -> list[Group]:
    """Groups of runs with equal configs except the `ignore` sections, in first-seen order."""
    groups: dict[str, Group] = {}
    for run in runs:
        if run.config is None:  # nothing to compare: a group of its own
            key = f"dir:{run.dir.resolve()}"
            settings: dict[str, Any] = {}
        else:
            settings = flatten({k: v for k, v in run.config.items() if k not in ignore})
            key = json.dumps(settings, sort_keys=True, default=str)
        groups.setdefault(key, Group(settings=settings, runs=[])).runs.append(run)
    result = list(groups.values())
    for group, label in zip(result, _labels(result)):
        group.label = label
    return result


def _differing(groups: Sequence[Group], keys: Iterable[str]) -> list[str]:
    missing = object()
    return [k for k in keys if len({json.dumps(g.settings.get(k, missing), default=str) for g in groups}) > 1]


def _labels(groups: Sequence[Group]) -> list[str]:
    """Each group named by the fields that differ between groups; derived values only if nothing else does."""
    configured = [g for g in groups if g.settings]
    keys = sorted({k for g in configured for k in g.settings})
    differ = _differing(configured, [k for k in keys if not k.startswith("derived.")])
    if not differ:
        differ = _differing(configured, [k for k in keys if k.startswith("derived.")])
    labels = []
    for group in groups:
        if not group.settings:
            name = group.runs[0].dir.name
        elif differ:
            name = ", ".join(f"{k}={group.settings.get(k, '-')}" for k in differ)
        else:
            name = str(group.settings.get("env", "runs"))
        n = len(group.runs)
        labels.append(f"{name} (n={n})")
    return labels


def aggregate(runs: Sequence[Run], metric: str, band: str = "minmax") -> dict[str, np.ndarray]:
    """Mean and band over runs at each env step that any run evaluated (runs may stop early).

    Returns {"steps", "mean", "low", "high", "count"}; band 'minmax' (min..max) or 'std' (mean +- std).
    """
    if band not in BANDS:
        raise PlotError(f"band must be one of {BANDS}, got {band!r}")
    per_run = [dict(zip(*series(run.rows, metric))) for run in runs]
    steps = np.array(sorted({s for values in per_run for s in values}), dtype=np.int64)
    mean, low, high, count = [], [], [], []
    for step in steps:
        values = np.array([values[step] for values in per_run if step in values])
        mu = values.mean()
        mean.append(mu)
        count.append(len(values))
        if band == "minmax":
            low.append(values.min())
            high.append(values.max())
        else:
            sd = values.std()
            low.append(mu - sd)
            high.append(mu + sd)
    as_array = lambda xs: np.asarray(xs, dtype=np.float64)  # noqa: E731
    return {
        "steps": steps,
        "mean": as_array(mean),
        "low": as_array(low),
        "high": as_array(high),
        "count": np.asarray(count),
    }


def plot_comparison(
    run_dirs: Sequence[str | Path],
    metrics: Sequence[str] = ("eval/success",),
    out: str | Path = "compare.png",
    band: str = "minmax",
    ignore: Sequence[str] = GROUP_IGNORE,
) -> tuple[Path, list[Group]]:
    """Draw each group's mean and band over seeds per metric against env steps; returns (out, groups)."""
    if not run_dirs:
        raise PlotError("no run directories given")
    if band not in BANDS:
        raise PlotError(f"band must be one of {BANDS}, got {band!r}")
    runs = load_runs(run_dirs)
    groups = group_runs(runs, ignore)
    for metric in metrics:
        if not any(len(series(run.rows, metric)[0]) for run in runs):
            known = sorted({m for run in runs for m in available_metrics(run.rows)})
            raise PlotError(f"metric {metric!r} is in none of the runs; they log: {', '.join(known)}")
    fig, axes = _new_figure(len(metrics))
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]  # one color per group in every panel
    for ax, metric in zip(axes, metrics):
        drawn = []
        for i, group in enumerate(groups):
            stats = aggregate(group.runs, metric, band)
            if not len(stats["steps"]):
                continue
            color = cycle[i % len(cycle)]
            ax.plot(stats["steps"], stats["mean"], color=color, linewidth=1.8, label=group.label)
            if len(group.runs) > 1:
                ax.fill_between(stats["steps"], stats["low"], stats["high"], color=color, alpha=0.2, linewidth=0)
            drawn += [stats["low"], stats["high"]]
        _style_axis(ax, metric, drawn)
        ax.legend(fontsize=8, loc="best")
    band_name = "min to max" if band == "minmax" else "mean ± std"
    fig.suptitle(f"line: mean over a group's runs; band: {band_name}", fontsize=9)
    return _save(fig, Path(out)), groups


# ---------------------------------------------------------------------------------------------
# CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m crlx.plot",
        description="Compare crlx runs: runs with equal configs except seed/log/wandb are one group, "
        "drawn as mean and band over its runs against env steps.",
    )
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories (with metrics.jsonl)")
    parser.add_argument(
        "--metric", action="append", dest="metrics", metavar="NAME",
        help="metric to plot, repeatable, one panel each (default: eval/success)",
    )  # fmt: skip
    parser.add_argument("--out", default="compare.png", help="output PNG (default: compare.png)")
    parser.add_argument("--band", choices=BANDS, default="minmax", help="spread over runs (default: minmax)")
    parser.add_argument(
        "--ignore", nargs="+", default=list(GROUP_IGNORE), metavar="SECTION",
        help=f"top-level config keys that do not split groups (default: {' '.join(GROUP_IGNORE)})",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        out, groups = plot_comparison(
            args.run_dirs, args.metrics or ["eval/success"], args.out, args.band, args.ignore
        )
    except PlotError as err:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    for group in groups:
        print(f"{group.label}: {', '.join(str(run.dir) for run in group.runs)}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
