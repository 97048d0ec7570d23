"""Score a training change without looking at the test actors (the selection protocol of the README).

In each of the 6 actor folds of bench/accuracy.py (test actors 1-4, 5-8, ..., 21-24) the fold's test
actors are left out entirely. Of the 20 others, HELD_OUT_PER_SEX male and as many female actors are
held out and scored; VAL_PER_SEX of each sex validate the first network, and model_training.py's
recipe (ser.training.train_splits, every fold's networks in one queue over --train-args --jobs: scaler,
ensemble on rotating validation actors, augmentation, test-time augmentation, class prior) trains on
the rest, with model_training.py's settings and any of its flags given after --train-args. Compare the
mean held-out balanced accuracy of two settings, then measure the chosen one with bench/accuracy.py. With --conditions,
the held-out actors' files are also degraded as bench/robustness.py degrades the test actors'
(babble from the fold's training actors), so that a robustness setting is chosen on held-out
actors too, never on the test actors. With --other-corpus, every fold's model also classifies the
labelled recordings of a manifest made elsewhere (bench/robustness.py's other corpus): give it the
speakers set aside for selection, and keep the others for the figure measured once after the choice.
With --adapt-speakers, the held-out actors (and the other corpus) are also scored as predict.py
--adapt-speakers classifies them, each speaker's features centred on their own mean ("centred") or
also scaled by their own spread ("standardised"): ser.adaptation's choice is made on these columns.

    python bench/nested_check.py --data-dir bench/work/default/processed            # the reference
    python bench/nested_check.py --data-dir bench/work/default/processed --train-args --dropout 0.6
    python bench/nested_check.py --conditions "telephone,babble 10 dB"             # also held out, degraded
    python bench/nested_check.py --other-corpus emodb_selection.csv                # and another studio's speakers
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import model_training  # noqa: E402  (its flags are the settings scored)
import robustness  # noqa: E402  (bench/robustness.py: the conditions of --conditions)
from ser import cli, corpus, prepared_data, training  # noqa: E402
from ser.errors import UserError  # noqa: E402
from ser.metrics import compact  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Settings: each constant is the flag of the same name; its comment is the help.
DATA_DIR = "bench/work/default/processed"  # what bench/accuracy.py (or data_preparation.py) wrote
CACHE_DIR = "bench/work/cache"  # augmented copies, shared with bench/accuracy.py
SEED = 42  # seed of the held-out draw and of model_training.py
FOLDS = 6  # actor folds whose test actors are left out
HELD_OUT_PER_SEX = 2  # actors of each sex scored in each fold
VAL_PER_SEX = 2  # validation actors of each sex for the first network (model_training.py rotates them)
CONDITIONS = ""  # bench/robustness.py conditions to score the held-out actors under too, comma-separated, or all
OTHER_CORPUS = ""  # a manifest CSV of labelled recordings made elsewhere, also classified by every model (empty: none)
ADAPT_SPEAKERS = False  # also score the held-out actors (and the other corpus) with their features adapted to them
JOBS = -1  # worker processes for the degraded copies' features; -1 = all cores
# ----------------------------------------------------------------------------------------------
KEYS = ("balanced_accuracy", "accuracy", "macro_f1")
ADAPTATIONS = {"centred": False, "standardised": True}  # column name -> ser.adaptation's standardise


def selection_splits(speakers: np.ndarray, genders: np.ndarray, folds: int = FOLDS,
                     held_out_per_sex: int = HELD_OUT_PER_SEX, val_per_sex: int = VAL_PER_SEX,
                     rng: np.random.Generator | None = None):
    """[(fold's test speakers, Split)] per fold of model_training.py --folds (ser.corpus.speaker_folds' test
    groups), for files spoken by speakers of genders (n_files,): Split.test holds the held-out non-test
    speakers' files, Split.train and Split.val other non-test speakers'; the fold's test speakers are in no part."""
    rng = rng if rng is not None else np.random.default_rng(SEED)
    speakers, genders = np.asarray(speakers, dtype=object), np.asarray(genders, dtype=object)
    groups = corpus.sex_groups(speakers, genders)
    result = []
    for fold in range(folds):
        tested = [s for _, group in groups for s in np.array_split(np.array(group, dtype=object), folds)[fold]]
        pools = [[s for s in group if s not in tested] for _, group in groups]
        held = [s for pool in pools for s in rng.permutation(pool)[:held_out_per_sex]]
        rests = [[s for s in pool if s not in held] for pool in pools]
        val = [s for rest in rests for s in rng.permutation(rest)[:val_per_sex]]
        if (len(held) < len(groups) * held_out_per_sex or len(val) < len(groups) * val_per_sex
                or sum(map(len, rests)) == len(val)):
            raise UserError(f"{sum(map(len, pools))} non-test speakers per fold are too few to hold out "
                            f"{held_out_per_sex} and validate on {val_per_sex} of each sex; lower --held-out-per-sex")
        train = np.isin(speakers, [s for rest in rests for s in rest if s not in val])
        split = corpus.Split(np.flatnonzero(train), np.flatnonzero(np.isin(speakers, val)),
                             np.flatnonzero(np.isin(speakers, held)))
        result.append((sorted(tested, key=corpus.natural_key), split))
    return result


def main(argv=None) -> int:
    p = cli.settings_parser(sys.modules[__name__])
    p.add_argument("--train-args", nargs=argparse.REMAINDER, default=[],
                   help="model_training.py flags of the setting to score (its defaults otherwise)")
    args = cli.parse(p, argv)
    train_args = model_training.parse_args(["--seed", str(args.seed), "--cache-dir", str(args.cache_dir),
                                            *args.train_args])
    cli.setup_logging(False)
    cli.quiet_tensorflow()
    return cli.exit_code(lambda: score(args, train_args))


def score(args: argparse.Namespace, train_args: argparse.Namespace) -> None:
    """Train and score the setting in every fold; print the table."""
    config = model_training.train_config(train_args)
    conditions = robustness.condition_names(args.conditions) if args.conditions else ()
    prepared = prepared_data.load_prepared(args.data_dir)
    data = prepared.dataset()
    augmented = training.augment_dataset(data, prepared.feature_config, config, train_args.cache_dir, train_args.jobs)
    tta = config.test_time_config
    other = (robustness.other_corpus_views(args.other_corpus, prepared.labels, prepared.feature_config, tta, args.jobs)
             if args.other_corpus else None)
    rng = np.random.default_rng(args.seed)
    print(f"held-out non-test actors, model_training.py {' '.join(args.train_args) or '(defaults)'}, "
          f"seed {args.seed}; figures in %")
    scored_sets = ["held-out", *([other.name] if other else [])]
    columns = (*KEYS, *(f"UAR {name}" for name in conditions), *([f"UAR {other.name}"] if other else []),
               *(f"{which} {how}" for which in scored_sets for how in ADAPTATIONS if args.adapt_speakers))
    widths = [max(19, len(k) + 2) for k in columns]
    print(f"{'fold':<6}{'test actors (unused)':<22}{'held-out actors':<20}"
          + "".join(f"{k:>{w}}" for k, w in zip(columns, widths)))
    results, start = [], time.perf_counter()
    folds = selection_splits(data.speakers, data.genders, args.folds, args.held_out_per_sex, args.val_per_sex, rng)
    trained = training.train_splits(data, [split for _, split in folds], augmented, config, rng, verbose=0,
                                    jobs=train_args.jobs)
    for number, ((test_actors, split), result) in enumerate(zip(folds, trained), 1):
        degraded = robustness.score_split(data, split, result, tta, prepared.feature_config, args.seed,
                                          jobs=args.jobs, conditions=conditions) if conditions else {}
        results.append([result.metrics[k] for k in KEYS] + [degraded[name][0] for name in conditions]
                       + ([robustness.score_views(other.views, other.y, result)[0]] if other else [])
                       + (adapted_scores(data, split, augmented, config, result, other) if args.adapt_speakers else []))
        print(f"{number:<6}{compact(test_actors, 20):<22}{compact(result.metrics['test_speakers'], 18):<20}"
              + "".join(f"{100 * v:>{w}.1f}" for v, w in zip(results[-1], widths)), flush=True)
    table = 100 * np.array(results)
    print(f"{'mean ± std over folds':<48}" + "".join(f"{m:>{w - 6}.1f} ± {s:4.1f}" for m, s, w in
                                                    zip(table.mean(axis=0), table.std(axis=0), widths)))
    print(f"wall time {time.perf_counter() - start:.0f} s")


def adapted_scores(data, split, augmented, config, result, other) -> list[float]:
    """Balanced accuracy of the held-out actors' files (then of the other corpus, if any) classified with each
    speaker's features adapted to them, in each of the ADAPTATIONS."""
    views = training.evaluation_views(data.X, split.test, augmented if config.test_time_augment else None)
    sets = [(list(views.transpose(1, 0, 2)), data.y[split.test], data.speakers[split.test])]  # per file (views, n_features)
    sets += [(other.views, other.y, other.speakers)] if other else []
    return [robustness.score_views(files, y, result, speakers, standardise)[0]
            for files, y, speakers in sets for standardise in ADAPTATIONS.values()]


if __name__ == "__main__":
    sys.exit(main())
