"""Shared fixtures: the real mini corpus and synthetic speech-like WAVs written by the tests."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
MINI_DIR = ROOT.parent / "shared" / "data" / "ravdess-mini"


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
    import data_preparation as dp

    out = tmp_path_factory.mktemp("processed")
    assert dp.main(["--data-dir", str(mini_dir), "--out-dir", str(out), "--jobs", "2"]) == 0
    return out


@pytest.fixture(scope="session")
def trained_mini(prepared_mini, tmp_path_factory) -> Path:
    """model_training.py run once on the prepared mini subset, few epochs, augmentation on."""
    import model_training as mt

    out = tmp_path_factory.mktemp("results")
    cache = tmp_path_factory.mktemp("cache")
    assert mt.main(["--data-dir", str(prepared_mini), "--out-dir", str(out), "--cache-dir", str(cache),
                    "--epochs", "4", "--augment-copies", "1", "--jobs", "2"]) == 0
    return out
