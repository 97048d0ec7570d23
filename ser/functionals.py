"""Functionals: statistics that summarise a contour over time (n_rows, n_frames) in a few numbers.

Each function returns named blocks, [(name, values (n_rows,)), ...], so that every entry of the
feature vector has a name.
"""

from __future__ import annotations

import numpy as np

CONTOUR_SHAPE = ("max_position", "min_position", "up25", "up50", "up75", "up90", "rising", "curvature",
                 "fit_error", "peaks_per_second", "peak_seconds", "peak_height", "rise_slope", "fall_slope")
MODULATION_HZ = ((0.5, 2.0), (2.0, 4.0), (4.0, 8.0), (8.0, 16.0))  # phrase, word, syllable, fast rates
FLAT_ENVELOPE = 1e-3  # a band whose log envelope varies less than this (std, nats: 0.004 dB) is flat: equal shares


def pooled(name: str, rows: np.ndarray, stats: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    """Statistics over time of each row of rows (n_rows, n_frames): one named block per statistic.

    Percentiles are pNN; range is p99 - p1 and iqr p75 - p25 (robust to single outlier frames);
    slope is the least-squares trend over the clip with time scaled to [-1, 1].
    """
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    if rows.shape[1] < 2:  # e.g. no voiced frame: constant statistics instead of NaN
        rows = np.zeros((rows.shape[0], 2)) if rows.shape[1] == 0 else np.repeat(rows, 2, axis=1)
    needed = {"range": (1, 99), "iqr": (25, 75)}
    levels = sorted({int(s[1:]) for s in stats if s[0] == "p" and s[1:].isdigit()}
                    | {q for s in stats for q in needed.get(s, ())})
    percentile = dict(zip(levels, np.percentile(rows, levels, axis=1))) if levels else {}
    mean = rows.mean(axis=1)
    centred = rows - mean[:, None]
    std = np.sqrt((centred ** 2).mean(axis=1))
    standardised = centred / np.maximum(std, 1e-8)[:, None]
    time_axis = np.linspace(-1, 1, rows.shape[1])
    compute = {
        "mean": lambda: mean,
        "std": lambda: std,
        "slope": lambda: rows @ time_axis / (time_axis @ time_axis),
        "skew": lambda: (standardised ** 3).mean(axis=1),
        "kurtosis": lambda: (standardised ** 4).mean(axis=1) - 3,
        "range": lambda: percentile[99] - percentile[1],
        "iqr": lambda: percentile[75] - percentile[25],
    }
    return [(f"{name}_{stat}", compute[stat]() if stat in compute else percentile[int(stat[1:])])
            for stat in stats]


def contour_shape(name: str, rows: np.ndarray, frames_per_second: float) -> list[tuple[str, np.ndarray]]:
    """How each contour of rows (n_rows, n_frames) moves over time (after ComParE's functionals).

    Relative positions of the maximum and minimum; the fraction of frames above 25/50/75/90 % of
    the p1-p99 range ("up-level times") and of rising frames; curvature and residual of a quadratic
    fit over time in [-0.5, 0.5]; peaks (local maxima above half the range) per second, their mean
    spacing in seconds and mean height above the contour's mean (as a fraction of its max - min, so
    at most 1); mean rise and fall per frame. One named block per functional, of length n_rows.
    """
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    if rows.shape[1] < 5:  # too few frames for a shape (e.g. hardly any voiced frame)
        return [(f"{name}_{stat}", np.zeros(rows.shape[0])) for stat in CONTOUR_SHAPE]
    n = rows.shape[1]
    low, high = np.percentile(rows, [1, 99], axis=1)
    span = np.maximum(high - low, 1e-6)
    level = (rows - low[:, None]) / span[:, None]
    time_axis = np.linspace(-0.5, 0.5, n)
    design = np.stack([time_axis ** 2, time_axis, np.ones(n)], axis=1)
    coefficients = np.linalg.lstsq(design, rows.T, rcond=None)[0]  # (3, n_rows)
    residual = rows - (design @ coefficients).T
    step = np.diff(rows, axis=1)
    rising, falling = step > 0, step < 0
    inner = rows[:, 1:-1]
    peaks = (inner > rows[:, :-2]) & (inner >= rows[:, 2:]) & (level[:, 1:-1] > 0.5)
    peak_count = peaks.sum(axis=1)
    positions = np.arange(1, n - 1)
    first = np.where(peaks, positions, n).min(axis=1)
    last = np.where(peaks, positions, -1).max(axis=1)
    peak_seconds = np.where(peak_count > 1, (last - first) / np.maximum(peak_count - 1, 1), 0) / frames_per_second
    full_range = np.maximum(rows.max(axis=1) - rows.min(axis=1), 1e-6)  # not span: on a flat contour (a band
    peak_height = np.where(peak_count > 0, (inner * peaks).sum(axis=1) / np.maximum(peak_count, 1)  # cut by a
                           - rows.mean(axis=1), 0) / full_range  # phone line) one peak would be 1e6 spans high
    values = [rows.argmax(axis=1) / n, rows.argmin(axis=1) / n,
              *[(level > threshold).mean(axis=1) for threshold in (0.25, 0.5, 0.75, 0.9)],
              rising.mean(axis=1), coefficients[0], np.sqrt((residual ** 2).mean(axis=1)),
              peak_count * frames_per_second / n, peak_seconds, peak_height,
              (step * rising).sum(axis=1) / np.maximum(rising.sum(axis=1), 1),
              -(step * falling).sum(axis=1) / np.maximum(falling.sum(axis=1), 1)]
    return [(f"{name}_{stat}", value) for stat, value in zip(CONTOUR_SHAPE, values)]


def thirds(name: str, rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Mean over the first, middle and last third of rows (n_rows, n_frames), relative to the mean
    over all frames: where in the utterance a descriptor is high. One block per third."""
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    if rows.shape[1] < 3:
        return [(f"{name}_third{k}", np.zeros(rows.shape[0])) for k in (1, 2, 3)]
    mean = rows.mean(axis=1)
    return [(f"{name}_third{k}", rows[:, part].mean(axis=1) - mean)
            for k, part in enumerate(np.array_split(np.arange(rows.shape[1]), 3), start=1)]


def modulation_db(name: str, band_power: np.ndarray, frames_per_second: float) -> list[tuple[str, np.ndarray]]:
    """Rhythm of each band of band_power (n_bands, n_frames): the share (dB) of its log-envelope's
    modulation energy in each range of MODULATION_HZ. One block per range, of length n_bands. A flat band
    (e.g. one held at the spectrum's floor, above a phone line's band) gets equal shares: its rounding
    noise, which differs between CPUs, would otherwise decide them."""
    envelope = np.log(band_power + 1e-10)
    envelope -= envelope.mean(axis=1, keepdims=True)
    envelope[envelope.std(axis=1) < FLAT_ENVELOPE] = 0
    n = envelope.shape[1]
    n_fft = max(256, 1 << int(np.ceil(np.log2(n))))
    spectrum = np.abs(np.fft.rfft(envelope * np.hanning(n), n=n_fft, axis=1)) ** 2
    rates = np.fft.rfftfreq(n_fft, 1 / frames_per_second)
    energy = np.stack([spectrum[:, (rates >= low) & (rates < high)].sum(axis=1) for low, high in MODULATION_HZ]) + 1e-10
    share_db = 10 * np.log10(energy / energy.sum(axis=0))
    return [(f"{name}_{low:g}_{high:g}hz_db", values) for (low, high), values in zip(MODULATION_HZ, share_db)]
