"""Which feature groups carry a condition's accuracy drop (a diagnosis, not a test, not a selection).

Classifies the prepared test files with a trained model folder as predict.py does (its features, its
test-time copies, the class prior), clean and under each condition of bench/robustness.py (made
from the file's name and the seed as there; babble from the prepared training actors). Then it puts
back one feature group's clean values at a time, in every view, and reports the balanced accuracy
this recovers and how far the group moved (root-mean-square shift in units of the model's scaler,
i.e. training standard deviations, and the group's share of all features' squared shift). A group
is a feature name without its trailing index (mfcc_mean0..mfcc_mean39: mfcc_mean). A change it
points at is still chosen with bench/nested_check.py on held-out actors, never on these test files.

    python bench/attribution.py --model-dir bench/work/speed/results --data-dir bench/work/speed/processed
    python bench/attribution.py --conditions "telephone,babble 10 dB" --top 5 --no-test-time-augment
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import robustness  # noqa: E402  (bench/robustness.py: the conditions and the degraded views)
from ser import cli, model_folder, network, prepared_data  # noqa: E402
from ser.errors import UserError  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Settings: each constant is the flag of the same name; its comment is the help.
MODEL_DIR = "results"  # what model_training.py wrote
DATA_DIR = "data/processed"  # the prepared data that model was trained on (its test split is scored)
CONDITIONS = "microphone tilt ±6 dB,telephone"  # bench/robustness.py conditions, comma-separated, or all
TOP = 10  # groups listed per condition, most recovered first
TEST_TIME_AUGMENT = True  # classify with the model's test-time copies too (as predict.py does)
SEED = 42  # seed of the degraded copies (bench/robustness.py's)
BABBLE_TALKERS = 4  # training actors' files summed into the babble
JOBS = -1  # worker processes for the degraded copies' features; -1 = all cores
# ----------------------------------------------------------------------------------------------


def feature_groups(names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """group -> column indices, in order of first appearance; a group is a name without its trailing digits."""
    groups: dict[str, list[int]] = {}
    for column, name in enumerate(names):
        groups.setdefault(re.sub(r"\d+$", "", name), []).append(column)
    return {group: np.array(columns) for group, columns in groups.items()}


def recovered(clean: np.ndarray, degraded: np.ndarray, groups: dict[str, np.ndarray], score) -> dict[str, float]:
    """group -> score(degraded views with that group's columns put back to their clean values); views
    (views, files, n_features), the same copies in the same order in both."""
    scores = {}
    for group, columns in groups.items():
        restored = degraded.copy()
        restored[..., columns] = clean[..., columns]
        scores[group] = score(restored)
    return scores


def shifts(clean: np.ndarray, degraded: np.ndarray, groups: dict[str, np.ndarray], scale: np.ndarray) -> dict:
    """group -> (root-mean-square of (degraded - clean) / scale over its columns, files and views; its share of
    the whole squared shift)."""
    squared = ((degraded - clean) / scale) ** 2
    total = squared.sum()
    return {group: (float(np.sqrt(squared[..., columns].mean())), float(squared[..., columns].sum() / total))
            for group, columns in groups.items()}


def main(argv=None) -> int:
    args = cli.parse(cli.settings_parser(sys.modules[__name__]), argv)
    cli.setup_logging()
    return cli.exit_code(lambda: run(args))


def run(args) -> None:
    conditions = tuple(c for c in robustness.condition_names(args.conditions) if c != "clean")
    preprocessing = model_folder.load_preprocessing(args.model_dir)
    model = model_folder.load_network(args.model_dir, len(preprocessing.mean), len(preprocessing.labels), "numpy")
    prepared = prepared_data.load_prepared(args.data_dir)
    if prepared.feature_config != preprocessing.feature_config or prepared.labels != preprocessing.labels:
        raise UserError(f"{args.model_dir} was not trained on {args.data_dir} (its feature config or labels differ); "
                        f"give the --data-dir it was trained on")
    if not preprocessing.feature_names:
        raise UserError(f"{args.model_dir} predates saved feature names; train it again with model_training.py")
    data, split, start = prepared.dataset(), prepared.split(), time.perf_counter()
    tta = preprocessing.test_time_augment if args.test_time_augment else None
    views = robustness.split_views(data, split, tta, preprocessing.feature_config, args.seed, args.babble_talkers,
                                   args.jobs, ("clean", *conditions))
    groups = feature_groups(preprocessing.feature_names)
    print(f"{len(split.test)} test files of {args.data_dir}, model {args.model_dir}, "
          f"{'with' if tta else 'without'} test-time copies; UAR in %")
    for name in conditions:
        kept = [i for i, v in enumerate(views) if v["clean"] is not None and v[name] is not None]
        y_true = data.y[split.test][kept]
        clean, degraded = (np.stack([views[i][key] for i in kept], axis=1) for key in ("clean", name))

        def score(stacked, y_true=y_true):
            scaled = network.apply_scaler(stacked, preprocessing.mean, preprocessing.scale)
            y_pred = network.predict_views(model, scaled, preprocessing.class_prior).argmax(axis=1)
            return 100 * robustness.balanced_accuracy(y_true, y_pred)

        base, gains, moved = score(degraded), recovered(clean, degraded, groups, score), shifts(
            clean, degraded, groups, preprocessing.scale)
        print(f"\n{name}: clean {score(clean):.1f}, degraded {base:.1f} ({len(kept)} files with speech found in both)")
        print(f"  {'group put back':<32}{'features':>9}{'rms shift':>11}{'share':>7}{'UAR':>7}{'gain':>7}")
        for group in sorted(gains, key=lambda g: -gains[g])[:args.top]:
            rms, share = moved[group]
            print(f"  {group:<32}{len(groups[group]):>9d}{rms:>11.2f}{100 * share:>6.0f}%{gains[group]:>7.1f}"
                  f"{gains[group] - base:>+7.1f}")
    print(f"wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
