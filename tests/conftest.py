"""Shared fixtures: the real mini corpus, synthetic speech-like WAVs written by the tests, a corpus
server on 127.0.0.1, and the scripts' default configs."""

import http.server
import io
import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import data_preparation
import model_training
from ser import atomic

ROOT = Path(__file__).resolve().parents[1]
MINI_DIR = ROOT.parent / "shared" / "data" / "ravdess-mini"
FEATURE_CONFIG = data_preparation.feature_config(data_preparation.parse_args([]))  # the scripts' defaults
TRAIN_CONFIG = model_training.train_config(model_training.parse_args([]))
AUGMENT_CONFIG = TRAIN_CONFIG.augment_config


@pytest.fixture(scope="session")
def mini_dir() -> Path:
    """The real RAVDESS subset (122 files, actors 01-08) that CI lays beside the checkout."""
    if not MINI_DIR.is_dir():
        pytest.fail(f"the RAVDESS mini subset is missing: expected it at {MINI_DIR} "
                    f"(../shared/data/ravdess-mini from the repository root)")
    return MINI_DIR


def speech_like(seconds: float = 1.5, sr: int = 48000, f0: float = 140.0, pad: float = 0.5,
                seed: int = 0) -> np.ndarray:
    """A voiced 'utterance' (harmonics under a syllable-like envelope) between quiet noisy pads."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 1.5 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 2.0 * t), 0.15, 1) * np.hanning(t.size) ** 0.3
    voice = 0.3 * voice * envelope / np.abs(voice).max()
    silence = np.zeros(int(pad * sr))
    signal = np.concatenate([silence, voice, silence])
    return (signal + 1e-4 * rng.standard_normal(signal.size)).astype(np.float32)


def coloured_noise(exponent: float, seconds: float = 3.0, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """Steady noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown), above 20 Hz as a microphone
    records it, peak 0.1 (n_samples,) float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    spectrum, freqs = np.fft.rfft(rng.standard_normal(n)), np.fft.rfftfreq(n, 1 / sr)
    spectrum[freqs < 20] = 0
    spectrum[freqs >= 20] /= freqs[freqs >= 20] ** (exponent / 2)
    noise = np.fft.irfft(spectrum, n)
    return (0.1 * noise / np.abs(noise).max()).astype(np.float32)


def write_wav(path: Path, signal: np.ndarray, sr: int = 48000, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, signal, sr, subtype=subtype)
    return path


def ravdess_name(emotion: int, actor: int, intensity: int = 1, statement: int = 1, repetition: int = 1,
                 channel: int = 1) -> str:
    return f"03-{channel:02d}-{emotion:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-{actor:02d}.wav"


@pytest.fixture
def synthetic_corpus(tmp_path) -> Path:
    """6 actors (3 male, 3 female) x 8 emotions, 1.5 s speech-like WAVs in the Zenodo layout."""
    root = tmp_path / "raw"
    for actor in range(1, 7):
        for emotion in range(1, 9):
            signal = speech_like(f0=100 + 15 * emotion + 5 * actor, seed=actor * 10 + emotion)
            write_wav(root / f"Actor_{actor:02d}" / ravdess_name(emotion, actor), signal)
    return root


@pytest.fixture(scope="session")
def prepared_mini(mini_dir, tmp_path_factory) -> Path:
    """data_preparation.py run once on the mini subset (actor split: 4 train, 2 val, 2 test actors)."""
    out = tmp_path_factory.mktemp("processed")
    assert data_preparation.main(["--data-dir", str(mini_dir), "--out-dir", str(out), "--jobs", "2"]) == 0
    return out


@pytest.fixture(scope="session")
def trained_mini(prepared_mini, tmp_path_factory) -> Path:
    """model_training.py run once on the prepared mini subset, few epochs, augmentation on."""
    out = tmp_path_factory.mktemp("results")
    cache = tmp_path_factory.mktemp("cache")
    assert model_training.main(["--data-dir", str(prepared_mini), "--out-dir", str(out), "--cache-dir", str(cache),
                    "--epochs", "4", "--augment-copies", "1", "--jobs", "2"]) == 0
    return out


