"""Benchmark feature extraction speed on a RAVDESS folder (not a test: prints figures).

Measures, in one run on the same files:
  1. the whole `data_preparation.py` command (fresh process, all cores, output not reused);
  2. the same command with --jobs 1: the same features in a plain sequential loop, start-up included;
  3. the floor: librosa.load + one librosa.feature.mfcc per file, mean over time, spread over
     the cores the same way as the command;
  4. for reference, the features alone in a warm in-process loop (no start-up, no writing).

    python bench/prepare_speed.py --data-dir ../ravdess/Audio_Speech_Actors_01-24
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import data_preparation  # noqa: E402  (its constants are the feature settings measured)
from ser import cli, corpus, features, parallel  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Settings: each constant is the flag of the same name; its comment is the help.
DATA_DIR = "../ravdess/Audio_Speech_Actors_01-24"  # a RAVDESS folder
FEATURES = data_preparation.FEATURES  # feature set measured
JOBS = data_preparation.JOBS  # worker processes; -1 = all cores
# ----------------------------------------------------------------------------------------------


def floor_features(path: Path, sample_rate: int = data_preparation.SAMPLE_RATE,
                   n_mfcc: int = data_preparation.N_MFCC):
    """The least any MFCC pipeline does: load, one MFCC pass, mean over time."""
    import librosa

    signal, sr = librosa.load(path, sr=sample_rate)
    return librosa.feature.mfcc(y=signal, sr=sr, n_mfcc=n_mfcc).mean(axis=1)


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main(argv=None) -> int:
    args = cli.parse(cli.settings_parser(sys.modules[__name__], choices={"FEATURES": features.FEATURE_SETS}), argv)
    cli.setup_logging()
    recordings, _ = corpus.find_recordings(args.data_dir, data_preparation.CHANNEL)
    paths = [r.path for r in recordings]
    config = data_preparation.feature_config(data_preparation.parse_args(["--features", args.features]))
    print(f"{len(paths)} files under {args.data_dir}, features={args.features}, jobs={args.jobs}")

    def prepare_command(jobs: int) -> float:
        with tempfile.TemporaryDirectory() as out_dir:
            command = [sys.executable, str(ROOT / "data_preparation.py"), "--data-dir", str(args.data_dir),
                       "--out-dir", out_dir, "--features", args.features, "--jobs", str(jobs), "--force"]
            return timed(lambda: subprocess.run(command, check=True, stderr=subprocess.DEVNULL))

    sequential = prepare_command(1)  # joblib with one job is a plain loop in the same process
    whole = prepare_command(args.jobs)
    floor = timed(lambda: parallel.map_with_progress(floor_features, paths, args.jobs, desc="floor"))
    features.file_features(paths[0], config)  # imports and JIT warm-up, as a long-running process has them
    warm_loop = timed(lambda: [features.try_file_features(path, config) for path in paths])

    print(f"{'step':<48}{'seconds':>9}{'files/s':>9}")
    for name, seconds in ((f"data_preparation.py --jobs {args.jobs}", whole),
                          ("data_preparation.py --jobs 1 (sequential loop)", sequential),
                          (f"floor: load + one MFCC, mean (jobs={args.jobs})", floor),
                          ("features only, in-process loop, warm", warm_loop)):
        print(f"{name:<48}{seconds:>9.1f}{len(paths) / seconds:>9.1f}")
    print(f"command is {sequential / whole:.2f}x faster than the sequential loop (target >= 1.6x)")
    print(f"command takes {whole / floor:.2f}x the floor's time (target <= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
