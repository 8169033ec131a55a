"""Files a task-sequence run writes at the end: continual_metrics.json and .md, the success-matrix
heatmap (success_matrix.png) and every task's success curve over the sequence (task_curves.png)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def _cell(x: Any) -> str:
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.2f}"


def markdown(tasks: list[str], matrix: np.ndarray, metrics: dict[str, Any]) -> str:
    """The success matrix S (rows: after training task i; columns: evaluated task j) and the
    per-task and average metrics as markdown tables."""
    short = [f"{j}:{t}" for j, t in enumerate(tasks)]
    lines = ["| after \\ on | " + " | ".join(short) + " |", "|---" * (len(tasks) + 1) + "|"]
    for i, row in enumerate(matrix):
        lines.append(f"| {short[i]} | " + " | ".join(_cell(float(x)) for x in row) + " |")
    lines += ["", "| task | forgetting F_i | AUC_i | reference AUC_i | forward transfer FT_i |", "|---|---|---|---|---|"]
    ft = metrics.get("forward_transfer") or [None] * len(tasks)
    ref = metrics.get("reference_auc") or [None] * len(tasks)
    for j, task in enumerate(tasks):
        lines.append(f"| {short[j]} | {_cell(metrics['forgetting'][j])} | {_cell(metrics['auc'][j])} | "
                     f"{_cell(ref[j])} | {_cell(ft[j])} |")
    lines += ["", f"average performance A = {_cell(metrics['average_performance'])}, "
              f"average forgetting F = {_cell(metrics['average_forgetting'])}, "
              f"average forward transfer FT = {_cell(metrics['average_forward_transfer'])}"]
    return "\n".join(lines) + "\n"


def heatmap(path: Path, tasks: list[str], matrix: np.ndarray) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(tasks)
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * n, 0.8 + 0.6 * n))
    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis")
    for i in range(matrix.shape[0]):
        for j in range(n):
            ax.text(j, i, _cell(float(matrix[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] < 0.6 else "black")
    ax.set_xticks(range(n), tasks, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(matrix.shape[0]), tasks[: matrix.shape[0]], fontsize=7)
    ax.set_xlabel("evaluated on task j")
    ax.set_ylabel("after training task i")
    fig.colorbar(image, ax=ax, label="success S[i, j]")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def curves_plot(path: Path, tasks: list[str], rows: list[dict[str, Any]], span: int) -> Path:
    """Success on every task (one line each) against sequence env steps, task boundaries dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    steps = np.array([r["env_steps"] for r in rows], float)
    for task in dict.fromkeys(tasks):
        ax.plot(steps, [r[f"eval/{task}/success"] for r in rows], label=task, lw=1.2)
    for i in range(1, len(tasks)):
        ax.axvline(i * span, color="grey", ls="--", lw=0.6)
    ax.set_xlabel("env steps of the sequence")
    ax.set_ylabel("eval success")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(run_dir: Path, tasks: list[str], matrix: np.ndarray, metrics: dict[str, Any],
                 rows: list[dict[str, Any]], span: int) -> list[Path]:
    """continual_metrics.json / .md, success_matrix.png, task_curves.png in run_dir."""
    run_dir = Path(run_dir)
    data = {"tasks": tasks, "steps_per_task": span, "success_matrix": matrix.tolist(), **metrics}
    (run_dir / "continual_metrics.json").write_text(json.dumps(data, indent=2))
    (run_dir / "continual_metrics.md").write_text(markdown(tasks, matrix, metrics))
    return [heatmap(run_dir / "success_matrix.png", tasks, matrix), curves_plot(run_dir / "task_curves.png", tasks, rows, span)]
