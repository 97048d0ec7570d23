"""Train, evaluate and save the emotion classifier on the arrays data_preparation.py wrote.

Loads X/y and manifest.csv from --data-dir, makes augmented copies of the audio (speed, pitch,
time shift) and a degraded version of each (a room, band limit, microphone tilt or MP3, and noise;
all passed through the same extract_features as preparation and cached on disk; a network trains
only on copies of its own training files), scales the features (fitted on the
training rows only), trains ENSEMBLE residual Dense Keras networks, each early-stopped on other
validation speakers so that together they learn from every non-test speaker, averages them, and
evaluates once on the test speakers: each test file and 4 copies of it on a fixed grid of pitch and tempo
(ser.augment.test_time_grid) are classified and the probabilities averaged, then divided by each emotion's
share of the training files, the decision that maximises balanced accuracy (predict.py does the same). The
recipe is ser.training's. Writes to --out-dir:

    model.keras                the trained network (ENSEMBLE members, averaged)
    preprocessing.json         scaler, labels, class prior, feature and augmentation config: what predict.py needs
    metrics.json               accuracy, balanced accuracy, F1, per class / speaker / sex / intensity / corpus, settings
    classification_report.txt, history.csv, confusion_matrix.png, training_curves.png
    complete.json              written last: each file's size and sha256 (predict.py refuses a folder without it)

    python model_training.py                     # data/processed -> results
    python model_training.py --folds 6           # 6-fold cross-validation by speaker (RAVDESS actors 1-4, 5-8, ...)
    python model_training.py --folds corpus      # leave-one-corpus-out (corpora pooled by data_preparation.py)
    python model_training.py --no-augment --epochs 50
    python model_training.py --dask-scheduler tcp://host:8786   # augmented copies on a Dask cluster
    python model_training.py --help              # every constant below as a flag
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from ser import cli, corpus, metrics, model_folder, network, parallel, plots, prepared_data, training
from ser.atomic import bytes_saver, write_json

# ----------------------------------------------------------------------------------------------
# Settings: each constant is the flag of the same name (EPOCHS -> --epochs); its comment is the help.
DATA_DIR = "data/processed"  # what data_preparation.py wrote
OUT_DIR = "results"  # model, metrics and plots
CACHE_DIR = "data/cache"  # features of augmented audio, reused by later runs
EPOCHS = 300  # at most; early stopping on the validation actors usually ends sooner
BATCH_SIZE = 256  # rows per training step
LEARNING_RATE = 1e-3  # Adam's; chosen on held-out non-test actors (bench/nested_check.py): 0.002 scored 1.1 lower
WIDTH = 256  # units of every Dense layer
BLOCKS = 2  # residual blocks
DROPOUT = 0.5  # after every block and before the output
WEIGHT_DECAY = 1e-4  # L2 on the Dense kernels
LABEL_SMOOTHING = 0.1  # of the one-hot targets
PATIENCE = 15  # epochs without validation improvement before stopping; chosen on held-out non-test actors
#                (bench/nested_check.py): the same figures as 25 in every fold, ~10 fewer epochs per network
LR_PATIENCE = 8  # epochs without improvement before halving the learning rate
ENSEMBLE = 3  # networks averaged into model.keras, each early-stopped on other validation actors
AUGMENT = True  # add augmented copies of the training audio (--no-augment: none)
AUGMENT_COPIES = 4  # augmented copies of each file
TEST_TIME_AUGMENT = True  # classify each test file and its copies on a grid of pitch and tempo, average the probabilities
UNIFORM_PRIOR = True  # divide the probabilities by each emotion's share of the training files (neutral has half
#                       the files of the others): the decision that maximises balanced accuracy
NOISE_SNR_DB = (5.0, 30.0)  # noise of the degraded copies (white, coloured or babble), signal-to-noise range (dB)
SPEED_RANGE = (0.9, 1.1)  # tempo change (time stretch)
PITCH_SEMITONES = (-4.0, 4.0)  # moves pitch and formants together, like another voice; chosen on held-out
#                                 non-test actors (bench/nested_check.py): +1.8 over (-2, 2), (-6, 6) lower
SHIFT_FRACTION = 0.2  # time shift, as a fraction of the clip
AUGMENT_PROBABILITY = 0.5  # chance that each of tempo, pitch and shift is applied to a copy
CHANNEL_PROBABILITY = 0.5  # each copy also trains degraded: chance of a room, band limit, microphone tilt,
#                            MP3 or phone line (one of them; ranges in ser/augment.py's CHANNEL_RANGES);
#                            this and --noise-probability 0: no degraded copies. 1 with --noise-probability 1
#                            scored 4.5 lower on held-out actors (bench/nested_check.py, 2 folds)
NOISE_PROBABILITY = 0.5  # chance that a degraded copy is mixed with noise (white, coloured or babble)
FOLDS = 0  # 0: train on the prepared split; K: K-fold cross-validation by speaker; corpus: leave-one-corpus-out
SEED = 42  # one seed for the validation actors, the augmentation and the networks
JOBS = -1  # worker processes for the augmented copies and the networks (two at once on 2 cores); -1 = all cores
DASK_SCHEDULER = ""  # address of a Dask scheduler (tcp://host:8786) to make the augmented copies on its workers
#                      instead (pip install -r requirements-dask.txt; they must see the files and --cache-dir)
# ----------------------------------------------------------------------------------------------

log = logging.getLogger("ser")


def folds_value(text: str):
    """--folds: a number, or corpus."""
    if text.strip().lower() == "corpus":
        return "corpus"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number of folds nor corpus") from None


def parse_args(argv=None):
    parser = cli.settings_parser(sys.modules[__name__], types={"FOLDS": folds_value})
    parser.add_argument("--force", action="store_true",
                        help="redo a cross-validation whose cv_metrics.json already holds these settings")
    parser.add_argument("--verbose", action="store_true", help="keep TensorFlow's own log messages")
    return cli.parse(parser, argv)


def train_config(args) -> training.TrainConfig:
    """The TrainConfig of these flags (EPOCHS ... SEED), checked."""
    return cli.config_from(training.TrainConfig, args)


def run_settings(config: training.TrainConfig, prepared: prepared_data.Prepared) -> dict:
    """The settings and feature config a result was produced with, so a metrics file says what it measured."""
    return {**dataclasses.asdict(config), "feature_config": prepared.feature_config.to_dict(),
            "data_fingerprint": prepared.meta.get("fingerprint")}


def finished_summary(path: Path, settings: dict) -> dict | None:
    """The JSON summary at path if a run with these settings on the same prepared data wrote it, else None."""
    try:
        summary = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    same = isinstance(summary, dict) and summary.get("settings") == json.loads(json.dumps(settings))
    return summary if same else None


def save_outputs(out: Path, result: training.TrainResult, y_test: np.ndarray, prepared: prepared_data.Prepared,
                 config: training.TrainConfig, summary: dict) -> str:
    """The model folder, metrics, report, history and plots of a single-split run; returns the report."""
    preprocessing = model_folder.Preprocessing(prepared.labels, prepared.feature_config,
                                               tuple(prepared.meta["feature_names"]), result.mean, result.scale,
                                               config.test_time_config, result.prior)
    report = metrics.classification_report_text(y_test, result.probabilities, prepared.labels)
    text = {"metrics.json": json.dumps(summary, indent=2), "classification_report.txt": report,
            "history.csv": metrics.history_csv(result.histories)}
    model_folder.write_model_folder(out, result.model, preprocessing, {
        **{name: bytes_saver(lambda f, t=content: f.write(t.encode())) for name, content in text.items()},
        "confusion_matrix.png": lambda path: plots.plot_confusion(
            summary["confusion_matrix"], path, f"test speakers {metrics.compact(summary['test_speakers'], 40)}",
            prepared.labels),
        "training_curves.png": lambda path: plots.plot_history(result.histories, path)})
    return report


def run_single(prepared: prepared_data.Prepared, config: training.TrainConfig, args) -> dict:
    data, split = prepared.dataset(), prepared.split()
    start = time.perf_counter()
    augmented = training.augment_dataset(data, prepared.feature_config, config, args.cache_dir, args.jobs,
                                         args.dask_scheduler, test_only=split.test)
    augment_seconds = time.perf_counter() - start
    speakers = data.speakers
    log.info("training %d network(s) on %d files of %d speakers%s, %d validation speakers each; "
             "testing on %d files of %d labels (speakers %s)", config.ensemble, len(split.train) + len(split.val),
             len(set(speakers[np.concatenate([split.train, split.val])])), " (+ augmented copies)" if augmented else "",
             len(set(speakers[split.val])),
             len(split.test), len(data.labels), metrics.compact(sorted(set(speakers[split.test]),
                                                                     key=corpus.natural_key), 60))
    start = time.perf_counter()
    result = training.train_and_evaluate(data, split, augmented, config, np.random.default_rng(config.seed),
                                         jobs=args.jobs)
    summary = {**result.metrics, "train_size": int(len(split.train)), "val_size": int(len(split.val)),
               "test_size": int(len(split.test)), "augment_copies": config.augment_copies if config.augment else 0,
               "test_time_augment": config.uses_test_time_augment,
               "augment_seconds": round(augment_seconds, 1), "training_seconds": round(time.perf_counter() - start, 1),
               "split_method": prepared.meta["split"]["method"], "settings": run_settings(config, prepared)}
    print(save_outputs(args.out_dir, result, data.y[split.test], prepared, config, summary))
    return summary


def run_folds(prepared: prepared_data.Prepared, config: training.TrainConfig, args) -> dict:
    settings = run_settings(config, prepared)
    done = None if args.force else finished_summary(args.out_dir / "cv_metrics.json", settings)
    if done:
        log.info("%s already holds this cross-validation (same prepared data and settings); reusing it "
                 "(--force redoes it)", args.out_dir / "cv_metrics.json")
        print(metrics.fold_table(done))
        return done
    data = prepared.dataset()
    augmented = training.augment_dataset(data, prepared.feature_config, config, args.cache_dir, args.jobs,
                                         args.dask_scheduler)
    results = training.cross_validate(data, augmented, config, prepared.meta["split"]["val_fraction"],
                                      np.random.default_rng(config.seed), args.jobs)
    summary = metrics.fold_summary(results, settings)
    write_json(args.out_dir / "cv_metrics.json", summary)
    print(metrics.fold_table(summary))
    return summary


def without_tta(figures: dict) -> str:
    """' (without test-time augmentation 0.612)' when the figures have it, else ''."""
    value = figures.get("balanced_accuracy_without_tta")
    return "" if value is None else f" (without test-time augmentation {value:.3f})"


def run(args) -> None:
    config = train_config(args)
    args.jobs = parallel.worker_count(args.jobs)
    cli.output_folder(args.out_dir)
    if config.augment:
        cli.output_folder(args.cache_dir / "augment", "--cache-dir")
    prepared = prepared_data.load_prepared(args.data_dir)
    network.load_keras()
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()  # same seed, same metrics
    if config.folds:
        summary = run_folds(prepared, config, args)
        mean, std = summary["mean"], summary["std"]
        log.info("%s-fold by speaker: balanced accuracy %.3f ± %.3f%s, accuracy %.3f ± %.3f, macro F1 %.3f ± %.3f; "
                 "wrote %s", config.folds, mean["balanced_accuracy"], std["balanced_accuracy"], without_tta(mean),
                 mean["accuracy"], std["accuracy"], mean["macro_f1"], std["macro_f1"], args.out_dir / "cv_metrics.json")
    else:
        summary = run_single(prepared, config, args)
        log.info("test speakers %s: accuracy %.3f, balanced accuracy %.3f%s, macro F1 %.3f, weighted F1 %.3f "
                 "(epochs per network %s, %.0f s); wrote %s", metrics.compact(summary["test_speakers"], 60),
                 summary["accuracy"], summary["balanced_accuracy"], without_tta(summary), summary["macro_f1"],
                 summary["weighted_f1"], summary["member_epochs"], summary["training_seconds"], args.out_dir)


def main(argv=None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    cli.quiet_tensorflow(args.verbose)
    return cli.exit_code(lambda: run(args), cli.interrupted_writing(args.out_dir))


if __name__ == "__main__":
    sys.exit(main())
