"""Prediction on files: features of a whole file or of its windows, and the results per file.

The features are those of training (ser.features.extract_features with the model's feature
config), plus, when the model was evaluated with test-time augmentation, those of the file's
test-time copies: the same grid of pitch and tempo as in training's evaluation (ser.augment.test_time_grid).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from ser.audio import AudioError, audio_blocks, load_audio
from ser.augment import AugmentConfig, test_time_features
from ser.corpus import true_emotion
from ser.errors import require
from ser.features import FeatureConfig, extract_features, pause_fraction
from ser.stream import stream_windows


@dataclasses.dataclass
class FileFeatures:
    """What predict.py classifies of one file: the feature rows of the whole file, or with --segment the
    probabilities of its windows (classified as they came)."""

    path: Path
    rows: np.ndarray | None = None  # (1, n_views, n_features) for the whole file
    windows: list[dict] = dataclasses.field(default_factory=list)  # start, end, silent
    level_db: np.ndarray | None = None  # (n_samples // LEVEL_HOP_SECONDS,) with windows: peak level per 50 ms,
    #                                     dB re the file's loudest sample (what predict.py --plot draws under them)
    error: str | None = None
    pause_fraction: float | None = None  # the whole file's features.pause_fraction (not with windows)
    probabilities: np.ndarray | None = None  # (n_windows, n_labels) with windows, silent windows excluded: classified
    #                                          as they come (segment_features), their features not kept


LEVEL_HOP_SECONDS = 0.05  # the level drawn under a timeline: one point per 50 ms
MIN_PAUSE_FRACTION = 0.2  # a file whose pauses are a smaller share of it (pause_fraction) is warned about: the model
#   learned recordings with about a second of quiet around the speech (RAVDESS: under 0.2 in 7% of its files; EmoDB's
#   files, cut close to their speech: 96%), and scores lower on recordings cut to their speech (README, Robustness)
WINDOW_BLOCK = 256  # windows classified together with --segment (then only their probabilities are kept)
MAX_SEGMENT_OVERLAP = 0.9  # windows then move on by a tenth of their length; more only multiplies the work


def check_segment(seconds: float, overlap: float, min_speech_seconds: float) -> None:
    """ConfigError unless windows of `seconds` (0: whole files) sharing `overlap` can be classified."""
    require(math.isfinite(seconds) and seconds >= 0,
            f"segment {seconds} must be a number of seconds, or 0 for whole files (--segment)")
    require(seconds == 0 or seconds >= min_speech_seconds,
            f"segment {seconds} s is shorter than the {min_speech_seconds} s of sound the model needs to classify "
            f"a window; use --segment {min_speech_seconds} or more")
    require(0 <= overlap <= MAX_SEGMENT_OVERLAP,
            f"segment_overlap {overlap} must be 0 to {MAX_SEGMENT_OVERLAP} (--segment-overlap)")


def window_size_hop(sample_rate: int, seconds: float, overlap: float) -> tuple[int, int]:
    """(samples per window, samples between window starts) of windows of `seconds` sharing `overlap`."""
    size = max(1, int(seconds * sample_rate))
    return size, max(1, int(size * (1 - overlap)))


def windows_of(n_samples: int, sample_rate: int, seconds: float, overlap: float) -> list[tuple[int, int]]:
    """(start, end) sample ranges of windows of `seconds`, hop seconds*(1-overlap), covering the signal."""
    size, hop = window_size_hop(sample_rate, seconds, overlap)
    starts = list(range(0, max(n_samples - size, 0) + 1, hop))
    if starts[-1] + size < n_samples:  # the tail that the last full window missed
        starts.append(n_samples - size)
    return [(s, min(s + size, n_samples)) for s in starts]


def level_db(signal: np.ndarray, sample_rate: int, hop_seconds: float = LEVEL_HOP_SECONDS) -> np.ndarray:
    """(n_samples // hop,) the peak of each hop_seconds of signal (n_samples,), dB re its loudest sample."""
    meter = LevelMeter(sample_rate, hop_seconds)
    meter.add(signal)
    return meter.db()


def feature_views(signal: np.ndarray, config: FeatureConfig, tta: AugmentConfig | None) -> np.ndarray:
    """(views, n_features): the signal's features, then (with tta) those of its test-time copies."""
    if tta is None:
        return extract_features(signal, config.sample_rate, config)[None, :]
    return test_time_features(signal, config, tta)


def window_views(piece: np.ndarray, start: int, peak_so_far: float, config: FeatureConfig,
                 tta: AugmentConfig | None) -> tuple[dict, np.ndarray | None, str | None]:
    """(window, views (n_views, n_features) or None if silent, why it holds no usable sound if that is why) of
    the window piece (n_samples,) that starts start samples into its recording. Silent: more than
    speech_top_db below the loudest sample heard up to its end (peak_so_far), or no usable sound in it; the
    same decision for a file and for a stream of it, whose later samples are not known yet."""
    relative_db = 20 * np.log10(max(float(np.abs(piece).max()), 1e-12) / max(peak_so_far, 1e-12))
    window = {"start": round(start / config.sample_rate, 3), "end": round((start + len(piece)) / config.sample_rate, 3),
              "silent": bool(relative_db < -config.speech_top_db)}
    if window["silent"]:
        return window, None, None
    try:
        return window, feature_views(piece, config, tta), None
    except AudioError as err:
        window["silent"] = True
        return window, None, str(err)


class LevelMeter:
    """level_db of a signal that arrives in blocks (n,): add each block (returned as it is), then db()."""

    def __init__(self, sample_rate: int, hop_seconds: float = LEVEL_HOP_SECONDS):
        self.hop, self.peaks, self.carry = max(1, int(hop_seconds * sample_rate)), [], np.zeros(0, np.float32)

    def add(self, block: np.ndarray) -> np.ndarray:
        samples = np.concatenate([self.carry, block])
        whole = len(samples) // self.hop * self.hop
        self.peaks.append(np.abs(samples[:whole]).reshape(-1, self.hop).max(axis=1))
        self.carry = samples[whole:]
        return block

    def db(self) -> np.ndarray:
        peaks = np.concatenate(self.peaks) if self.peaks else np.zeros(0, np.float32)
        loudest = max(float(peaks.max()) if peaks.size else 0.0, float(np.abs(self.carry).max(initial=0.0)))
        return 20 * np.log10(np.maximum(peaks, 1e-10) / max(loudest, 1e-10))


@dataclasses.dataclass(frozen=True)
class WindowTask:
    """window_views of (start, samples, peak so far) with the settings fixed: picklable for worker processes."""

    config: FeatureConfig
    tta: AugmentConfig | None

    def __call__(self, item: tuple[int, np.ndarray, float]) -> tuple[dict, np.ndarray | None, str | None]:
        start, piece, peak_so_far = item
        return window_views(piece, start, peak_so_far, self.config, self.tta)


def file_windows(path: Path, config: FeatureConfig, segment: float, overlap: float, meter: LevelMeter):
    """(start, samples, peak so far) of each window of segment seconds sharing overlap of the file at path,
    read in blocks (audio_blocks) and measured by meter as they go: a long recording is never whole in memory."""
    size, hop = window_size_hop(config.sample_rate, segment, overlap)
    peak_so_far = 0.0
    for start, piece in stream_windows((meter.add(b) for b in audio_blocks(path, config.sample_rate)), size, hop):
        peak_so_far = max(peak_so_far, float(np.abs(piece).max()))  # the windows cover the signal from its start
        yield start, piece, peak_so_far


def window_count(path: Path, sample_rate: int, segment: float, overlap: float) -> int | None:
    """How many windows file_windows will give (for a progress bar), or None if the header does not say."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # unreadable: file_windows names the reason
        return None
    return len(windows_of(max(1, int(info.frames * sample_rate / info.samplerate)), sample_rate, segment, overlap))


def segment_features(path: Path, config: FeatureConfig, segment: float, overlap: float,
                     tta: AugmentConfig | None, classify, mapper=map) -> FileFeatures:
    """Probabilities of the windows of a file (file_windows), each window's views made by WindowTask through
    mapper(task, items) (map; or parallel.imap_with_progress, over the cores) and classified WINDOW_BLOCK at a
    time by classify (views (n, n_views, n_features) -> probabilities (n, n_labels)) as they come: only the
    probabilities are kept, so an hour takes no more memory than a minute. Silent windows are marked and left
    out. Errors come back in .error instead of being raised; a file that is one window gives that window's own
    reason."""
    meter, block, kept, windows, reasons = LevelMeter(config.sample_rate), [], [], [], []
    try:
        for window, views, reason in mapper(WindowTask(config, tta), file_windows(path, config, segment, overlap,
                                                                                  meter)):
            windows.append(window)
            reasons.append(reason)
            if views is not None:
                block.append(views)
            if len(block) == WINDOW_BLOCK:
                kept.append(classify(np.stack(block)))
                block = []
        if len(windows) == 1 and reasons[0] is not None:
            raise AudioError(reasons[0])
        if block:
            kept.append(classify(np.stack(block)))
        if not kept:
            raise AudioError("silent (no window holds speech)")
        return FileFeatures(path, windows=windows, level_db=meter.db(), probabilities=np.concatenate(kept))
    except AudioError as err:
        return FileFeatures(path, error=str(err).removeprefix(f"{path}: "))


def prediction_features(path: Path, config: FeatureConfig,
                        tta: AugmentConfig | None = None) -> FileFeatures:
    """Features of a whole file for prediction (its test-time copies with tta); windows: segment_features.
    Errors come back in .error instead of being raised."""
    try:
        signal = load_audio(path, config.sample_rate)
        return FileFeatures(path, feature_views(signal, config, tta)[None],
                            pause_fraction=pause_fraction(signal, config))
    except AudioError as err:
        return FileFeatures(path, error=str(err).removeprefix(f"{path}: "))


@dataclasses.dataclass(frozen=True)
class FeatureTask:
    """prediction_features with the settings fixed: picklable for worker processes."""

    config: FeatureConfig
    tta: AugmentConfig | None

    def __call__(self, path: Path) -> FileFeatures:
        return prediction_features(path, self.config, self.tta)


def cut_recordings(features: list[FileFeatures], min_fraction: float = MIN_PAUSE_FRACTION) -> list[FileFeatures]:
    """The files whose pauses around the speech are less than min_fraction of the recording."""
    return [item for item in features if item.pause_fraction is not None and item.pause_fraction < min_fraction]


def predictions(features: list[FileFeatures], probabilities: np.ndarray | None, labels: tuple[str, ...],
                truths: dict[Path, str] | None = None) -> list[dict]:
    """One result per file: overall emotion (mean over its speech windows) and, with windows, each window.
    probabilities (n, n_labels) are those of the rows of the features that hold rows, in order (files with
    windows hold their own). The true emotion comes from truths (a manifest's labels, by path) if given, else
    from a RAVDESS name."""
    results, row = [], 0
    for item in features:
        if item.probabilities is not None:  # windows, classified as they came
            probs = item.probabilities
        else:
            probs = probabilities[row:row + len(item.rows)]
            row += len(item.rows)
        overall = probs.mean(axis=0)
        result = {"file": str(item.path), "emotion": labels[int(overall.argmax())],
                  "confidence": float(overall.max()),
                  "probabilities": {label: float(p) for label, p in zip(labels, overall)}}
        if item.pause_fraction is not None:
            result["pause_fraction"] = round(item.pause_fraction, 3)
        if (truth := truths.get(item.path) if truths is not None else true_emotion(item.path)) is not None:
            result["true_emotion"] = truth
        if item.windows:
            speech = iter(probs)
            result["segments"] = []
            for window in item.windows:
                segment = dict(window)
                if not window["silent"]:
                    p = next(speech)
                    segment.update(emotion=labels[int(p.argmax())], confidence=float(p.max()),
                                   probabilities={label: float(q) for label, q in zip(labels, p)})
                result["segments"].append(segment)
        results.append(result)
    return results

