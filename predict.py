"""Predict the emotion of your own recordings with the model model_training.py saved.

    python predict.py my_voice.wav                       # one file
    python predict.py recordings/ other.flac             # folders are searched recursively
    python predict.py talk.wav --segment 4               # a long recording, in 4 s windows
    python predict.py recordings/ --json > out.json      # machine-readable; logs go to stderr

Any sample rate, bit depth, mono or stereo; WAV, FLAC, OGG and MP3 (what libsndfile decodes).
Features are computed by data_preparation.extract_features with the feature config saved in the
model folder, scaled with the saved scaler and classified by the saved network, exactly as in
training; if the model was evaluated with test-time augmentation, each file's augmented copies
(the same ones, seeded by the file name) are classified too and the probabilities averaged
(--no-test-time-augment: the file alone, about 5x faster); then, as in training, the
probabilities are divided by each emotion's share of the training files (uniform prior). Files named like RAVDESS
(03-01-05-...-12.wav) also show their true emotion, and the run ends with the accuracy over them.

Exit codes: 0 all files predicted; 1 some files could not be read (each named on stderr);
2 the model folder is missing or incomplete, or there is no audio to predict.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

import numpy as np

import data_preparation as dp
import model_training as mt

# ----------------------------------------------------------------------------------------------
# Constants a user tweaks (each one is a command-line flag of the same name).
MODEL_DIR = "results"  # what model_training.py wrote
SEGMENT = 0.0  # seconds per window for long recordings; 0 = the whole file at once
SEGMENT_OVERLAP = 0.5  # fraction of a window shared with the next one
JOBS = -1  # worker processes for feature extraction; -1 = all cores
MIN_FILES_FOR_WORKERS = 8  # fewer files than this are done in this process (no worker start-up)
TEST_TIME_AUGMENT = True  # average over augmented copies, if the model was evaluated that way
# ----------------------------------------------------------------------------------------------

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif")

log = logging.getLogger("ser")


class ModelDirError(dp.UserError):
    """The model folder cannot be used (exit code 2)."""


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """What model_training.py saved besides the network."""

    labels: tuple[str, ...]
    feature_config: dp.FeatureConfig
    mean: np.ndarray
    scale: np.ndarray
    test_time_augment: tuple[mt.AugmentConfig, int] | None  # (augmentation, seed) of the test-time copies
    class_prior: np.ndarray | None  # training share of each emotion, divided out of the probabilities


def load_preprocessing(model_dir: Path) -> Preprocessing:
    """preprocessing.json of a model folder, checked; ModelDirError saying how to make a good one."""
    hint = f"train one with: python model_training.py --out-dir {model_dir}"
    if not model_dir.is_dir():
        raise ModelDirError(f"model folder {model_dir} does not exist; {hint}")
    missing = [name for name in ("model.keras", "preprocessing.json") if not (model_dir / name).is_file()]
    if missing:
        raise ModelDirError(f"model folder {model_dir} lacks {', '.join(missing)}; {hint}")
    try:
        record = json.loads((model_dir / "preprocessing.json").read_text())
        if record.get("version") != mt.PREPROCESSING_VERSION:
            raise ModelDirError(f"{model_dir}/preprocessing.json is version {record.get('version')}, this "
                                f"predict.py reads version {mt.PREPROCESSING_VERSION}; {hint}")
        config = dp.FeatureConfig.from_dict(record["feature_config"], f"{model_dir}/preprocessing.json")
        mean = np.asarray(record["scaler_mean"], dtype=np.float32)
        scale = np.asarray(record["scaler_scale"], dtype=np.float32)
        labels = tuple(record["labels"])
        tta = record["test_time_augment"]
        if tta is not None:
            tta = (mt.AugmentConfig.from_dict(tta["augment"]), int(tta["seed"]))
        prior = None if record["class_prior"] is None else np.asarray(record["class_prior"], dtype=np.float64)
    except ModelDirError:
        raise
    except (ValueError, KeyError, TypeError, dp.UserError) as err:
        raise ModelDirError(f"{model_dir}/preprocessing.json is unreadable or from another version "
                            f"({err}); {hint}") from None
    if not (len(mean) == len(scale) == len(record.get("feature_names", mean))):
        raise ModelDirError(f"{model_dir}/preprocessing.json: scaler and feature names disagree; {hint}")
    if prior is not None and (prior.shape != (len(labels),) or not (prior > 0).all()):
        raise ModelDirError(f"{model_dir}/preprocessing.json: class_prior does not fit the {len(labels)} labels; "
                            f"{hint}")
    return Preprocessing(labels, config, mean, scale, tta, prior)


def load_network(model_dir: Path, n_features: int, n_labels: int):
    import keras

    hint = f"train one with: python model_training.py --out-dir {model_dir}"
    try:
        model = keras.models.load_model(model_dir / "model.keras")
    except Exception as err:  # Keras raises many kinds for a damaged or foreign file
        raise ModelDirError(f"{model_dir}/model.keras cannot be loaded ({type(err).__name__}); {hint}") from None
    if tuple(model.input_shape[1:]) != (n_features,) or model.output_shape[-1] != n_labels:
        raise ModelDirError(f"{model_dir}/model.keras takes {model.input_shape[1:]} features and gives "
                            f"{model.output_shape[-1]} classes, preprocessing.json says {n_features} and "
                            f"{n_labels}; {hint}")
    return model


def find_audio(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Audio files named or inside the named folders (recursively), and errors for missing paths."""
    files, errors = [], []
    for path in paths:
        if path.is_dir():
            files += dp.files_under(path, AUDIO_EXTENSIONS)
        elif path.is_file():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return list(dict.fromkeys(files)), errors


