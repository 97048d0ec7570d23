"""Test figures and their reports: accuracy, balanced accuracy (UAR), F1, per class and group.

All functions take labels as indices into `labels` (LABELS unless given) and return plain
Python numbers, ready for JSON.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ser.corpus import LABELS, natural_key, speaker_keys

METRIC_KEYS = ("accuracy", "balanced_accuracy", "macro_f1")  # the figures of a cross-validation fold


def evaluate(y_true: np.ndarray, probabilities: np.ndarray, rows: list, labels: tuple[str, ...] = LABELS,
             speakers: np.ndarray | None = None) -> dict:
    """Test figures of probabilities (n, n_labels) against y_true (n,): accuracy, balanced accuracy
    (UAR), F1, per class, and accuracy per speaker, sex and intensity (where known) of the manifest
    rows (n,), and per corpus when there are several. speakers (n,): the rows' speaker names as the
    whole dataset spells them (Dataset.speakers: corpus-qualified when pooled), by default the rows'."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    y_pred = probabilities.argmax(axis=1)
    index = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=index,
                                                                     zero_division=0)
    correct = y_pred == y_true
    present = sorted(set(y_true.tolist()))  # a pooled corpus's test set may lack some labels: scored over the rest

    if speakers is None:
        speakers = speaker_keys([row.corpus for row in rows], [row.speaker for row in rows])

    def accuracy_by(values) -> dict:
        groups = sorted(set(values) - {""}, key=natural_key)
        return {str(g): float(np.mean([c for c, v in zip(correct, values) if v == g])) for g in groups}

    figures = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": balanced_accuracy(y_true, y_pred),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=present, zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", labels=index, zero_division=0)),
        "labels": list(labels),
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(labels, precision, recall, f1, support)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=index).tolist(),
        "test_speakers": sorted(set(speakers), key=natural_key),
        "accuracy_by_speaker": accuracy_by(speakers),
    }
    for column in ("gender", "intensity"):
        if values := accuracy_by([getattr(row, column) for row in rows]):
            figures[f"accuracy_by_{column}"] = values
    corpora = np.array([row.corpus for row in rows])
    if len(set(corpora)) > 1:
        figures["by_corpus"] = {name: {"files": int((corpora == name).sum()),
                                       "accuracy": float(correct[corpora == name].mean()),
                                       "balanced_accuracy": balanced_accuracy(y_true[corpora == name],
                                                                              y_pred[corpora == name])}
                                for name in sorted(set(corpora))}
    return figures


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes y_true holds (UAR), as sklearn's balanced_accuracy_score, without its
    warning when y_pred holds a class y_true does not (the normal case for one corpus of several)."""
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


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


def fold_result(metrics: dict, seconds: float, test: str | None = None) -> dict:
    """What cv_metrics.json keeps of one fold's evaluate() output; test names the fold's test set (a corpus),
    by default its speakers."""
    return {"test": test or compact(metrics["test_speakers"]), "test_speakers": metrics["test_speakers"],
            **{k: metrics[k] for k in METRIC_KEYS},
            "per_class_recall": {k: v["recall"] for k, v in metrics["per_class"].items()},
            **{k: metrics[k] for k in ("balanced_accuracy_without_tta",) if k in metrics},
            "seconds": round(seconds, 1)}


def fold_summary(results: list[dict], settings: dict) -> dict:
    """cv_metrics.json: the folds, their mean and standard deviation, and the settings they were made with."""
    keys = METRIC_KEYS + tuple(k for k in ("balanced_accuracy_without_tta",) if all(k in r for r in results))
    return {"folds": results,
            "mean": {k: float(np.mean([r[k] for r in results])) for k in keys},
            "std": {k: float(np.std([r[k] for r in results])) for k in keys},
            "settings": settings}


def fold_table(summary: dict) -> str:
    """The folds of a cv_metrics.json summary as an aligned table, with the mean ± std."""
    lines = [f"{'fold':<6}{'test speakers':<18}" + "".join(f"{k:>19}" for k in METRIC_KEYS)]
    for number, r in enumerate(summary["folds"], 1):
        lines.append(f"{number:<6}{r['test']:<18}" + "".join(f"{r[k]:>19.3f}" for k in METRIC_KEYS))
    lines.append(f"{'mean ± std':<24}" + "".join(f"{summary['mean'][k]:>13.3f} ± {summary['std'][k]:.3f}"
                                                for k in METRIC_KEYS))
    return "\n".join(lines)


def compact(speakers: list[str], width: int = 16) -> str:
    """Speakers as one short name: `1-4` for a run of numbers, else the names joined, cut to width."""
    if speakers and all(s.isdigit() for s in speakers) and [int(s) for s in speakers] == list(
            range(int(speakers[0]), int(speakers[0]) + len(speakers))):
        return speakers[0] if len(speakers) == 1 else f"{speakers[0]}-{speakers[-1]}"
    text = ",".join(speakers)
    return text if len(text) <= width else text[:width - 3] + "..."


def labelled_figures(truths: list[str], predicted: list[str], labels: tuple[str, ...]) -> dict:
    """Figures of a model's predictions (label names) against the true label names of a manifest.

    balanced_accuracy is the mean recall over the model's labels that the truths hold; truths the model does
    not know are counted in unknown_labels (name -> files), not scored. confusion_matrix (n_labels, n_labels)
    counts the scored files, rows true, columns predicted, in the order of labels."""
    known = [(t, p) for t, p in zip(truths, predicted) if t in labels]
    unknown = Counter(t for t in truths if t not in labels)
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for truth, guess in known:
        matrix[labels.index(truth), labels.index(guess)] += 1
    support = matrix.sum(axis=1)
    recall = {name: float(matrix[i, i] / support[i]) for i, name in enumerate(labels) if support[i]}
    return {"labels": list(labels), "n_files": len(truths), "n_scored": len(known),
            "accuracy": float(np.trace(matrix) / len(known)) if known else None,
            "balanced_accuracy": float(np.mean(list(recall.values()))) if recall else None,
            "per_class": {name: {"recall": r, "support": int(support[labels.index(name)])}
                          for name, r in recall.items()},
            "confusion_matrix": matrix.tolist(), "unknown_labels": dict(sorted(unknown.items()))}
