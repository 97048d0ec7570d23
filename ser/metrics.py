"""Test figures and their reports: accuracy, balanced accuracy (UAR), F1, per class and group.

All functions take labels as indices into `labels` (LABELS unless given) and return plain
Python numbers, ready for JSON.
"""

from __future__ import annotations

import numpy as np

from ser.corpus import LABELS

METRIC_KEYS = ("accuracy", "balanced_accuracy", "macro_f1")  # the figures of a cross-validation fold


def evaluate(y_true: np.ndarray, probabilities: np.ndarray, rows: list, labels: tuple[str, ...] = LABELS) -> dict:
    """Test figures of probabilities (n, n_labels) against y_true (n,): accuracy, balanced accuracy
    (UAR), F1, per class, and accuracy per actor/gender/intensity of the manifest rows (n,)."""
    from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                                 precision_recall_fscore_support)

    y_pred = probabilities.argmax(axis=1)
    index = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=index,
                                                                     zero_division=0)
    correct = y_pred == y_true

    def accuracy_by(column: str) -> dict:
        values = [getattr(row, column) for row in rows]
        groups = sorted(set(values), key=lambda v: (len(str(v)), str(v)))
        return {str(g): float(np.mean([c for c, v in zip(correct, values) if v == g])) for g in groups}

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=index, zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", labels=index, zero_division=0)),
        "labels": list(labels),
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(labels, precision, recall, f1, support)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=index).tolist(),
        "test_actors": sorted({int(row.actor) for row in rows}),
        "accuracy_by_actor": accuracy_by("actor"),
        "accuracy_by_gender": accuracy_by("gender"),
        "accuracy_by_intensity": accuracy_by("intensity"),
    }


def classification_report_text(y_true: np.ndarray, probabilities: np.ndarray, labels: tuple[str, ...] = LABELS) -> str:
    """scikit-learn's per-class precision/recall/F1 table."""
    from sklearn.metrics import classification_report

    return classification_report(y_true, probabilities.argmax(axis=1), labels=list(range(len(labels))),
                                 target_names=list(labels), digits=3, zero_division=0)


def history_csv(histories: list[dict]) -> str:
    """One row per network and epoch: network, epoch, then the Keras history keys (loss, val_loss, ...)."""
    keys = list(histories[0])
    lines = [",".join(["network", "epoch"] + keys)]
    lines += [",".join([str(number), str(i + 1)] + [f"{history[k][i]:.6g}" for k in keys])
              for number, history in enumerate(histories) for i in range(len(history[keys[0]]))]
    return "\n".join(lines) + "\n"


def fold_result(metrics: dict, seconds: float) -> dict:
    """What cv_metrics.json keeps of one fold's evaluate() output."""
    return {"test_actors": metrics["test_actors"], **{k: metrics[k] for k in METRIC_KEYS},
            "per_class_recall": {k: v["recall"] for k, v in metrics["per_class"].items()},
            "seconds": round(seconds, 1)}


def fold_summary(results: list[dict], settings: dict) -> dict:
    """cv_metrics.json: the folds, their mean and standard deviation, and the settings they were made with."""
    return {"folds": results,
            "mean": {k: float(np.mean([r[k] for r in results])) for k in METRIC_KEYS},
            "std": {k: float(np.std([r[k] for r in results])) for k in METRIC_KEYS},
            "settings": settings}


def fold_table(summary: dict) -> str:
    """The folds of a cv_metrics.json summary as an aligned table, with the mean ± std."""
    lines = [f"{'fold':<6}{'test actors':<18}" + "".join(f"{k:>19}" for k in METRIC_KEYS)]
    for number, r in enumerate(summary["folds"], 1):
        lines.append(f"{number:<6}{str(r['test_actors']):<18}" + "".join(f"{r[k]:>19.3f}" for k in METRIC_KEYS))
    lines.append(f"{'mean ± std':<24}" + "".join(f"{summary['mean'][k]:>13.3f} ± {summary['std'][k]:.3f}"
                                                for k in METRIC_KEYS))
    return "\n".join(lines)