@dataclasses.dataclass
class FileFeatures:
    """Feature rows of one file: one row for the whole file, or one per window with --segment."""

    path: Path
    rows: np.ndarray | None = None  # (n_windows, n_views, n_features), silent windows excluded
    windows: list[dict] = dataclasses.field(default_factory=list)  # start, end, silent
    error: str | None = None


def windows_of(n_samples: int, sample_rate: int, seconds: float, overlap: float) -> list[tuple[int, int]]:
    """(start, end) sample ranges of windows of `seconds`, hop seconds*(1-overlap), covering the signal."""
    size = max(1, int(seconds * sample_rate))
    hop = max(1, int(size * (1 - overlap)))
    starts = list(range(0, max(n_samples - size, 0) + 1, hop))
    if starts[-1] + size < n_samples:  # the tail that the last full window missed
        starts.append(n_samples - size)
    return [(s, min(s + size, n_samples)) for s in starts]


def feature_views(signal: np.ndarray, config: dp.FeatureConfig, tta: tuple[mt.AugmentConfig, int] | None,
                  name: str) -> np.ndarray:
    """(views, n_features): the signal's features, then those of its test-time augmented copies."""
    features = dp.extract_features(signal, config.sample_rate, config)[None, :]
    if tta is None:
        return features
    augment, seed = tta
    return np.concatenate([features, mt.augmented_features(signal, config, augment, mt.file_seed(name, seed))])


def prediction_features(path: Path, config: dp.FeatureConfig, segment: float = SEGMENT,
                        overlap: float = SEGMENT_OVERLAP,
                        tta: tuple[mt.AugmentConfig, int] | None = None) -> FileFeatures:
    """Features of a file for prediction; errors come back in .error instead of being raised."""
    try:
        signal = dp.load_audio(path, config.sample_rate)
        if segment <= 0:
            return FileFeatures(path, feature_views(signal, config, tta, path.name)[None])
        file_peak = float(np.abs(signal).max())
        rows, windows = [], []
        for start, end in windows_of(len(signal), config.sample_rate, segment, overlap):
            piece = signal[start:end]
            relative_db = 20 * np.log10(max(float(np.abs(piece).max()), 1e-12) / max(file_peak, 1e-12))
            window = {"start": round(start / config.sample_rate, 3), "end": round(end / config.sample_rate, 3),
                      "silent": bool(relative_db < -config.speech_top_db)}
            if not window["silent"]:
                try:
                    rows.append(feature_views(piece, config, tta, f"{path.name}@{start}"))
                except dp.AudioError:
                    window["silent"] = True
            windows.append(window)
        if not rows:
            raise dp.AudioError("silent (no window holds speech)")
        return FileFeatures(path, np.stack(rows), windows)
    except dp.AudioError as err:
        return FileFeatures(path, error=str(err).removeprefix(f"{path}: "))


@dataclasses.dataclass(frozen=True)
class _FeatureTask:
    """prediction_features with the settings fixed: picklable for worker processes."""

    config: dp.FeatureConfig
    segment: float
    overlap: float
    tta: tuple[mt.AugmentConfig, int] | None

    def __call__(self, path: Path) -> FileFeatures:
        return prediction_features(path, self.config, self.segment, self.overlap, self.tta)


def true_emotion(path: Path) -> str | None:
    """The emotion a RAVDESS file name states, or None for other names."""
    try:
        return dp.LABELS[dp.parse_name(path).emotion]
    except dp.UserError:
        return None


