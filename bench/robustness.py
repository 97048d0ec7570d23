"""Robustness benchmark: balanced accuracy on the test actors' files, clean and degraded (not a test).

Trains the default recipe exactly as model_training.py does (the same seed gives the same models:
the 6 actor folds of --folds 6, or with --folds 0 the prepared single split, quicker), then
classifies every test file on its own as predict.py does (its features, those of its test-time
copies, the class prior), clean and under each condition of CONDITIONS
(ser.degradations; "cut to the speech" keeps only the speech span, as a recording cut tightly around
its sentence), made deterministically from the file's name and the seed. Babble mixes
BABBLE_TALKERS files of the fold's training actors, never a test actor. Prints per condition the
balanced accuracy (mean over folds), its drop against clean, and how many files were rejected
(no speech found: counted as wrong). With --other-corpus, each model also classifies the labelled
recordings of a manifest made elsewhere (README, *Your own corpus*), scored over the labels it knows:
a real other studio beside the simulated conditions. With --adapt-speakers, every condition (and the
other corpus) is also scored as predict.py --adapt-speakers classifies the files (ser.adaptation: each
test speaker's features centred on their own mean, under the same condition; a labelled comparison, not
speaker-independent).

    python bench/robustness.py --data-dir bench/work/default/processed --folds 0   # single split
    python bench/robustness.py --data-dir bench/work/default/processed             # the 6 folds
    python bench/robustness.py --train-args --no-test-time-augment                 # model_training.py flags
    python bench/robustness.py --only "telephone,cut to the speech"                # some conditions (and clean)
    python bench/robustness.py --only "telephone" --other-corpus emodb_test.csv    # and recordings made elsewhere
    python bench/robustness.py --only "telephone" --adapt-speakers                 # and adapted to each speaker
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import model_training  # noqa: E402  (its flags are the settings measured)
from ser import adaptation, audio, augment, cli, corpus, degradations, features, inference, manifest, network  # noqa: E402
from ser import parallel, prepared_data, training  # noqa: E402
from ser.errors import UserError  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Settings: each constant is the flag of the same name; its comment is the help.
DATA_DIR = "bench/work/default/processed"  # what bench/accuracy.py (or data_preparation.py) wrote
CACHE_DIR = "bench/work/cache"  # augmented copies, shared with bench/accuracy.py
FOLDS = 6  # actor folds as in model_training.py --folds; 0: the prepared single split
SEED = 42  # seed of the training (model_training.py's) and of the degraded copies
BABBLE_TALKERS = 4  # training actors' files summed into the babble
ONLY = ""  # measure only these conditions besides clean, comma-separated ("telephone,babble 10 dB"); empty: all
OTHER_CORPUS = ""  # a manifest CSV of labelled recordings made elsewhere, also classified by every model (empty: none)
ADAPT_SPEAKERS = False  # also score every condition (and the other corpus) as predict.py --adapt-speakers classifies it
JOBS = -1  # worker processes for the degraded copies' features; -1 = all cores
# ----------------------------------------------------------------------------------------------

CONDITIONS = {  # name -> degraded signal, from (signal, sample rate, rng, babble talkers, speech power,
#               speech span (start, end) in samples)
    "clean": lambda x, sr, rng, talkers, p, span: x,
    "white noise 20 dB": lambda x, sr, rng, talkers, p, span: degradations.white_noise(x, 20, rng, p),
    "white noise 10 dB": lambda x, sr, rng, talkers, p, span: degradations.white_noise(x, 10, rng, p),
    "white noise 5 dB": lambda x, sr, rng, talkers, p, span: degradations.white_noise(x, 5, rng, p),
    "babble 10 dB": lambda x, sr, rng, talkers, p, span: degradations.babble(x, talkers, 10, p),
    "telephone": lambda x, sr, rng, talkers, p, span: degradations.telephone(x, sr),
    "reverberation RT60 0.5 s": lambda x, sr, rng, talkers, p, span: degradations.reverberation(x, sr, 0.5, rng),
    "MP3 32 kbit/s": lambda x, sr, rng, talkers, p, span: degradations.mp3(x, sr, 32),
    "level -30 dB": lambda x, sr, rng, talkers, p, span: degradations.gain(x, -30),
    "clipping (+20 dB)": lambda x, sr, rng, talkers, p, span: degradations.clipped(x, 20),
    "microphone tilt ±6 dB": lambda x, sr, rng, talkers, p, span: degradations.tilt(x, sr),
    "cut to the speech": lambda x, sr, rng, talkers, p, span: x[span[0]:span[1]],  # no pause before or after it
}


def condition_names(text: str) -> tuple[str, ...]:
    """The conditions named in a comma-separated list ("all": every one), checked against CONDITIONS."""
    names = tuple(CONDITIONS) if text.strip() == "all" else tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in CONDITIONS]
    if unknown or not names:
        raise UserError(f"condition(s) {unknown or [text]} unknown; choose from {', '.join(CONDITIONS)} or all")
    return names


def condition_views(path: str, talkers: list[str], config: features.FeatureConfig, tta, seed: int,
                    conditions: tuple[str, ...] = tuple(CONDITIONS)) -> dict:
    """condition -> (views, n_features) of the file under each of conditions, as predict.py computes them
    (inference.feature_views), or None where no speech was found in the degraded copy."""
    signal = audio.load_audio(path, config.sample_rate)
    start, end = features.speech_span(signal, config)
    speech_power = degradations.power(signal[start:end]) if end > start else None
    voices = [audio.load_audio(t, config.sample_rate) for t in talkers]
    views = {}
    for name in conditions:
        degrade = CONDITIONS[name]
        rng = np.random.default_rng(augment.file_seed(f"{Path(path).name}:{name}", seed))
        try:
            degraded = degrade(signal, config.sample_rate, rng, voices, speech_power, (start, end))
            views[name] = inference.feature_views(degraded, config, tta)
        except audio.AudioError:
            views[name] = None
    return views


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in y_true; a prediction of -1 (rejected file) is wrong."""
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def split_views(data, split, preprocessing_tta, config, seed: int, babble_talkers: int = BABBLE_TALKERS,
                jobs: int = JOBS, conditions: tuple[str, ...] = tuple(CONDITIONS)) -> list[dict]:
    """condition_views of each file of split.test, in its order; babble from babble_talkers files of
    split.train (never a scored speaker)."""
    rng = np.random.default_rng(seed)
    train_paths = [data.rows[i].path for i in split.train]
    tasks = [(data.rows[i].path, [train_paths[j] for j in rng.choice(len(train_paths), babble_talkers,
                                                                       replace=False)]) for i in split.test]
    return parallel.map_with_progress(_Task(config, preprocessing_tta, seed, conditions), tasks, jobs,
                                      desc="degrade")


