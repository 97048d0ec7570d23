"""ser.plots: the timeline of a recording's emotions (predict.py --plot)."""

import numpy as np

from ser import inference, plots
from ser.corpus import LABELS


def timeline_result(silent: tuple[int, ...]) -> dict:
    """A predict.py result of 10 windows of 2 s (hop 1 s), the given ones silent, the others all neutral."""
    segments = []
    for i in range(10):
        segment = {"start": float(i), "end": i + 2.0, "silent": i in silent}
        if not segment["silent"]:
            segment.update(emotion="neutral", confidence=1.0, probabilities={label: float(label == "neutral")
                                                                           for label in LABELS})
        segments.append(segment)
    return {"file": "talk.wav", "emotion": "neutral", "confidence": 1.0, "segments": segments}


def pixel(figure, image: np.ndarray, ax, x: float, y: float) -> np.ndarray:
    """The RGB (0-1) of image (a rendering of figure) at data point (x, y) of ax."""
    column, row = ax.transData.transform((x, y))
    return image[int(round(image.shape[0] - row)), int(round(column)), :3]


def test_timeline_greys_the_silent_windows_and_colours_the_others_by_emotion():
    result = timeline_result(silent=(3, 4))
    level = inference.level_db(np.r_[np.ones(48000), np.zeros(32000), np.ones(96000)].astype(np.float32), 16000)
    figure = plots.timeline_figure(result, level, inference.LEVEL_HOP_SECONDS, LABELS)
    figure.canvas.draw()
    image = np.asarray(figure.canvas.buffer_rgba(), dtype=float) / 255
    top, bottom = figure.axes[:2]
    assert image.shape[:2] == (600, 1600)
    neutral = np.array(plots.emotion_colours(LABELS)["neutral"][:3])
    for window in (3.5, 4.5):  # the silent windows, from their start to the next window's start
        np.testing.assert_allclose(pixel(figure, image, top, window, 0.5), plots.SILENT_GREY, atol=0.02)
        np.testing.assert_allclose(pixel(figure, image, bottom, window, -30), plots.SILENT_GREY, atol=0.02)
    for window in (0.5, 2.5, 5.5, 9.5):
        np.testing.assert_allclose(pixel(figure, image, top, window, 0.5), neutral, atol=0.02)
    assert "neutral 100% overall" in top.get_title() and "2 silent" in top.get_title()
    plots._pyplot().close(figure)


def test_emotion_colours_are_distinct_and_never_the_silence_grey():
    colours = [c[:3] for c in plots.emotion_colours(LABELS).values()]
    assert len(set(colours)) == len(LABELS)
    assert all(np.ptp(c) > 0.1 for c in colours)  # grey has R = G = B


def test_level_is_the_peak_per_hop_relative_to_the_loudest_sample():
    signal = np.r_[0.5 * np.ones(800), 0.05 * np.ones(800), np.zeros(800)].astype(np.float32)
    level = inference.level_db(signal, 16000)  # 50 ms = 800 samples a point
    assert level.shape == (3,) and level[2] < -150
    np.testing.assert_allclose(level[:2], [0, -20], atol=1e-4)
