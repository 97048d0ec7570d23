"""Speed benchmark: every row of the README's speed table in one run, each a whole process as a user runs it.

  1. `make run` after the install: data_preparation.py + model_training.py on the corpus, empty caches;
  2. one seed of the 6-fold protocol (model_training.py --folds 6), empty augmentation cache;
  3. predict.py on one file from a cold start (process start to exit), median of REPEATS; also without
     test-time augmentation and with --runtime keras, which show what those cost;
  4. predict.py on a folder of FOLDER_FILES files, files per second (with and without test-time augmentation);
  5. the preparation against its floor: load + one MFCC pass per file over the same cores (bench/prepare_speed.py).

Beside each figure its floor: what the step cannot go below with this corpus on this machine (the
interpreter with numpy and soundfile reading the file; load + one MFCC per file), or "-" where none is
meaningful. The load average at the start is printed: the targets are for an idle machine.

    python bench/speed.py --data-dir ../ravdess/Audio_Speech_Actors_01-24     # every row (~35 min here)
    python bench/speed.py --skip folds                                        # without the 6-fold run
    python bench/speed.py --skip make_run,folds                               # predict rows only (model kept)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import data_preparation  # noqa: E402
from prepare_speed import floor_features, timed  # noqa: E402
from ser import atomic, cli, corpus, parallel  # noqa: E402
from ser.errors import UserError  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Settings: each constant is the flag of the same name; its comment is the help.
DATA_DIR = "../ravdess/Audio_Speech_Actors_01-24"  # a RAVDESS folder (the full corpus for the README's table)
WORK_DIR = "bench/work/speed"  # arrays, caches and the model made here (git-ignored); its caches emptied first
REPEATS = 3  # runs of each short measurement; the median is reported
FOLDER_FILES = 240  # files of the folder row (the first ones by name)
JOBS = -1  # worker processes of the floor; -1 = all cores (the scripts use their defaults)
SKIP = ""  # rows not measured, comma-separated: make_run, folds, predict
MODEL_DIR = ""  # the model of the predict rows; default: the one the make_run row trained (WORK_DIR/results)
# ----------------------------------------------------------------------------------------------
ROWS = ("make_run", "folds", "predict")


def run_process(command: list, stdout=subprocess.DEVNULL) -> float:
    """Wall seconds of one process of the project (stderr shown only if it fails)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *map(str, command)], cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE,
                          text=True)
    if done.returncode not in (0, 1):
        raise UserError(f"{' '.join(map(str, command[:1]))} failed ({done.returncode}): "
                        f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}")
    return time.perf_counter() - start


def median_of(repeats: int, command: list) -> float:
    return statistics.median(run_process(command) for _ in range(repeats))


