"""Reading audio files: any format libsndfile decodes, downmixed to mono and resampled."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ser.errors import UserError


class AudioError(UserError):
    """A file or signal that cannot be used: unreadable, empty, silent or too short."""


def resample(signal: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """signal (n_samples,) at rate, as float32 at target_rate (soxr, high quality)."""
    if rate != target_rate:
        import librosa

        signal = librosa.resample(signal, orig_sr=rate, target_sr=target_rate, res_type="soxr_hq")
    return np.ascontiguousarray(signal, dtype=np.float32)


def load_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples (n_samples,) of any WAV/FLAC/OGG/MP3 (any rate, bit depth, channels) at
    sample_rate Hz; AudioError naming the file if it cannot be read or holds no samples."""
    import soundfile as sf

    try:
        samples, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # libsndfile's message is the useful part
        reason = str(err).split(":")[-1].strip() or type(err).__name__
        raise AudioError(f"{path}: unreadable ({reason})") from None
    if samples.size == 0:
        raise AudioError(f"{path}: empty (no samples)")
    return resample(samples.mean(axis=1), file_rate, sample_rate)  # stereo files are downmixed