def score_split(data, split, result: training.TrainResult, preprocessing_tta, config, seed: int,
                babble_talkers: int = BABBLE_TALKERS, jobs: int = JOBS,
                conditions: tuple[str, ...] = tuple(CONDITIONS), adapt_speakers: bool = False) -> dict:
    """condition -> (balanced accuracy, rejected files) on split.test for the trained result (split_views); with
    adapt_speakers, also "<condition>, speakers adapted" (each test speaker centred on their own mean, ser.adaptation)."""
    views = split_views(data, split, preprocessing_tta, config, seed, babble_talkers, jobs, conditions)
    y_true, speakers = data.y[split.test], data.speakers[split.test]
    scores = {}
    for name in conditions:
        degraded = [v[name] for v in views]
        scores[name] = score_views(degraded, y_true, result)
        if adapt_speakers:
            scores[f"{name}, speakers adapted"] = score_views(degraded, y_true, result, speakers)
    return scores


def score_views(views: list, y_true: np.ndarray, result: training.TrainResult, speakers: np.ndarray | None = None,
                standardise: bool = adaptation.STANDARDISE) -> tuple[float, int]:
    """(balanced accuracy, rejected files) of the files whose views (views, n_features) are given, None for a file
    without speech (counted as wrong), classified by result as predict.py classifies a file; given the files'
    speakers (n,), as predict.py --adapt-speakers does (ser.adaptation)."""
    ok = [i for i, v in enumerate(views) if v is not None]
    y_pred = np.full(len(y_true), -1)
    if ok:
        stacked = np.stack([views[i] for i in ok], axis=1)  # (views, files, n_features)
        mean, scale = result.mean, result.scale
        if speakers is not None:
            mean, scale, _ = adaptation.speaker_scaler(stacked[0], np.asarray(speakers)[ok], mean, scale,
                                                       standardise=standardise)
        scaled = network.apply_scaler(stacked, mean, scale)
        y_pred[ok] = network.predict_views(result.model, scaled, result.prior).argmax(axis=1)
    return balanced_accuracy(y_true, y_pred), len(y_true) - len(ok)


class OtherCorpus(NamedTuple):
    """A manifest's recordings as the benchmarks score them (other_corpus_views)."""

    name: str  # the manifest's file name without its suffix
    views: list  # per file: (views, n_features) as predict.py computes them, or None without speech
    y: np.ndarray  # (n,) index into the model's labels
    speakers: np.ndarray  # (n,) the speaker of each file, as predict.py --adapt-speakers finds it


