"""Shared fixtures: the real mini corpus, synthetic speech-like WAVs written by the tests, a corpus
server on 127.0.0.1, and the scripts' default configs."""

import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import data_preparation
import model_training

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


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, expected reason) for each kind of unusable file."""
    folder.mkdir(parents=True, exist_ok=True)
    corrupt = folder / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" + bytes(range(256)))
    empty = write_wav(folder / "empty.wav", np.zeros(0, dtype=np.float32))
    silent = write_wav(folder / "silent.wav", np.zeros(48000, dtype=np.float32))
    short = write_wav(folder / "short.wav", speech_like(seconds=0.1, pad=0.3))
    return {"corrupt": (corrupt, "unreadable"), "empty": (empty, "empty"),
            "silent": (silent, "silent"), "short": (short, "too short")}


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
