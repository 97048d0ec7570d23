"""Pictures of a training run: the confusion matrix and the training curves, as PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ser.corpus import LABELS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(matrix: np.ndarray, path: Path, title: str, labels: tuple[str, ...] = LABELS) -> None:
    """Counts and row-normalised recall of matrix (n_labels, n_labels) side by side."""
    plt = _pyplot()
    import seaborn as sns

    matrix = np.asarray(matrix)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(1, 2, figsize=(15, 6))
    for ax, data, fmt, name in ((axes[0], matrix, "d", "counts"), (axes[1], normalised, ".2f", "row-normalised")):
        sns.heatmap(data, annot=True, fmt=fmt, cmap="Blues", xticklabels=labels, yticklabels=labels,
                    ax=ax, cbar=False, square=True)
        ax.set(xlabel="predicted", ylabel="true", title=f"{title} ({name})")
    figure.tight_layout()
    save_figure(figure, path)


def plot_history(histories: list[dict], path: Path) -> None:
    """Loss and accuracy per epoch of every network: training solid, validation dashed, a colour each."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, metric in zip(axes, ("accuracy", "loss")):
        for number, history in enumerate(histories):
            epochs = np.arange(1, len(history[metric]) + 1)
            line, = ax.plot(epochs, history[metric], label=f"network {number} train")
            ax.plot(epochs, history[f"val_{metric}"], "--", color=line.get_color(),
                    label=f"network {number} validation")
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.tight_layout()
    save_figure(figure, path)


def save_figure(figure, path: Path) -> None:
    """The figure as a PNG at path, then closed (callers stage the path: ser.atomic.write_folder)."""
    figure.savefig(path, format="png", dpi=110)
    _pyplot().close(figure)
