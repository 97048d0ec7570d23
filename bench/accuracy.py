"""Speaker-independent accuracy benchmark: 6-fold cross-validation by actor on the full corpus.

Runs, from the WAV folder, in one command: data_preparation.py (default features, and the plain
MFCC-40-mean baseline), then model_training.py --folds 6 for each pipeline (test actors 1-4, 5-8,
..., 21-24) over the given seeds, and prints per fold and mean ± std of balanced accuracy (UAR),
accuracy and macro F1 with the wall time of each step. Nothing here is a timed test. Both scripts
reuse what they already made for the same inputs and settings, so adding a seed to an earlier run
trains only that seed (the wall times then count only what was redone).

    python bench/accuracy.py --data-dir ../ravdess/Audio_Speech_Actors_01-24   # the README's table (~90 min)
    python bench/accuracy.py --seeds 42 --pipelines default            # one seed, default pipeline only
    python bench/accuracy.py --train-args --no-augment                # extra model_training.py flags
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = "../ravdess/Audio_Speech_Actors_01-24"
WORK_DIR = "bench/work"  # prepared arrays, caches and results of each pipeline (git-ignored)
SEEDS = (1, 2, 3)  # the README's table; each seed is a full 6-fold run (~17 min here)
FOLDS = 6
PIPELINES = {  # name -> data_preparation.py flags
    "default": [],
    "baseline MFCC-40 mean": ["--features", "mfcc_mean"],
}
KEYS = ("balanced_accuracy", "accuracy", "macro_f1")


def run_step(command: list[str]) -> float:
    """Run a script of the project, streaming its log; return its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *command], check=True, cwd=ROOT)
    return time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path(DATA_DIR))
    p.add_argument("--work-dir", type=Path, default=ROOT / WORK_DIR)
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    p.add_argument("--folds", type=int, default=FOLDS)
    p.add_argument("--pipelines", nargs="+", choices=list(PIPELINES), default=list(PIPELINES))
    p.add_argument("--train-args", nargs=argparse.REMAINDER, default=[],
                   help="further model_training.py flags, for every pipeline")
    args = p.parse_args(argv)
    data_dir = args.data_dir.resolve()
    rows = []
    for name in args.pipelines:
        slug = name.split()[0]
        prepared = args.work_dir / slug / "processed"
        prepare_seconds = run_step(["data_preparation.py", "--data-dir", str(data_dir), "--out-dir", str(prepared),
                                    *PIPELINES[name]])
        for seed in args.seeds:
            results = args.work_dir / slug / f"cv-seed{seed}"
            train_seconds = run_step(["model_training.py", "--data-dir", str(prepared), "--out-dir", str(results),
                                      "--cache-dir", str(args.work_dir / "cache"), "--folds", str(args.folds),
                                      "--seed", str(seed), *args.train_args])
            summary = json.loads((results / "cv_metrics.json").read_text())
            rows.append({"pipeline": name, "seed": seed, "folds": summary["folds"],
                         "prepare_seconds": prepare_seconds, "train_seconds": train_seconds})

    print(f"\n{args.folds}-fold cross-validation by actor, {len(args.seeds)} seed(s); figures in %")
    header = f"{'pipeline':<24}{'fold':<6}{'test actors':<18}" + "".join(f"{k:>19}" for k in KEYS)
    print(header)
    for name in args.pipelines:
        runs = [r for r in rows if r["pipeline"] == name]
        per_fold = np.array([[[fold[k] for k in KEYS] for fold in r["folds"]] for r in runs])  # seed, fold, key
        for i, fold in enumerate(runs[0]["folds"]):
            print(f"{name:<24}{i + 1:<6}{fold['test']:<18}"
                  + "".join(f"{100 * per_fold[:, i, k].mean():>19.1f}" for k in range(len(KEYS))))
        fold_means = per_fold.mean(axis=0)  # mean over seeds, per fold
        seed_means = per_fold.mean(axis=1)  # mean over folds, per seed
        print(f"{name:<24}{'mean ± std over folds':<24}"
              + "".join(f"{100 * fold_means[:, k].mean():>13.1f} ± {100 * fold_means[:, k].std():4.1f}"
                        for k in range(len(KEYS))))
        if len(runs) > 1:
            print(f"{name:<24}{'mean ± std over seeds':<24}"
                  + "".join(f"{100 * seed_means[:, k].mean():>13.1f} ± {100 * seed_means[:, k].std():4.1f}"
                            for k in range(len(KEYS))))
        recall = np.mean([[fold["per_class_recall"][label] for label in runs[0]["folds"][0]["per_class_recall"]]
                          for r in runs for fold in r["folds"]], axis=0)
        print(f"{name:<24}recall per emotion: " + ", ".join(
            f"{label} {100 * value:.0f}" for label, value in zip(runs[0]["folds"][0]["per_class_recall"], recall)))
        print(f"{name:<24}wall time: prepare {runs[0]['prepare_seconds']:.0f} s, "
              f"{args.folds}-fold training {np.mean([r['train_seconds'] for r in runs]):.0f} s per seed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
