"""Reading audio files: any format libsndfile decodes, downmixed to mono and resampled."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import numpy as np

from ser.errors import UserError

MAX_CHANNEL_LAG_SECONDS = 0.002  # two microphones of one recording: at most this far apart in time
BLOCK_SECONDS = 60.0  # long recordings are read and windowed this much at a time (audio_blocks)
CONVERT_FIRST = (".m4a", ".aac", ".mp4", ".wma", ".amr", ".webm", ".3gp")  # audio libsndfile cannot decode: phone
#   voice memos and video soundtracks, which ffmpeg turns into WAV
MAX_SAMPLE_PEAK = 1e6  # 120 dB over full scale: a float file this loud holds no audio in any usual scaling

log = logging.getLogger("ser")


class AudioError(UserError):
    """A file or signal that cannot be used: unreadable, empty, silent or too short."""


def channel_lag(channel: np.ndarray, reference: np.ndarray, max_lag: int) -> int:
    """Samples by which channel lags reference (n_samples,), at most max_lag either way (cross-correlation)."""
    import scipy.fft

    n = scipy.fft.next_fast_len(len(channel) + len(reference), real=True)  # any n this long: no wrap-around; a
    #   length of small factors, not a large prime's (several times slower for some file lengths)
    correlation = scipy.fft.irfft(scipy.fft.rfft(channel, n) * np.conj(scipy.fft.rfft(reference, n)), n)
    lags = np.r_[0:max_lag + 1, -max_lag:0]
    return int(lags[np.argmax(correlation[lags])])


def downmix(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono (n_samples,) of samples (n_samples, n_channels) at rate Hz: each channel is shifted onto
    the first by the lag that best aligns them (at most MAX_CHANNEL_LAG_SECONDS), then the channels
    are averaged, so that two microphones a fraction of a millisecond apart do not comb-filter."""
    if samples.shape[1] == 1:
        return samples[:, 0]
    reference, max_lag = samples[:, 0].astype(np.float64), int(MAX_CHANNEL_LAG_SECONDS * rate)
    lags = [0] + [channel_lag(samples[:, c].astype(np.float64), reference, max_lag) for c in range(1, samples.shape[1])]
    if not any(lags):
        return samples.mean(axis=1)
    aligned = np.zeros_like(samples)
    for c, lag in enumerate(lags):  # channel c at time t + lag is the reference at time t
        source = samples[max(lag, 0):len(samples) + min(lag, 0), c]
        aligned[max(-lag, 0):max(-lag, 0) + len(source), c] = source
    return aligned.mean(axis=1)


def resample(signal: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """signal (n_samples,) at rate, as float32 at target_rate (soxr, high quality)."""
    if rate != target_rate:
        import librosa

        signal = librosa.resample(signal, orig_sr=rate, target_sr=target_rate, res_type="soxr_hq")
    return np.ascontiguousarray(signal, dtype=np.float32)


def _checked(samples: np.ndarray, path: Path) -> np.ndarray:
    """samples (n, n_channels) as read from path, unless they cannot be audio (AudioError naming the file)."""
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if not np.isfinite(peak):
        raise AudioError(f"{path}: contains NaN or infinite samples; export it again from the program that made it")
    if peak > MAX_SAMPLE_PEAK:
        raise AudioError(f"{path}: samples reach {peak:.3g}, far outside -1..1 (a float file written unscaled?); "
                         f"rescale it to -1..1")
    return samples


def _unreadable(path: Path, err: Exception) -> AudioError:
    if Path(path).is_file() and Path(path).stat().st_size == 0:
        return AudioError(f"{path}: empty file (0 bytes; was the recording saved?)")
    reason = str(err).split(":")[-1].strip().rstrip(".") or type(err).__name__  # libsndfile's message is the useful part
    if Path(path).suffix.lower() in CONVERT_FIRST:
        reason += f"; {Path(path).suffix} is not read here: convert it first, ffmpeg -i '{path}' " \
                  f"'{Path(path).with_suffix('.wav')}'"
    return AudioError(f"{path}: unreadable ({reason})")


def load_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples (n_samples,) of any WAV/FLAC/OGG/MP3 (any rate, bit depth, channels) at
    sample_rate Hz; AudioError naming the file if it cannot be read or holds no samples."""
    import soundfile as sf

    try:
        samples, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise _unreadable(path, err) from None
    if samples.size == 0:
        raise AudioError(f"{path}: empty (no samples)")
    return resample(downmix(_checked(samples, path), file_rate), file_rate, sample_rate)


def audio_blocks(path: Path, sample_rate: int, block_seconds: float = BLOCK_SECONDS):
    """load_audio of path in blocks of about block_seconds (float32 (n,) each, at sample_rate Hz), read as
    they are needed: the memory of a long recording does not grow with its length. Resampled in a stream
    (soxr HQ: the samples of the one-shot resampler), so the blocks join into load_audio's samples; the
    channels of a stereo file are aligned block by block (the same as load_audio's for a file of one block)."""
    import soundfile as sf
    import soxr

    try:
        info = sf.info(str(path))
        blocks = sf.blocks(str(path), blocksize=max(1, int(block_seconds * info.samplerate)), dtype="float32",
                           always_2d=True)
        resampler = (soxr.ResampleStream(info.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
                     if info.samplerate != sample_rate else None)
        if info.frames == 0:
            raise AudioError(f"{path}: empty (no samples)")
        for block in blocks:
            mono = np.ascontiguousarray(downmix(_checked(block, path), info.samplerate), dtype=np.float32)
            yield mono if resampler is None else resampler.resample_chunk(mono)
    except AudioError:
        raise
    except Exception as err:
        raise _unreadable(path, err) from None
    if resampler is not None:
        yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)


def truncation(path: Path) -> str | None:
    """What is missing if path is a WAV whose header promises more audio than the file holds (a copy
    cut short, which libsndfile reads without a word), else None."""
    try:
        with open(path, "rb") as f:
            head, size = f.read(12), os.fstat(f.fileno()).st_size
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            while len(chunk := f.read(8)) == 8:
                name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if name == b"data":
                    held = size - f.tell()
                    if length in (0, 0xFFFFFFFF) or held >= length:  # 0 and 0xFFFFFFFF: written as a stream
                        return None
                    return f"truncated: it holds {held} of the {length} bytes of audio its header promises"
                f.seek(length + (length & 1), os.SEEK_CUR)
    except OSError:
        return None
    return None


def warn_truncated(paths: list[Path]) -> None:
    """A warning naming each truncated WAV among paths (they are still used: what is there is audio)."""
    for path in paths:
        if (what := truncation(path)) is not None:
            log.warning("%s: %s; using what is there (replace the file to use all of it)", path, what)
