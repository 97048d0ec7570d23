"""Pictures, as PNG files: a training run's confusion matrix and training curves, and the emotions of
a recording over time (predict.py --plot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ser.atomic import atomic_write
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


TIMELINE_INCHES, TIMELINE_DPI = (16, 6), 100  # 1600 x 600 pixels
SILENT_GREY = (0.75, 0.75, 0.75)


def emotion_colours(labels: tuple[str, ...]) -> dict[str, tuple]:
    """A fixed colour per emotion, in the labels' order (the order of the confusion matrix's rows); no grey,
    which marks silence."""
    tab20 = _pyplot().get_cmap("tab20")
    palette = [tab20(2 * i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)] + [tab20(2 * i + 1) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]
    return {label: palette[i % len(palette)] for i, label in enumerate(labels)}


def timeline_figure(result: dict, level_db: np.ndarray, level_hop_seconds: float, labels: tuple[str, ...]):
    """The figure of one predict.py result with windows (result["segments"]): above, each emotion's
    probability per window, stacked, a window drawn over the hop before the next one starts; below, the
    level level_db (n_points,), dB re the loudest sample, one point per level_hop_seconds; silent windows
    greyed in both; the overall emotion in the title."""
    plt = _pyplot()
    segments = result["segments"]
    colours = emotion_colours(labels)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=TIMELINE_INCHES, sharex=True,
                                         gridspec_kw={"height_ratios": (3, 1)})
    edges = [s["start"] for s in segments] + [segments[-1]["end"]]
    stacked = np.array([[s.get("probabilities", {}).get(label, 0.0) for s in segments] for label in labels])
    top.stairs(np.ones(len(segments)), edges, baseline=0, fill=True, color="white")
    for label, row, below in zip(labels, stacked, np.cumsum(stacked, axis=0) - stacked):
        top.stairs(below + row, edges, baseline=below, fill=True, color=colours[label], label=label)
    for segment, start, end in zip(segments, edges[:-1], edges[1:]):
        if segment["silent"]:
            for ax in (top, bottom):
                ax.axvspan(start, end, color=SILENT_GREY, zorder=3, lw=0)
    times = (np.arange(len(level_db)) + 0.5) * level_hop_seconds
    bottom.fill_between(times, np.maximum(level_db, -60), -60, color="0.3", lw=0)
    top.set(ylim=(0, 1), ylabel="probability", xlim=(edges[0], edges[-1]))
    bottom.set(ylim=(-60, 0), ylabel="level (dB)", xlabel="time (s)")
    top.legend(loc="upper left", bbox_to_anchor=(1.005, 1), fontsize="small", frameon=False)
    silent = sum(s["silent"] for s in segments)
    top.set_title(f"{Path(result['file']).name}: {result['emotion']} {result['confidence']:.0%} overall "
                  f"({len(segments)} windows, {silent} silent, in grey)")
    figure.tight_layout()
    return figure


def plot_timeline(result: dict, level_db: np.ndarray, level_hop_seconds: float, labels: tuple[str, ...],
                  path: Path) -> None:
    """timeline_figure as a 1600 x 600 PNG at path (written whole: ser.atomic)."""
    figure = timeline_figure(result, level_db, level_hop_seconds, labels)
    atomic_write(path, lambda f: save_figure(figure, f, dpi=TIMELINE_DPI))


def save_figure(figure, path, dpi: int = 110) -> None:
    """The figure as a PNG at path (or an open file), then closed (callers stage the path: ser.atomic)."""
    figure.savefig(path, format="png", dpi=dpi)
    _pyplot().close(figure)