@pytest.fixture(scope="session")
def dask_scheduler() -> str:
    """The address of a dask.distributed LocalCluster of 2 worker processes on 127.0.0.1, started here
    (dask is in requirements-dask.txt, which `make test` installs)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, expected reason) for each kind of unusable file."""
    folder.mkdir(parents=True, exist_ok=True)
    corrupt = folder / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" + bytes(range(256)))
    empty = write_wav(folder / "empty.wav", np.zeros(0, dtype=np.float32))
    silent = write_wav(folder / "silent.wav", np.zeros(48000, dtype=np.float32))
    short = write_wav(folder / "short.wav", speech_like(seconds=0.1, pad=0.3))
    nan = speech_like()
    nan[5000] = np.nan
    nan = write_wav(folder / "nan.wav", nan, subtype="FLOAT")
    huge = write_wav(folder / "huge.wav", speech_like() * 1e20, subtype="FLOAT")
    return {"corrupt": (corrupt, "unreadable"), "empty": (empty, "empty"),
            "silent": (silent, "silent"), "short": (short, "too short"),
            "nan": (nan, "contains NaN or infinite samples"), "huge": (huge, "far outside -1..1")}


class CorpusServer(http.server.BaseHTTPRequestHandler):
    """Serves one in-memory file at any path, honouring 'Range: bytes=N-' like Zenodo does."""

    payload = b""
    ranges: list = []

    def do_GET(self):
        start = 0
        if header := self.headers.get("Range"):
            start = int(header.split("=")[1].rstrip("-"))
            type(self).ranges.append(start)
        body = self.payload[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(payload: bytes) -> str:
        handler = type("Handler", (CorpusServer,), {"payload": payload, "ranges": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/Audio_Speech_Actors_01-24.zip", handler

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def corpus_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, speech_like(seconds=0.6, pad=0.2), 48000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------- scripts as a user runs them
def run_script(script: str, *argv, env: dict | None = None, timeout: float = 600):
    """A script of the project in a fresh process: (exit code, stdout, stderr)."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(ROOT / script), *map(str, argv)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env={**os.environ, **(env or {})})
    return done.returncode, done.stdout, done.stderr


def assert_one_line_error(stderr: str, *words: str) -> str:
    """The 'error:' line of stderr, after checking there is exactly one, it names every word, and no traceback."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    for word in words:
        assert str(word) in errors[0], errors[0]
    return errors[0]


def children_of(pid: int) -> list[int]:
    """Live child processes of pid (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def loky_workers(main_pid: int) -> list[int]:
    """The worker processes of main_pid that have started working: they ignore Ctrl-C (ser.parallel sets that up
    in each; a worker still importing Python would print its own traceback, as any process would)."""
    import signal

    workers = []
    for pid in children_of(main_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            ignored = next(int(line.split()[1], 16) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                           if line.startswith("SigIgn:"))
        except (OSError, StopIteration):
            continue
        if b"popen_loky" in command and ignored & (1 << (signal.SIGINT - 1)):
            workers.append(pid)
    return workers


def is_gone(pid: int) -> bool:
    """Whether process pid has ended (or is a zombie waiting for its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_for(condition, timeout: float = 120.0, step: float = 0.2) -> bool:
    """Poll condition() until it is true (True) or timeout seconds pass (False)."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return False


def interrupt_when(process, condition, timeout: float = 120.0) -> tuple[int, str]:
    """Ctrl-C as a terminal sends it (SIGINT to the whole process group of process, started with
    start_new_session=True) once condition() holds; (exit code, stderr)."""
    import os
    import signal

    assert wait_for(condition, timeout), "the run never reached the point to interrupt it at"
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    return process.returncode, err


def as_unprivileged(code: str) -> tuple[int, str]:
    """Run python code in a process that file permissions apply to (when the tests run as root, who may
    read and write anything, without the capabilities that override them): (exit code, stderr). For
    tests of unreadable or read-only folders."""
    import os
    import subprocess
    import sys

    drop = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    done = subprocess.run([*drop, sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return done.returncode, done.stderr


def rewrite_folder(folder: Path, changes: dict[str, bytes | None]) -> None:
    """Files of an output folder changed (None: removed) as its writer would have written them (its record
    updated), so that a test reaches the checks behind the checksums."""
    listed = json.loads((folder / atomic.RECORD).read_text())["files"]
    contents = {name: (folder / name).read_bytes() for name in listed} | changes
    for name in [name for name, data in contents.items() if data is None]:
        del contents[name]
        (folder / name).unlink()
    atomic.write_folder(folder, {name: atomic.bytes_saver(lambda f, d=data: f.write(d))
                                 for name, data in contents.items()})
