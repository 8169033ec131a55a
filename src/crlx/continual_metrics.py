"""Continual World's metrics (Wolczyk et al. 2021, "Continual World: A Robotic Benchmark For
Continual Reinforcement Learning"; the critic/actor split of transfer follows Wolczyk et al. 2022,
"Disentangling Transfer in Continual Reinforcement Learning").

N tasks, each trained for Delta env steps; p_j(t) is the deterministic evaluation success on
task j at sequence step t (T = N * Delta):

    S[i, j]   = p_j((i + 1) * Delta)                         success on j after training task i
    A         = (1 / N) sum_j S[N-1, j]                        average performance at the end
    F_i       = p_i((i + 1) * Delta) - p_i(T) = S[i, i] - S[N-1, i]          forgetting
    F         = (1 / N) sum_i F_i                              (F_{N-1} = 0 by definition)
    AUC_i     = (1 / Delta) int_0^Delta p_i(i * Delta + t) dt  area under task i's own curve
    FT_i      = (AUC_i - AUC_i^ref) / (1 - AUC_i^ref)          forward transfer, NaN if AUC_i^ref = 1
    FT        = mean over tasks with a finite FT_i

AUC^ref comes from a reference run that trains every task from fresh networks at the same
budget (transfer mode `none`). Integrals are trapezoids over the evaluation points, which must
include t = 0 and t = Delta.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def success_key(task: str) -> str:
    return f"eval/{task}/success"


def success_matrix(rows: list[dict[str, Any]], tasks: list[str]) -> np.ndarray:
    """(n_done, N) S from metrics rows: row i is the last evaluation logged while training task i."""
    done = sorted({int(r["task_index"]) for r in rows if r.get("task_end")})
    matrix = np.full((len(done), len(tasks)), np.nan)
    for i in done:
        last = [r for r in rows if int(r["task_index"]) == i and r.get("task_end")][-1]
        matrix[i] = [last[success_key(t)] for t in tasks]
    return matrix


def own_curves(rows: list[dict[str, Any]], tasks: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per task i: (task env steps t, p_i(t)) over the evaluations logged while training task i."""
    curves = []
    for i, task in enumerate(tasks):
        mine = sorted((r for r in rows if int(r["task_index"]) == i), key=lambda r: r["task_env_steps"])
        curves.append((np.array([r["task_env_steps"] for r in mine], float),
                       np.array([r[success_key(task)] for r in mine], float)))
    return curves


def auc(t: np.ndarray, p: np.ndarray, span: float) -> float:
    """(1 / span) * trapezoid integral of p over t; t must run from 0 to span."""
    t, p = np.asarray(t, float), np.asarray(p, float)
    if t.size < 2 or t[0] != 0 or t[-1] != span:
        raise ValueError(f"an AUC needs evaluations at 0 and {span} task env steps, got steps {t.tolist()}")
    return float(np.sum((t[1:] - t[:-1]) * (p[1:] + p[:-1]) / 2) / span)


def forgetting(matrix: np.ndarray) -> np.ndarray:
    """F_i = S[i, i] - S[N-1, i] for every task i (needs the full N x N matrix)."""
    return np.diag(matrix) - matrix[-1]


def forward_transfer(aucs: np.ndarray, reference_aucs: np.ndarray) -> np.ndarray:
    """FT_i = (AUC_i - AUC_i^ref) / (1 - AUC_i^ref); NaN where AUC_i^ref = 1."""
    aucs, ref = np.asarray(aucs, float), np.asarray(reference_aucs, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ref < 1.0, (aucs - ref) / (1.0 - ref), np.nan)


def summarize(matrix: np.ndarray, curves: list[tuple[np.ndarray, np.ndarray]], span: float,
              reference_curves: list[tuple[np.ndarray, np.ndarray]] | None = None) -> dict[str, Any]:
    """Every metric above from a full N x N matrix and the own-task curves (and the reference's)."""
    aucs = np.array([auc(t, p, span) for t, p in curves])
    forget = forgetting(matrix)
    out: dict[str, Any] = {
        "average_performance": float(np.mean(matrix[-1])),
        "forgetting": forget.tolist(),
        "average_forgetting": float(np.mean(forget)),
        "auc": aucs.tolist(),
        "forward_transfer": None,
        "average_forward_transfer": None,
        "reference_auc": None,
    }
    if reference_curves is not None:
        ref = np.array([auc(t, p, span) for t, p in reference_curves])
        ft = forward_transfer(aucs, ref)
        finite = ft[np.isfinite(ft)]
        out.update(reference_auc=ref.tolist(), forward_transfer=[None if not np.isfinite(x) else float(x) for x in ft],
                   average_forward_transfer=float(np.mean(finite)) if finite.size else None)
    return out