def predictions(features: list[FileFeatures], probabilities: np.ndarray, labels: tuple[str, ...]) -> list[dict]:
    """One result per file: overall emotion (mean over its speech windows) and, with windows, each window."""
    results, row = [], 0
    for item in features:
        probs = probabilities[row:row + len(item.rows)]
        row += len(item.rows)
        overall = probs.mean(axis=0)
        result = {"file": str(item.path), "emotion": labels[int(overall.argmax())],
                  "confidence": float(overall.max()),
                  "probabilities": {label: float(p) for label, p in zip(labels, overall)}}
        if (truth := true_emotion(item.path)) is not None:
            result["true_emotion"] = truth
        if item.windows:
            speech = iter(probs)
            result["segments"] = []
            for window in item.windows:
                segment = dict(window)
                if not window["silent"]:
                    p = next(speech)
                    segment.update(emotion=labels[int(p.argmax())], confidence=float(p.max()))
                result["segments"].append(segment)
        results.append(result)
    return results


def table(results: list[dict]) -> str:
    """Aligned text: file, emotion, confidence, runner-up (and truth, windows) per file."""
    width = max(len(r["file"]) for r in results)
    lines = []
    for r in results:
        ranked = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])
        (best, p_best), (second, p_second) = ranked[:2]
        line = f"{r['file']:<{width}}  {best:<9} {p_best:5.1%}   runner-up {second:<9} {p_second:5.1%}"
        if "true_emotion" in r:
            line += f"   true {r['true_emotion']}" + ("" if r["true_emotion"] == r["emotion"] else "  (wrong)")
        lines.append(line)
        for s in r.get("segments", []):
            what = "silence" if s["silent"] else f"{s['emotion']:<9} {s['confidence']:5.1%}"
            lines.append(f"    {s['start']:7.2f}-{s['end']:7.2f} s  {what}")
    return "\n".join(lines)


def accuracy_line(results: list[dict]) -> str | None:
    known = [r for r in results if "true_emotion" in r]
    if not known:
        return None
    correct = sum(r["emotion"] == r["true_emotion"] for r in known)
    return f"accuracy on {len(known)} files with RAVDESS names: {correct / len(known):.1%} ({correct}/{len(known)})"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("paths", nargs="+", type=Path, help="audio files or folders (searched recursively)")
    p.add_argument("--model-dir", type=Path, default=Path(MODEL_DIR), help="what model_training.py wrote")
    p.add_argument("--json", action="store_true", help="JSON list on stdout instead of a table")
    p.add_argument("--segment", type=float, default=SEGMENT,
                   help="window length in seconds for long recordings (0: whole file)")
    p.add_argument("--segment-overlap", type=float, default=SEGMENT_OVERLAP)
    p.add_argument("--jobs", type=int, default=JOBS)
    p.add_argument("--test-time-augment", action=argparse.BooleanOptionalAction, default=TEST_TIME_AUGMENT,
                   help="average over the augmented copies the model was evaluated with (if it was)")
    p.add_argument("--verbose", action="store_true", help="keep TensorFlow's own log messages")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    dp.setup_logging(args.verbose)
    mt.quiet_tensorflow(args.verbose)
    try:
        preprocessing = load_preprocessing(args.model_dir)
    except dp.UserError as err:
        log.error("%s", err)
        return 2
    files, errors = find_audio(args.paths)
    for error in errors:
        log.error("%s", error)
    if not files:
        log.error("no audio files (%s) in %s", ", ".join(sorted(AUDIO_EXTENSIONS)),
                  " ".join(str(p) for p in args.paths))
        return 2
    jobs = args.jobs if len(files) >= MIN_FILES_FOR_WORKERS else 1
    tta = preprocessing.test_time_augment if args.test_time_augment else None
    task = _FeatureTask(preprocessing.feature_config, args.segment, args.segment_overlap, tta)
    features = dp.map_with_progress(task, files, jobs, desc="features")
    for item in features:
        if item.error:
            log.error("%s: %s", item.path, item.error)
    usable = [item for item in features if item.error is None]
    failed = len(errors) + len(features) - len(usable)
    if usable:
        try:
            model = load_network(args.model_dir, len(preprocessing.mean), len(preprocessing.labels))
        except dp.UserError as err:
            log.error("%s", err)
            return 2
        views = np.concatenate([item.rows for item in usable]).transpose(1, 0, 2)  # (views, windows, features)
        probabilities = mt.predict_views(model, mt.apply_scaler(views, preprocessing.mean, preprocessing.scale),
                                         preprocessing.class_prior)
        results = predictions(usable, probabilities, preprocessing.labels)
        print(json.dumps(results, indent=2) if args.json else table(results))
        if (line := accuracy_line(results)) is not None:
            log.info("%s", line)
    log.info("predicted %d files, %d failed", len(usable), failed)
    return 1 if failed else 0


if __name__ == "__main__":
    # Run main from the importable module so worker processes unpickle its functions by reference.
    import predict

    sys.exit(predict.main())