def other_corpus_views(path: Path, labels: tuple[str, ...], config: features.FeatureConfig, tta,
                       jobs: int = JOBS) -> OtherCorpus:
    """The recordings of a manifest whose emotion is one of the model's labels; the others are left out, with a
    log line."""
    files = manifest.unique_files(manifest.read_manifest(path, required=("path", "emotion"))[0])
    known = [f for f in files if f.emotion in labels]
    if not known:
        raise UserError(f"none of the {len(files)} usable files of {path} has one of the labels the model knows "
                        f"({', '.join(labels)}); check the manifest's emotion column")
    left_out = sorted({f.emotion for f in files} - set(labels))
    cli.log.info("other corpus %s: %d files with the model's labels, %d left out (%s)", path, len(known),
                 len(files) - len(known), ", ".join(left_out) or "none")
    found = parallel.map_with_progress(inference.FeatureTask(config, tta), [f.path for f in known], jobs,
                                       desc="other corpus")
    return OtherCorpus(Path(path).stem, [None if item.rows is None else item.rows[0] for item in found],
                       np.array([labels.index(f.emotion) for f in known]),
                       adaptation.speakers_of([f.path for f in known], known))


class _Task:
    """condition_views of one (path, babble talkers) pair, the rest fixed."""

    def __init__(self, config, tta, seed, conditions):
        self.config, self.tta, self.seed, self.conditions = config, tta, seed, conditions

    def __call__(self, task):
        return condition_views(task[0], task[1], self.config, self.tta, self.seed, self.conditions)


def main(argv=None) -> int:
    parser = cli.settings_parser(sys.modules[__name__])
    parser.add_argument("--train-args", nargs=argparse.REMAINDER, default=[],
                        help="model_training.py flags of the pipeline measured (its defaults otherwise)")
    args = cli.parse(parser, argv)
    cli.setup_logging()
    cli.quiet_tensorflow()
    return cli.exit_code(lambda: run(args))


def run(args) -> None:
    conditions = ("clean", *(n for n in condition_names(args.only) if n != "clean")) if args.only else tuple(CONDITIONS)
    config = model_training.train_config(model_training.parse_args(["--seed", str(args.seed), *args.train_args]))
    prepared = prepared_data.load_prepared(args.data_dir)
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()  # same seed, same models as model_training.py
    data, start = prepared.dataset(), time.perf_counter()
    augmented = training.augment_dataset(data, prepared.feature_config, config, args.cache_dir, args.jobs)
    rng = np.random.default_rng(config.seed)
    splits = (corpus.speaker_folds(data.speakers, data.genders, args.folds, prepared.meta["split"]["val_fraction"], rng)
              if args.folds else [prepared.split()])
    tta = config.test_time_config
    other = (other_corpus_views(args.other_corpus, prepared.labels, prepared.feature_config, tta, args.jobs)
             if args.other_corpus else None)
    per_fold = []
    trained = training.train_splits(data, splits, augmented, config, rng, verbose=0, jobs=args.jobs)
    for number, (split, result) in enumerate(zip(splits, trained), 1):
        per_fold.append(score_split(data, split, result, tta, prepared.feature_config, args.seed,
                                    args.babble_talkers, args.jobs, conditions, args.adapt_speakers))
        scored = per_fold[-1]
        if other:
            row = f"other corpus: {other.name}"
            scored[row] = score_views(other.views, other.y, result)
            if args.adapt_speakers:
                scored[f"{row}, speakers adapted"] = score_views(other.views, other.y, result, other.speakers)
        print(f"fold {number}/{len(splits)}, test speakers {result.metrics['test_speakers']} (training's own clean "
              f"evaluation {100 * result.metrics['balanced_accuracy']:.1f}): "
              + ", ".join(f"{name} {100 * uar:.1f}" for name, (uar, _) in per_fold[-1].items()), flush=True)
    print(f"\nbalanced accuracy in %, mean over {len(splits)} split(s), seed {config.seed}, "
          f"model_training.py {' '.join(args.train_args) or '(defaults)'}")
    clean = np.mean([fold["clean"][0] for fold in per_fold])
    width = max(28, *map(len, per_fold[0]))
    print(f"{'condition':<{width}}{'UAR':>8}{'drop':>8}{'rejected files':>16}")
    for name in per_fold[0]:
        value = np.mean([fold[name][0] for fold in per_fold])
        print(f"{name:<{width}}{100 * value:>8.1f}{100 * (value - clean):>8.1f}"
              f"{sum(fold[name][1] for fold in per_fold):>16d}")
    print(f"wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
