"""Live and long audio: does `predict.py --stream -` keep up with live audio, and how long does an hour take?

Feeds a recording (several files joined, as 16 kHz raw 16-bit PCM) to `predict.py --stream -`:
  1. all at once: the real-time factor, seconds of audio classified per second once the first line is out
     (start-up, imports and model loading before it are reported apart);
  2. paced as a microphone would send it (CHUNK_SECONDS at a time, in real time): the delay from
     the moment a window's last sample was written to the moment its line arrived (median, max);
  3. a LONG_MINUTES recording (the files joined, written as a 16 kHz WAV) with `predict.py FILE --segment
     4`: the wall time and the peak memory of the process (with and without test-time augmentation).
Nothing here is a timed test; the figures go to the README.

    python bench/stream_speed.py --model-dir results --audio ../ravdess/Audio_Speech_Actors_01-24/Actor_01
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ser import audio, corpus  # noqa: E402

SECONDS = 60.0  # of audio fed, the files joined (and repeated if shorter)
CHUNK_SECONDS = 0.1  # paced feed: written this much at a time
RATE = 16000
LONG_MINUTES = 60.0  # length of the long recording of row 3; 0: skip it


def stream_command(model_dir: Path, extra: list[str]) -> list[str]:
    return [sys.executable, str(ROOT / "predict.py"), "--stream", "-", "--json", "--model-dir", str(model_dir), *extra]


def recording(folder: Path, seconds: float) -> bytes:
    """seconds of the audio files under folder, joined (repeated if needed), as raw 16-bit PCM at RATE."""
    files, _ = corpus.find_audio([folder])
    pieces, total = [], 0
    while total < seconds * RATE:
        for path in files:
            pieces.append(audio.load_audio(path, RATE))
            total += len(pieces[-1])
    samples = np.concatenate(pieces)[:int(seconds * RATE)]
    return (np.clip(samples, -1, 32767 / 32768) * 32768).astype("<i2").tobytes()


def feed(command: list[str], data: bytes, paced: bool) -> tuple[float, list[tuple[float, dict]]]:
    """(time 0 of the feed, [(arrival time, window result)]) of data fed all at once or, paced, CHUNK_SECONDS at a
    time in real time (sample s written at time 0 + the start of its chunk)."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               cwd=ROOT)
    arrivals = []
    reader = threading.Thread(target=lambda: arrivals.extend((time.perf_counter(), json.loads(line))
                                                             for line in process.stdout))
    reader.start()
    chunk = int(CHUNK_SECONDS * RATE) * 2 if paced else len(data)
    start = time.perf_counter()
    for offset in range(0, len(data), chunk):
        time.sleep(max(0.0, start + offset / 2 / RATE - time.perf_counter()))
        process.stdin.write(data[offset:offset + chunk])
        process.stdin.flush()
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    reader.join()
    return start, arrivals


def real_time_factor(arrivals: list[tuple[float, dict]]) -> float:
    """Seconds of audio classified per second of compute, from the first window's line to the last's (the
    process start-up, imports and model loading before the first line left out)."""
    (first_time, first), (last_time, last) = arrivals[0], arrivals[-1]
    return (last["end"] - first["end"]) / (last_time - first_time)


def delays(start: float, arrivals: list[tuple[float, dict]]) -> list[float]:
    """The delay (s) of each window's line after the chunk holding its last sample was written."""
    return [arrived - (start + (np.ceil(window["end"] / CHUNK_SECONDS - 1e-9) - 1) * CHUNK_SECONDS)
            for arrived, window in arrivals]


# Runs a command and prints the peak resident memory (KB) of the largest process it made. A fresh, small
# interpreter: a forked child's peak starts at its parent's memory at the fork (Linux), and this benchmark holds
# the long recording, so measured from here an hour's peak would be this process's, not predict.py's.
PEAK_MEMORY_RUNNER = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, "
                      "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
                      "sys.exit(code)")


def long_file(command: list[str], path: Path) -> tuple[float, float]:
    """(wall seconds, peak memory MB) of predict.py on path with the given flags: one fresh process, its peak
    resident memory or that of its largest worker (measured by PEAK_MEMORY_RUNNER)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK_MEMORY_RUNNER, *command, str(path)], capture_output=True,
                          text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} {path} failed")
    return time.perf_counter() - start, int(done.stdout) / 1024  # KB on Linux


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-dir", type=Path, default=ROOT / "results")
    p.add_argument("--audio", type=Path, required=True, help="a folder or file of speech to feed")
    p.add_argument("--seconds", type=float, default=SECONDS)
    p.add_argument("--long-minutes", type=float, default=LONG_MINUTES)
    p.add_argument("--predict-args", nargs=argparse.REMAINDER, default=[], help="further predict.py flags")
    args = p.parse_args(argv)
    command = stream_command(args.model_dir, args.predict_args)
    data = recording(args.audio, args.seconds)
    start, arrivals = feed(command, data, paced=False)
    print(f"{args.seconds:g} s of audio fed at once: {len(arrivals)} windows, the first line after "
          f"{arrivals[0][0] - start:.1f} s (start-up, imports, model), then a real-time factor of "
          f"{real_time_factor(arrivals):.1f} (seconds of audio classified per second)")
    late = delays(*feed(command, data, paced=True))
    print(f"fed in real time: delay from a window's last sample to its line: median {statistics.median(late):.2f} s, "
          f"max after the first {max(late[1:]):.2f} s, the first {late[0]:.2f} s (start-up within it)")
    if args.long_minutes > 0:
        import tempfile

        import soundfile as sf

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "long.wav"
            sf.write(path, np.frombuffer(recording(args.audio, 60 * args.long_minutes), "<i2"), RATE, subtype="PCM_16")
            base = [sys.executable, str(ROOT / "predict.py"), "--segment", "4", "--json", "--model-dir",
                    str(args.model_dir), *args.predict_args]
            for label, extra in (("", []), (" without test-time augmentation", ["--no-test-time-augment"])):
                wall, memory = long_file(base + extra, path)
                print(f"a {args.long_minutes:g}-minute recording, --segment 4{label}: {wall / 60:.1f} min, "
                      f"peak memory {memory:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