def empty(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def measure_make_run(data_dir: Path, work: Path) -> dict:
    """data_preparation.py then model_training.py, fresh outputs and caches: `make run` after the install."""
    processed, results, cache = work / "processed", work / "results", empty(work / "cache")
    prepare = run_process(["data_preparation.py", "--data-dir", data_dir, "--out-dir", processed, "--force"])
    train = run_process(["model_training.py", "--data-dir", processed, "--out-dir", results, "--cache-dir", cache])
    summary = json.loads((results / "metrics.json").read_text())
    return {"prepare": prepare, "train": train, "augment": summary["augment_seconds"],
            "networks": summary["training_seconds"], "epochs": summary["member_epochs"],
            "balanced_accuracy": summary["balanced_accuracy"]}


def measure_folds(work: Path) -> dict:
    out = work / "cv"
    seconds = run_process(["model_training.py", "--data-dir", work / "processed", "--out-dir", out, "--cache-dir",
                           empty(work / "cache_folds"), "--folds", 6, "--force"])
    return {"seconds": seconds, "balanced_accuracy": json.loads((out / "cv_metrics.json").read_text())["mean"][
        "balanced_accuracy"]}


def model_of_predict_rows(model_dir: Path, work: Path, trained_here: bool) -> Path:
    """--model-dir, or the model the make_run row trains (WORK_DIR/results); checked before any row runs."""
    model = work / "results" if model_dir == Path("") else model_dir.resolve()
    if not trained_here and not (model / "model.keras").is_file():
        raise UserError(f"{model} holds no model: run this benchmark without --skip make_run first, or give "
                        f"--model-dir")
    return model


def measure_predict(paths: list[Path], work: Path, model: Path, repeats: int, folder_files: int) -> dict:
    one = ["predict.py", paths[0], "--model-dir", model]
    folder = empty(work / "folder")
    for path in paths[:folder_files]:
        (folder / path.name).symlink_to(path.resolve())
    many = ["predict.py", folder, "--model-dir", model]
    return {"one": median_of(repeats, one), "one_no_tta": median_of(repeats, one + ["--no-test-time-augment"]),
            "one_keras": median_of(repeats, one + ["--runtime", "keras"]),
            "one_floor": median_of(repeats, ["-c", f"import numpy, soundfile; soundfile.read({str(paths[0])!r})"]),
            "folder": min(folder_files, len(paths)) / run_process(many),
            "folder_no_tta": min(folder_files, len(paths)) / run_process(many + ["--no-test-time-augment"])}


def table(figures: dict, n_files: int, folder_files: int) -> str:
    """The README's speed table: what, measured, floor, target."""
    rows = []
    if "make_run" in figures:
        m = figures["make_run"]
        total = (m["prepare"] + m["train"]) / 60
        rows += [("make run after the install: prepare + train, empty caches", f"{total:.1f} min", "-", "<= 3 min"),
                 ("  preparation (data_preparation.py)", f"{m['prepare']:.0f} s", f"{figures['floor']:.0f} s", ""),
                 ("  augmented copies (model_training.py)", f"{m['augment']:.0f} s", "-", ""),
                 (f"  networks + evaluation (epochs {m['epochs']})", f"{m['networks']:.0f} s", "-", ""),
                 ("  start-up, loading, saving", f"{m['train'] - m['augment'] - m['networks']:.0f} s", "-", ""),
                 ("preparation vs the load + one-MFCC floor", f"{m['prepare'] / figures['floor']:.1f}x", "1x", "<= 2x")]
    if "folds" in figures:
        rows.append(("one seed of --folds 6, empty augmentation cache", f"{figures['folds']['seconds'] / 60:.1f} min",
                     "-", "<= 6 min"))
    if "predict" in figures:
        p = figures["predict"]
        floor_rate = n_files / figures["floor"] if "floor" in figures else None
        rows += [("predict.py, one file, cold start", f"{p['one']:.1f} s", f"{p['one_floor']:.1f} s", "<= 2 s"),
                 ("  without test-time augmentation", f"{p['one_no_tta']:.1f} s", "", ""),
                 ("  with --runtime keras (TensorFlow imported)", f"{p['one_keras']:.1f} s", "", ""),
                 (f"predict.py, folder of {folder_files} files", f"{p['folder']:.1f} files/s",
                  f"{floor_rate:.0f} files/s" if floor_rate else "-", ">= 25 files/s"),
                 ("  without test-time augmentation", f"{p['folder_no_tta']:.1f} files/s", "", "")]
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'what':<{width}}{'measured':>14}{'floor':>14}{'target':>16}"]
    lines += [f"{what:<{width}}{measured:>14}{floor:>14}{target:>16}" for what, measured, floor, target in rows]
    for name, key in (("make run", "make_run"), ("--folds 6", "folds")):
        if key in figures:
            lines.append(f"balanced accuracy of the {name} run: {100 * figures[key]['balanced_accuracy']:.1f}% "
                         f"(one seed; the README's figure is bench/accuracy.py's 3 seeds)")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = cli.parse(cli.settings_parser(sys.modules[__name__]), argv)
    cli.setup_logging()
    return cli.exit_code(lambda: measure(args))


def measure(args) -> None:
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    if unknown := skip - set(ROWS):
        raise UserError(f"--skip {','.join(sorted(unknown))}: not a row; the rows are {', '.join(ROWS)}")
    recordings, _ = corpus.find_recordings(args.data_dir, data_preparation.CHANNEL)
    paths = sorted((r.path for r in recordings), key=lambda p: p.name)
    work = (ROOT / args.work_dir).resolve()
    print(f"{len(paths)} files under {args.data_dir}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          f"cores at the start (the targets are for an idle machine)", flush=True)
    model = model_of_predict_rows(args.model_dir, work, "make_run" not in skip) if "predict" not in skip else None
    figures = {}

    def keep(name: str, value) -> None:  # each row saved as soon as it is measured: a later failure loses none
        figures[name] = value
        atomic.write_json(work / "speed.json", figures)

    if "make_run" not in skip:
        keep("make_run", measure_make_run(args.data_dir, work))
        keep("floor", timed(lambda: parallel.map_with_progress(floor_features, paths, parallel.worker_count(
            args.jobs), desc="floor")))
    if "folds" not in skip:
        keep("folds", measure_folds(work))
    if "predict" not in skip:
        keep("predict", measure_predict(paths, work, model, args.repeats, args.folder_files))
    print(table(figures, len(paths), args.folder_files))


if __name__ == "__main__":
    sys.exit(main())
