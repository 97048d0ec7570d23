"""Turn the RAVDESS WAV files into ready-to-train feature arrays.

Finds RAVDESS-named WAVs under --data-dir (Zenodo layout `Actor_01/...` or Kaggle layout
`audio_speech_actors_01-24/Actor_01/...`), reads emotion/actor/... from each file name, computes
one feature vector per file with `extract_features` (MFCC-family statistics pooled over the speech,
not the silence around it), splits the files into train/val/test and writes to --out-dir:

    X_{train,val,test}.npy   float32 (n_files, n_features)
    y_{train,val,test}.npy   int64 (n_files,), 0..7 in the order of LABELS
    manifest.csv             one row per used file, in array order within each split
    meta.json                labels, feature config, split, counts, skipped files, versions

The default split is speaker-independent: validation and test actors never appear in training.

    python data_preparation.py                      # data/raw -> data/processed
    python data_preparation.py --download           # fetch the corpus first if no WAVs are found
    python data_preparation.py --split random       # leaky tutorial-style split, for comparison
    python data_preparation.py --help               # every constant below as a flag

`extract_features`, `load_audio` and `FeatureConfig` are imported by model_training.py (training
augmentation) and predict.py, so features are computed the same way everywhere.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import hashlib
import io
import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

import numpy as np

# ----------------------------------------------------------------------------------------------
# Constants a user tweaks (each one is a command-line flag of the same name).
DATA_DIR = "data/raw"  # where the RAVDESS WAVs are (searched recursively)
OUT_DIR = "data/processed"  # where the arrays, manifest.csv and meta.json go
CHANNEL = "speech"  # speech (vocal channel 01), song (02) or both
FEATURES = "full"  # "full": MFCC-family statistics over the speech; "mfcc_mean": fast baseline
SAMPLE_RATE = 16000  # Hz; every file is resampled to this rate
N_MFCC = 40
N_MELS = 64
N_FFT = 512  # 32 ms at 16 kHz
HOP_LENGTH = 160  # 10 ms at 16 kHz
F0_MIN, F0_MAX = 60.0, 500.0  # Hz, pitch search range (librosa.yin)
SPEECH_TOP_DB = 40.0  # frames more than this below the loudest frame count as silence...
SPEECH_FLOOR_MARGIN_DB = 10.0  # ...and so do frames less than this above the noise floor
MIN_SPEECH_SECONDS = 0.25  # shorter sound than this is "too short" to classify
SPLIT = "actor"  # "actor": speaker-independent; "random": stratified random split (leaky)
VAL_FRACTION = 0.15  # of the actors of each sex (actor split) or of the files (random split)
TEST_FRACTION = 0.15
SEED = 42
JOBS = -1  # worker processes for feature extraction; -1 = all cores
CORPUS_URL = "https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip"
CORPUS_MD5 = "bc696df654c87fed845eb13823edef8a"
# ----------------------------------------------------------------------------------------------

LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
SPLITS = ("train", "val", "test")
CHANNELS = {"speech": {1}, "song": {2}, "both": {1, 2}}
FEATURE_SETS = ("full", "mfcc_mean")
MANIFEST_COLUMNS = ("path", "split", "actor", "gender", "emotion", "intensity", "statement", "repetition")
RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.wav$", re.IGNORECASE)
MIN_SILENT_PEAK = 1e-4  # -80 dBFS: a file whose loudest sample is quieter than this is silent
FORMAT_VERSION = 1  # bump when the layout of meta.json / the arrays changes
FEATURE_VERSION = 4  # bump when extract_features changes: old arrays, caches and models are then refused

log = logging.getLogger("ser")


class UserError(Exception):
    """A mistake the user can fix (missing folder, bad file, wrong config): one line, no traceback."""


class AudioError(UserError):
    """A file that cannot be used: unreadable, empty, silent or too short."""


# ---------------------------------------------------------------------------------- file names
@dataclasses.dataclass(frozen=True)
class Recording:
    """What a RAVDESS file name says about the recording."""

    path: Path
    modality: int
    channel: int  # 1 speech, 2 song
    emotion: int  # 0..7, index into LABELS
    intensity: str  # normal or strong
    statement: int
    repetition: int
    actor: int

    @property
    def gender(self) -> str:
        return "male" if self.actor % 2 else "female"


def parse_name(path: Path) -> Recording:
    """Recording for a name like 03-01-06-01-02-01-12.wav; UserError if it breaks the convention."""
    match = RAVDESS_NAME.match(Path(path).name)
    if not match:
        raise UserError(f"{path}: not a RAVDESS name (expected 7 two-digit fields like 03-01-06-01-02-01-12.wav)")
    modality, channel, emotion, intensity, statement, repetition, actor = map(int, match.groups())
    limits = {"modality": (modality, 1, 3), "vocal channel": (channel, 1, 2), "emotion": (emotion, 1, 8),
              "intensity": (intensity, 1, 2), "statement": (statement, 1, 2),
              "repetition": (repetition, 1, 2), "actor": (actor, 1, 99)}
    for field, (value, low, high) in limits.items():
        if not low <= value <= high:
            raise UserError(f"{path}: {field} {value:02d} is outside {low:02d}-{high:02d} in the RAVDESS convention")
    return Recording(Path(path), modality, channel, emotion - 1, ("normal", "strong")[intensity - 1],
                     statement, repetition, actor)


def files_under(folder: Path, suffixes: tuple[str, ...] = (".wav",)) -> list[Path]:
    """Files under folder, at any depth, whose suffix (any case) is one of suffixes, sorted.

    Symlinked folders are followed (a corpus is often linked in, Actor folder by Actor folder),
    each real folder once, so a link back up the tree cannot loop. Path.rglob skips them before
    Python 3.13.
    """
    found, seen = [], set()
    for root, folders, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            folders.clear()
            continue
        seen.add(real)
        found += [Path(root) / name for name in names if Path(name).suffix.lower() in suffixes]
    return sorted(path for path in found if path.is_file())


def find_recordings(data_dir: Path, channel: str = CHANNEL) -> tuple[list[Recording], list[dict]]:
    """RAVDESS recordings under data_dir (any depth), each name once, sorted by actor then name.

    Returns (recordings, skipped) where skipped lists {"path", "reason"} for badly named WAVs.
    The Kaggle copy of the corpus holds every Actor folder twice: the same name is kept once.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} does not exist (put the RAVDESS WAVs there as "
                        f"Actor_XX/03-01-...wav, or run with --download; see README)")
    by_name: dict[str, Recording] = {}
    skipped = []
    for path in files_under(data_dir):
        try:
            recording = parse_name(path)
        except UserError as err:
            log.warning("skipped %s", err)
            skipped.append({"path": str(path), "reason": "not a RAVDESS name"})
            continue
        if recording.channel in CHANNELS[channel]:
            by_name.setdefault(path.name.lower(), recording)
    recordings = sorted(by_name.values(), key=lambda r: (r.actor, r.path.name))
    return recordings, skipped


# ---------------------------------------------------------------------------------- audio
def load_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 samples of any WAV/FLAC/OGG/MP3 (any rate, bit depth, channels) at sample_rate."""
    import librosa
    import soundfile as sf

    try:
        samples, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # libsndfile's message is the useful part
        reason = str(err).split(":")[-1].strip() or type(err).__name__
        raise AudioError(f"{path}: unreadable ({reason})") from None
    if samples.size == 0:
        raise AudioError(f"{path}: empty (no samples)")
    mono = samples.mean(axis=1)  # stereo files are downmixed
    if file_rate != sample_rate:
        mono = librosa.resample(mono, orig_sr=file_rate, target_sr=sample_rate, res_type="soxr_hq")
    return np.ascontiguousarray(mono, dtype=np.float32)


# ---------------------------------------------------------------------------------- features
@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Everything that decides the feature vector; saved with the arrays and with the model."""

    features: str = FEATURES
    version: int = FEATURE_VERSION
    sample_rate: int = SAMPLE_RATE
    n_mfcc: int = N_MFCC
    n_mels: int = N_MELS
    n_fft: int = N_FFT
    hop_length: int = HOP_LENGTH
    f0_min: float = F0_MIN
    f0_max: float = F0_MAX
    speech_top_db: float = SPEECH_TOP_DB
    speech_floor_margin_db: float = SPEECH_FLOOR_MARGIN_DB
    min_speech_seconds: float = MIN_SPEECH_SECONDS

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict, source: str = "meta.json") -> "FeatureConfig":
        fields = {f.name for f in dataclasses.fields(cls)}
        if set(values) != fields or values["version"] != FEATURE_VERSION:
            raise UserError(f"{source} was written with another feature config (fields "
                            f"{sorted(set(values) ^ fields) or ['version']} differ); rerun data_preparation.py")
        return cls(**values)


def speech_span(signal: np.ndarray, config: FeatureConfig) -> tuple[int, int]:
    """(start, end) sample indices of the sound between the leading and trailing silence.

    A frame counts as sound when it is both within speech_top_db of the loudest frame and
    speech_floor_margin_db above the noise floor (10th percentile of frame levels), so the decision
    follows the recording's own noise, not an absolute level.
    """
    import librosa

    rms = librosa.feature.rms(y=signal, frame_length=config.n_fft, hop_length=config.hop_length)[0]
    level_db = 20 * np.log10(np.maximum(rms, 1e-10))
    threshold = max(level_db.max() - config.speech_top_db,
                    np.percentile(level_db, 10) + config.speech_floor_margin_db)
    active = np.flatnonzero(level_db >= threshold)
    if active.size == 0:
        return 0, 0
    start = active[0] * config.hop_length
    end = min(len(signal), active[-1] * config.hop_length + config.n_fft)
    return int(start), int(end)


def _pooled(name: str, rows: np.ndarray, stats: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    """Statistics over time of each row of rows (n_rows, n_frames): one named block per statistic.

    Percentiles are pNN; range is p99 - p1 and iqr p75 - p25 (robust to single outlier frames);
    slope is the least-squares trend over the clip with time scaled to [-1, 1].
    """
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    if rows.shape[1] < 2:  # e.g. no voiced frame: constant statistics instead of NaN
        rows = np.zeros((rows.shape[0], 2)) if rows.shape[1] == 0 else np.repeat(rows, 2, axis=1)
    needed = {"range": (1, 99), "iqr": (25, 75)}
    levels = sorted({int(s[1:]) for s in stats if s[0] == "p" and s[1:].isdigit()}
                    | {q for s in stats for q in needed.get(s, ())})
    percentile = dict(zip(levels, np.percentile(rows, levels, axis=1))) if levels else {}
    mean = rows.mean(axis=1)
    centred = rows - mean[:, None]
    std = np.sqrt((centred ** 2).mean(axis=1))
    standardised = centred / np.maximum(std, 1e-8)[:, None]
    time_axis = np.linspace(-1, 1, rows.shape[1])
    compute = {
        "mean": lambda: mean,
        "std": lambda: std,
        "slope": lambda: rows @ time_axis / (time_axis @ time_axis),
        "skew": lambda: (standardised ** 3).mean(axis=1),
        "kurtosis": lambda: (standardised ** 4).mean(axis=1) - 3,
        "range": lambda: percentile[99] - percentile[1],
        "iqr": lambda: percentile[75] - percentile[25],
    }
    return [(f"{name}_{stat}", compute[stat]() if stat in compute else percentile[int(stat[1:])])
            for stat in stats]


CONTOUR_SHAPE = ("max_position", "min_position", "up25", "up50", "up75", "up90", "rising", "curvature",
                 "fit_error", "peaks_per_second", "peak_seconds", "peak_height", "rise_slope", "fall_slope")


def _contour_shape(name: str, rows: np.ndarray, frames_per_second: float) -> list[tuple[str, np.ndarray]]:
    """How each contour of rows (n_rows, n_frames) moves over time (after ComParE's functionals).

    Relative positions of the maximum and minimum; the fraction of frames above 25/50/75/90 % of
    the p1-p99 range ("up-level times") and of rising frames; curvature and residual of a quadratic
    fit over time in [-0.5, 0.5]; peaks (local maxima above half the range) per second, their mean
    spacing in seconds and mean height above the contour's mean (in ranges); mean rise and fall
    per frame. One named block per functional, of length n_rows.
    """
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    if rows.shape[1] < 5:  # too few frames for a shape (e.g. hardly any voiced frame)
        return [(f"{name}_{stat}", np.zeros(rows.shape[0])) for stat in CONTOUR_SHAPE]
    n = rows.shape[1]
    low, high = np.percentile(rows, [1, 99], axis=1)
    span = np.maximum(high - low, 1e-6)
    level = (rows - low[:, None]) / span[:, None]
    time_axis = np.linspace(-0.5, 0.5, n)
    design = np.stack([time_axis ** 2, time_axis, np.ones(n)], axis=1)
    coefficients = np.linalg.lstsq(design, rows.T, rcond=None)[0]  # (3, n_rows)
    residual = rows - (design @ coefficients).T
    step = np.diff(rows, axis=1)
    rising, falling = step > 0, step < 0
    inner = rows[:, 1:-1]
    peaks = (inner > rows[:, :-2]) & (inner >= rows[:, 2:]) & (level[:, 1:-1] > 0.5)
    peak_count = peaks.sum(axis=1)
    positions = np.arange(1, n - 1)
    first = np.where(peaks, positions, n).min(axis=1)
    last = np.where(peaks, positions, -1).max(axis=1)
    peak_seconds = np.where(peak_count > 1, (last - first) / np.maximum(peak_count - 1, 1), 0) / frames_per_second
    peak_height = np.where(peak_count > 0, (inner * peaks).sum(axis=1) / np.maximum(peak_count, 1)
                           - rows.mean(axis=1), 0) / span
    values = [rows.argmax(axis=1) / n, rows.argmin(axis=1) / n,
              *[(level > threshold).mean(axis=1) for threshold in (0.25, 0.5, 0.75, 0.9)],
              rising.mean(axis=1), coefficients[0], np.sqrt((residual ** 2).mean(axis=1)),
              peak_count * frames_per_second / n, peak_seconds, peak_height,
              (step * rising).sum(axis=1) / np.maximum(rising.sum(axis=1), 1),
              -(step * falling).sum(axis=1) / np.maximum(falling.sum(axis=1), 1)]
    return [(f"{name}_{stat}", value) for stat, value in zip(CONTOUR_SHAPE, values)]


def _thirds(name: str, rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Mean over the first, middle and last third of rows (n_rows, n_frames), relative to the mean
    over all frames: where in the utterance a descriptor is high. One block per third."""
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    if rows.shape[1] < 3:
        return [(f"{name}_third{k}", np.zeros(rows.shape[0])) for k in (1, 2, 3)]
    mean = rows.mean(axis=1)
    return [(f"{name}_third{k}", rows[:, part].mean(axis=1) - mean)
            for k, part in enumerate(np.array_split(np.arange(rows.shape[1]), 3), start=1)]


MODULATION_HZ = ((0.5, 2.0), (2.0, 4.0), (4.0, 8.0), (8.0, 16.0))  # phrase, word, syllable, fast rates


def _modulation_db(name: str, band_power: np.ndarray, frames_per_second: float) -> list[tuple[str, np.ndarray]]:
    """Rhythm of each band of band_power (n_bands, n_frames): the share (dB) of its log-envelope's
    modulation energy in each range of MODULATION_HZ. One block per range, of length n_bands."""
    envelope = np.log(band_power + 1e-10)
    envelope -= envelope.mean(axis=1, keepdims=True)
    n = envelope.shape[1]
    n_fft = max(256, 1 << int(np.ceil(np.log2(n))))
    spectrum = np.abs(np.fft.rfft(envelope * np.hanning(n), n=n_fft, axis=1)) ** 2
    rates = np.fft.rfftfreq(n_fft, 1 / frames_per_second)
    energy = np.stack([spectrum[:, (rates >= low) & (rates < high)].sum(axis=1) for low, high in MODULATION_HZ]) + 1e-10
    share_db = 10 * np.log10(energy / energy.sum(axis=0))
    return [(f"{name}_{low:g}_{high:g}hz_db", values) for (low, high), values in zip(MODULATION_HZ, share_db)]


@functools.lru_cache(maxsize=8)
def _mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa's mel filter bank, built once per process."""
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)


@functools.lru_cache(maxsize=8)
def _chroma_filters(sample_rate: int, n_fft: int) -> np.ndarray:
    """librosa's chroma filter bank (A440 tuning), built once per process (chroma_stft rebuilds it
    on every call, which costs more than applying it)."""
    import librosa

    return librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, tuning=0.0)


def _band_db(power: np.ndarray, freqs: np.ndarray, low: float, high: float, reduce=np.sum) -> np.ndarray:
    """Per-frame level in dB of the power between low and high Hz (summed, or e.g. np.max)."""
    return 10 * np.log10(reduce(power[(freqs >= low) & (freqs < high)], axis=0) + 1e-10)


def _harmonicity_db(signal: np.ndarray, f0: np.ndarray, frames: np.ndarray, frame_length: int,
                    hop: int, sr: int) -> np.ndarray:
    """Harmonics-to-noise ratio (dB) of the given pitch frames: autocorrelation at the pitch period
    over autocorrelation at lag 0 (after Boersma 1993), from one FFT per frame."""
    import scipy.fft

    if frames.size == 0:
        return np.zeros(0)
    padded = np.pad(signal, frame_length // 2)
    starts = frames * hop
    windows = padded[starts[:, None] + np.arange(frame_length)]
    windows = windows - windows.mean(axis=1, keepdims=True)
    spectrum = scipy.fft.rfft(windows, n=2 * frame_length, axis=1)
    autocorrelation = scipy.fft.irfft(np.abs(spectrum) ** 2, axis=1)
    lags = np.clip(np.round(sr / f0[frames]).astype(int), 1, frame_length - 1)
    overlap = frame_length / (frame_length - lags)  # unbiased: fewer samples overlap at longer lags
    ratio = overlap * autocorrelation[np.arange(len(frames)), lags] / np.maximum(autocorrelation[:, 0], 1e-10)
    ratio = np.clip(ratio, 1e-3, 0.999)
    return 10 * np.log10(ratio / (1 - ratio))


def _full_feature_blocks(signal: np.ndarray, config: FeatureConfig) -> list[tuple[str, np.ndarray]]:
    """MFCC-family statistics of the speech in signal (already trimmed and level-normalised).

    Low-level descriptors per 10 ms frame (MFCC and their deltas, log-mel bands, spectral shape,
    chroma, energy, pitch, harmonicity), each summarised by statistics over the frames with sound
    (or the voiced frames, for voice-quality descriptors); how the energy, 8 coarse mel bands,
    MFCC 1-12, centroid, flux, alpha ratio and pitch move over the utterance (_contour_shape,
    _thirds); the bands' envelope modulation (_modulation_db); plus a few rhythm figures.
    """
    import librosa

    sr, n_fft, hop = config.sample_rate, config.n_fft, config.hop_length
    power = np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop)) ** 2
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    mel_db = librosa.power_to_db(_mel_filters(sr, n_fft, config.n_mels) @ power, ref=1.0, amin=1e-10)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=config.n_mfcc)
    width = min(9, mfcc.shape[1] - (1 - mfcc.shape[1] % 2))  # delta needs an odd width <= frames
    delta = librosa.feature.delta(mfcc, width=width, mode="nearest")
    delta2 = librosa.feature.delta(mfcc, width=width, order=2, mode="nearest")
    mel_delta = librosa.feature.delta(mel_db, width=width, mode="nearest")
    magnitude = np.sqrt(power)
    below_7k = int(7000 * n_fft / sr)
    log_spectrum = np.log(power[1:below_7k] + 1e-10)
    centred_freqs = freqs[1:below_7k] - freqs[1:below_7k].mean()
    spectral = np.vstack([
        np.log(librosa.feature.spectral_centroid(S=magnitude, sr=sr) + 1),
        np.log(librosa.feature.spectral_bandwidth(S=magnitude, sr=sr) + 1),
        np.log(librosa.feature.spectral_rolloff(S=magnitude, sr=sr) + 1),
        # flatness and contrast below 7 kHz: the band near Nyquist holds only resampler and
        # quantisation residue, which differ between copies of the same recording
        np.log(librosa.feature.spectral_flatness(S=magnitude[:below_7k], amin=1e-5)),
        librosa.feature.spectral_contrast(S=magnitude[:below_7k], sr=sr, fmin=200.0, n_bands=5,
                                          freq=freqs[:below_7k])[1:],
        # (contrast band 0, below 200 Hz, is left out: its valley is the DC bins' residue)
        librosa.feature.zero_crossing_rate(signal, frame_length=n_fft, hop_length=hop)[:, :power.shape[1]],
    ])
    spectral_balance = np.vstack([  # eGeMAPS-style: flux, alpha ratio, Hammarberg index, slope
        np.r_[0, np.sqrt(np.mean(np.diff(np.log(magnitude[:below_7k] + 1e-5), axis=1) ** 2, axis=0))],  # flux
        _band_db(power, freqs, 50, 1000) - _band_db(power, freqs, 1000, 5000),  # alpha ratio
        _band_db(power, freqs, 0, 2000, np.max) - _band_db(power, freqs, 2000, 5000, np.max),  # Hammarberg
        1000 * centred_freqs @ (log_spectrum - log_spectrum.mean(axis=0)) / (centred_freqs @ centred_freqs),  # slope
    ])
    rms_db = 20 * np.log10(np.maximum(librosa.feature.rms(S=magnitude, frame_length=n_fft)[0], 1e-10))
    rms_db -= rms_db.max()  # relative to the loudest frame: independent of recording level
    # Spectral statistics pool over the frames that carry sound, not the pauses between words,
    # whose spectra are mostly the recording's noise and quantisation.
    sound = rms_db > -config.speech_top_db
    if sound.sum() < 3:
        sound[:] = True
    f0 = librosa.yin(signal, fmin=config.f0_min, fmax=config.f0_max, sr=sr, frame_length=2 * n_fft,
                     hop_length=2 * hop)  # pitch every other frame: yin is the costliest step
    f0 = f0[:len(rms_db[::2])]
    pitch_rms_db = rms_db[::2][:len(f0)]
    voiced = (pitch_rms_db > -30) & (f0 > config.f0_min * 1.05) & (f0 < config.f0_max * 0.95)
    semitones = 12 * np.log2(f0[voiced] / 100.0)
    voiced_frames = np.zeros(mfcc.shape[1], dtype=bool)  # voicing at the 10 ms frame rate
    voiced_frames[:2 * len(voiced)] = np.repeat(voiced, 2)[:mfcc.shape[1]]
    unvoiced_frames = sound & ~voiced_frames
    voiced_frames = voiced_frames if voiced_frames.sum() >= 3 else sound
    unvoiced_frames = unvoiced_frames if unvoiced_frames.sum() >= 3 else sound
    chroma = librosa.util.normalize(_chroma_filters(sr, n_fft) @ power, norm=np.inf, axis=0)
    # voice quality between consecutive voiced pitch frames: period jitter and level shimmer
    steady = voiced[1:] & voiced[:-1]
    period = 1 / f0
    jitter = np.log(np.abs(np.diff(period))[steady] / period[1:][steady] + 1e-4)
    shimmer = np.abs(np.diff(pitch_rms_db))[steady]
    harmonicity = _harmonicity_db(signal, f0, np.flatnonzero(voiced)[::2], 2 * n_fft, 2 * hop, sr)  # every 40 ms
    level_change = np.diff(rms_db[sound])
    edges = np.diff(np.r_[0, voiced.astype(int), 0])
    voiced_seconds = (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)) * 2 * hop / sr
    has_segments = len(voiced_seconds) > 0
    onsets = librosa.onset.onset_detect(onset_envelope=librosa.onset.onset_strength(S=mel_db, sr=sr),
                                        sr=sr, hop_length=hop)
    seconds = len(signal) / sr
    frames_per_second = sr / hop
    band_edges = np.linspace(0, config.n_mels, 9).astype(int)[:-1]  # 8 coarse bands of the mel spectrum
    band_power = np.add.reduceat(librosa.db_to_power(mel_db), band_edges, axis=0)  # with mel_db's 80 dB floor
    band_db = 10 * np.log10(band_power + 1e-10)
    shape = ("mean", "std", "p10", "p50", "p90", "slope", "p25", "p75", "skew", "kurtosis", "range")
    spread = ("mean", "std", "p10", "p50", "p90")
    return (
        _pooled("mfcc", mfcc[:, sound], shape)
        + _pooled("mfcc_voiced", mfcc[:, voiced_frames], ("mean", "std"))
        + _pooled("mfcc_unvoiced", mfcc[:, unvoiced_frames], ("mean", "std"))
        + _pooled("mfcc_delta", delta[:, sound], ("std", "p10", "p90", "kurtosis"))
        + _pooled("mfcc_delta_abs", np.abs(delta[:, sound]), ("mean",))
        + _pooled("mfcc_delta2", delta2[:, sound], ("std",))
        + _pooled("logmel", mel_db[:, sound], ("mean", "std", "p10", "p50", "p90", "slope", "skew"))
        + _pooled("logmel_delta", mel_delta[:, sound], ("std",))
        + _pooled("spectral", spectral[:, sound], spread)
        + _pooled("spectral_balance", spectral_balance[:, sound], spread)
        + _pooled("chroma", chroma[:, voiced_frames], ("mean", "std"))
        + _pooled("energy_db", rms_db[sound], ("mean", "std", "p10", "p50", "p90", "slope", "skew"))
        + _pooled("energy_rise_db", np.maximum(level_change, 0), ("mean",))
        + _pooled("energy_fall_db", np.maximum(-level_change, 0), ("mean",))
        + [("sound_fraction", np.array([sound.mean()]))]
        + _pooled("pitch_st", semitones, ("mean", "std", "p10", "p50", "p90", "slope", "p25", "p75", "range", "skew"))
        + _pooled("pitch_delta_abs_st", np.abs(np.diff(semitones)), ("mean",))
        + _pooled("pitch_delta_st", np.diff(semitones), ("std", "p10", "p90"))
        + _pooled("jitter_log", jitter, ("mean", "std"))
        + _pooled("shimmer_db", shimmer, ("mean", "std"))
        + _pooled("harmonicity_db", harmonicity, ("mean", "std", "p50"))
        + _contour_shape("energy_db", rms_db, frames_per_second)
        + _contour_shape("band_db", band_db, frames_per_second)
        + _contour_shape(f"mfcc_1_{min(12, config.n_mfcc - 1)}", mfcc[1:13, sound], frames_per_second)
        + _contour_shape("centroid_flux_alpha", np.vstack([spectral[0], spectral_balance[:2]])[:, sound],
                         frames_per_second)
        + _contour_shape("pitch_st", semitones, frames_per_second / 2)
        + _thirds(f"mfcc_0_{min(20, config.n_mfcc) - 1}", mfcc[:20, sound])
        + _thirds("energy_db", rms_db[sound])
        + _thirds("pitch_st", semitones)
        + _thirds("centroid", spectral[0, sound])
        + _modulation_db("band_modulation", band_power, frames_per_second)
        + [("voiced_fraction", np.array([voiced.mean()])),
           ("voiced_segments_per_second", np.array([len(voiced_seconds) / seconds])),
           ("voiced_segment_log_seconds", np.array([np.log(voiced_seconds.mean() + 1e-3) if has_segments else 0.0])),
           ("voiced_segment_seconds_std", np.array([voiced_seconds.std() if has_segments else 0.0])),
           ("onsets_per_second", np.array([len(onsets) / seconds])),
           ("log_speech_seconds", np.array([np.log(seconds)]))]
    )


def _feature_blocks(signal: np.ndarray, sr: int, config: FeatureConfig) -> list[tuple[str, np.ndarray]]:
    import librosa

    if sr != config.sample_rate:
        signal = librosa.resample(signal, orig_sr=sr, target_sr=config.sample_rate, res_type="soxr_hq")
    signal = np.asarray(signal, dtype=np.float32)
    if signal.size == 0:
        raise AudioError("empty (no samples)")
    peak = float(np.abs(signal).max())
    if not np.isfinite(peak):
        raise AudioError("contains NaN or infinite samples")
    if peak < MIN_SILENT_PEAK:
        raise AudioError(f"silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS)")
    if config.features == "mfcc_mean":  # the tutorial baseline: whole clip, raw level
        mfcc = librosa.feature.mfcc(y=signal, sr=config.sample_rate, n_mfcc=config.n_mfcc,
                                    n_fft=config.n_fft, hop_length=config.hop_length, n_mels=config.n_mels)
        return _pooled("mfcc", mfcc, ("mean",))
    start, end = speech_span(signal, config)
    seconds = (end - start) / config.sample_rate
    if end == start:
        raise AudioError("silent (no sound above the noise floor)")
    if seconds < config.min_speech_seconds:
        raise AudioError(f"too short ({seconds:.2f} s of sound, need {config.min_speech_seconds} s)")
    speech = signal[start:end]
    speech = speech / (np.sqrt(np.mean(speech ** 2)) + 1e-10)  # unit RMS: level-independent features
    return _full_feature_blocks(speech, config)


def extract_features(signal: np.ndarray, sr: int, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Feature vector (n_features,) float32 of one mono signal at rate sr.

    The one feature function of the project: preparation, training-time augmentation and
    prediction all call it. Raises AudioError for silent or too-short signals.
    """
    return np.concatenate([values for _, values in _feature_blocks(signal, sr, config)]).astype(np.float32)


def feature_names(config: FeatureConfig = FeatureConfig()) -> list[str]:
    """Name of each entry of extract_features' output, read off a synthetic voiced signal."""
    t = np.arange(int(1.5 * config.sample_rate)) / config.sample_rate
    probe = np.sin(2 * np.pi * 150 * t) * np.hanning(t.size) + 0.001 * np.cos(2 * np.pi * 3000 * t)
    return [f"{name}{i}" if len(values) > 1 else name
            for name, values in _feature_blocks(probe.astype(np.float32), config.sample_rate, config)
            for i in range(len(values))]


def file_features(path: Path, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """extract_features of one audio file; AudioError names the file."""
    signal = load_audio(path, config.sample_rate)
    try:
        return extract_features(signal, config.sample_rate, config)
    except AudioError as err:
        raise AudioError(f"{path}: {err}") from None


def try_file_features(path: Path, config: FeatureConfig) -> tuple[np.ndarray | None, str | None]:
    """(features, None) or (None, reason): for worker processes, which must not raise per file."""
    try:
        return file_features(path, config), None
    except AudioError as err:
        return None, str(err)


def map_with_progress(function, items: list, jobs: int = JOBS, desc: str = "features"):
    """[function(item) for item in items] over `jobs` processes with a progress bar, in order."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    results = Parallel(n_jobs=jobs, return_as="generator")(delayed(function)(item) for item in items)
    return list(tqdm(results, total=len(items), desc=desc, unit="file", disable=None))


# ---------------------------------------------------------------------------------- split
def split_by_actor(recordings: list[Recording], val_fraction: float = VAL_FRACTION,
                   test_fraction: float = TEST_FRACTION,
                   rng: np.random.Generator | None = None) -> dict[int, str]:
    """Actor -> train/val/test so that no actor is in two sets and each set has both sexes.

    test_fraction 0 gives train/val only (cross-validation folds pick their test actors themselves).
    """
    rng = rng or np.random.default_rng(SEED)
    assignment = {}
    for parity, sex in ((1, "male"), (0, "female")):
        actors = sorted({r.actor for r in recordings if r.actor % 2 == parity})
        n_test = max(1, round(len(actors) * test_fraction)) if test_fraction > 0 else 0
        n_val = max(1, round(len(actors) * val_fraction))
        if len(actors) < n_test + n_val + 1:
            raise UserError(f"an actor split needs at least {n_test + n_val + 1} {sex} actors, found "
                            f"{len(actors)} ({actors}); add more actors or use --split random")
        shuffled = [int(a) for a in rng.permutation(actors)]
        for i, actor in enumerate(shuffled):
            assignment[actor] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return assignment


def split_random(recordings: list[Recording], val_fraction: float = VAL_FRACTION,
                 test_fraction: float = TEST_FRACTION,
                 rng: np.random.Generator | None = None) -> list[str]:
    """train/val/test per recording, stratified by emotion; actors leak across sets (for comparison)."""
    from sklearn.model_selection import train_test_split

    rng = rng or np.random.default_rng(SEED)
    index = np.arange(len(recordings))
    emotions = np.array([r.emotion for r in recordings])
    try:
        rest, test = train_test_split(index, test_size=test_fraction, stratify=emotions,
                                      random_state=int(rng.integers(2**31)))
        train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction),
                                      stratify=emotions[rest], random_state=int(rng.integers(2**31)))
    except ValueError as err:  # too few files of some emotion to stratify
        raise UserError(f"cannot split {len(recordings)} files at random by emotion ({err}); add files "
                        f"or change --val-fraction/--test-fraction") from None
    splits = np.empty(len(recordings), dtype=object)
    splits[train], splits[val], splits[test] = "train", "val", "test"
    return list(splits)


# ---------------------------------------------------------------------------------- writing
def _temporary_copy(directory: Path, name: str, write) -> str:
    """Path of a new hidden file in directory holding what write(file_object) wrote."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: Path, write) -> None:
    """Call write(file_object) on a temporary file next to path, then rename it over path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(_temporary_copy(path.parent, path.name, write), path)


def write_json(path: Path, data) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=2).encode()))


def write_outputs(out_dir: Path, arrays: dict[str, np.ndarray], manifest: list[dict], meta: dict) -> None:
    """All outputs written to temporary files first and renamed only once every one is complete,
    meta.json last, so an interrupted run leaves the previous output as it was."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staged = []
    try:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, array)
            staged.append((f"{name}.npy", buffer.getvalue()))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(manifest)
        staged.append(("manifest.csv", text.getvalue().encode()))
        staged.append(("meta.json", json.dumps(meta, indent=2).encode()))
        temporary = [(_temporary_copy(out_dir, name, lambda f, data=payload: f.write(data)), out_dir / name)
                     for name, payload in staged]
        for tmp, final in temporary:
            os.replace(tmp, final)
    finally:
        for tmp in out_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def library_versions() -> dict[str, str]:
    import librosa
    import sklearn
    import soundfile

    return {"python": platform.python_version(), "numpy": np.__version__, "librosa": librosa.__version__,
            "soundfile": soundfile.__version__, "scikit-learn": sklearn.__version__}


def inputs_fingerprint(recordings: list[Recording], settings: dict) -> str:
    """Hash of the input files (name, size, mtime) and every setting: equal means same output."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for r in recordings:
        stat = r.path.stat()
        digest.update(f"{r.path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def existing_output_matches(out_dir: Path, fingerprint: str) -> bool:
    try:
        meta = json.loads((out_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    files = [f"{k}_{s}.npy" for k in "Xy" for s in SPLITS] + ["manifest.csv"]
    return meta.get("fingerprint") == fingerprint and all((out_dir / f).exists() for f in files)


# ---------------------------------------------------------------------------------- download
def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_url(url: str, target: Path, timeout: float = 30.0) -> None:
    """Download url to target with a progress bar, resuming a partial target.part if there is one."""
    from tqdm import tqdm

    part = target.with_name(target.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    request = Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        response = urlopen(request, timeout=timeout)
    except HTTPError as err:
        if err.code == 416 and start:  # the partial file is already whole or bigger: start again
            part.unlink()
            return fetch_url(url, target, timeout)
        raise UserError(f"download of {url} failed: HTTP {err.code} {err.reason}") from None
    except (URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise UserError(f"cannot download {url} ({reason}); without network, put the RAVDESS WAVs "
                        f"under {target.parent}/Actor_XX/ yourself (see README)") from None
    with response:
        resumed = start > 0 and response.status == 206
        start = start if resumed else 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length else None
        with open(part, "ab" if resumed else "wb") as f, \
                tqdm(total=total, initial=start, unit="B", unit_scale=True, desc=target.name, disable=None) as bar:
            while chunk := response.read(1 << 20):
                f.write(chunk)
                bar.update(len(chunk))
    if total is not None and part.stat().st_size != total:
        raise UserError(f"download of {url} stopped early ({part.stat().st_size} of {total} bytes); "
                        f"run again to resume")
    os.replace(part, target)


def safe_extract(archive: Path, target_dir: Path) -> int:
    """Extract a zip into target_dir, refusing members that would land outside it; returns files added.

    Files go to a temporary folder first and are moved in one by one, so an interrupted extraction
    never leaves a half-written WAV; files already present are kept.
    """
    root = target_dir.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                if not (root / member.filename).resolve().is_relative_to(root):
                    raise UserError(f"{archive}: member {member.filename!r} would be written outside "
                                    f"{target_dir}; refusing to extract this archive")
            staging = Path(tempfile.mkdtemp(dir=target_dir, prefix=".extract-"))
            try:
                zf.extractall(staging)
                added = 0
                for source in sorted(p for p in staging.rglob("*") if p.is_file()):
                    destination = target_dir / source.relative_to(staging)
                    if not destination.exists():
                        destination.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(source, destination)
                        added += 1
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except zipfile.BadZipFile:
        raise UserError(f"{archive} is not a valid zip archive; delete it and run again") from None
    return added


def download_corpus(data_dir: Path, url: str = CORPUS_URL, md5: str | None = CORPUS_MD5) -> int:
    """Fetch the corpus zip into data_dir, check its md5, extract it safely, delete the zip."""
    data_dir.mkdir(parents=True, exist_ok=True)
    archive = data_dir / (Path(urlparse(url).path).name or "corpus.zip")
    if not archive.exists():
        fetch_url(url, archive)
    digest = file_md5(archive)
    if md5 and digest != md5:
        archive.unlink()
        raise UserError(f"{archive.name}: md5 {digest} differs from the expected {md5}; the download "
                        f"was deleted, run again (or check --corpus-url)")
    added = safe_extract(archive, data_dir)
    archive.unlink()
    log.info("downloaded %s and extracted %d files into %s", archive.name, added, data_dir)
    return added


# ---------------------------------------------------------------------------------- main
def prepare(recordings: list[Recording], config: FeatureConfig, split: str, val_fraction: float,
            test_fraction: float, rng: np.random.Generator, jobs: int = JOBS):
    """Features, labels, splits and manifest rows of the usable recordings, plus those skipped."""
    results = map_with_progress(functools.partial(try_file_features, config=config), [r.path for r in recordings], jobs)
    usable, vectors, skipped = [], [], []
    for recording, (vector, reason) in zip(recordings, results):
        if vector is None:
            log.warning("skipped %s", reason)
            skipped.append({"path": str(recording.path), "reason": reason.removeprefix(f"{recording.path}: ")})
        else:
            usable.append(recording)
            vectors.append(vector)
    if not usable:
        raise UserError(f"none of the {len(recordings)} files could be used (see the warnings above)")
    if split == "actor":
        by_actor = split_by_actor(usable, val_fraction, test_fraction, rng)
        splits = [by_actor[r.actor] for r in usable]
    else:
        splits = split_random(usable, val_fraction, test_fraction, rng)
    arrays, manifest = {}, []
    for name in SPLITS:
        rows = [i for i, s in enumerate(splits) if s == name]
        arrays[f"X_{name}"] = np.stack([vectors[i] for i in rows]).astype(np.float32)
        arrays[f"y_{name}"] = np.array([usable[i].emotion for i in rows], dtype=np.int64)
        manifest += [{"path": str(usable[i].path.resolve()), "split": name, "actor": usable[i].actor,
                      "gender": usable[i].gender, "emotion": LABELS[usable[i].emotion],
                      "intensity": usable[i].intensity, "statement": usable[i].statement,
                      "repetition": usable[i].repetition} for i in rows]
    return arrays, manifest, skipped


def setup_logging(verbose: bool = False) -> None:
    """One line per message; warnings and errors say so."""

    class Format(logging.Formatter):
        def format(self, record):
            message = super().format(record)
            return message if record.levelno == logging.INFO else f"{record.levelname.lower()}: {message}"

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Format("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=Path(DATA_DIR), help="folder searched for RAVDESS WAVs")
    p.add_argument("--out-dir", type=Path, default=Path(OUT_DIR), help="where arrays and metadata go")
    p.add_argument("--channel", choices=sorted(CHANNELS), default=CHANNEL, help="vocal channel to use")
    p.add_argument("--features", choices=FEATURE_SETS, default=FEATURES,
                   help="full: MFCC-family statistics over the speech; mfcc_mean: fast MFCC-mean baseline")
    p.add_argument("--sample-rate", type=int, default=SAMPLE_RATE)
    p.add_argument("--n-mfcc", type=int, default=N_MFCC)
    p.add_argument("--n-mels", type=int, default=N_MELS)
    p.add_argument("--n-fft", type=int, default=N_FFT)
    p.add_argument("--hop-length", type=int, default=HOP_LENGTH)
    p.add_argument("--f0-min", type=float, default=F0_MIN)
    p.add_argument("--f0-max", type=float, default=F0_MAX)
    p.add_argument("--speech-top-db", type=float, default=SPEECH_TOP_DB)
    p.add_argument("--speech-floor-margin-db", type=float, default=SPEECH_FLOOR_MARGIN_DB)
    p.add_argument("--min-speech-seconds", type=float, default=MIN_SPEECH_SECONDS)
    p.add_argument("--split", choices=("actor", "random"), default=SPLIT,
                   help="actor: speaker-independent; random: stratified by emotion, leaks speakers")
    p.add_argument("--val-fraction", type=float, default=VAL_FRACTION)
    p.add_argument("--test-fraction", type=float, default=TEST_FRACTION)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--jobs", type=int, default=JOBS, help="worker processes (-1: all cores)")
    p.add_argument("--download", action="store_true", help="download the corpus if no WAVs are found")
    p.add_argument("--corpus-url", default=CORPUS_URL, help="where --download fetches the zip from")
    p.add_argument("--corpus-md5", default=CORPUS_MD5, help="expected md5 of that zip")
    p.add_argument("--force", action="store_true", help="recompute even if the output is up to date")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def feature_config_from_args(args: argparse.Namespace) -> FeatureConfig:
    return FeatureConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(FeatureConfig)
                            if f.name != "version"})


def run(args: argparse.Namespace) -> None:
    config = feature_config_from_args(args)
    rng = np.random.default_rng(args.seed)
    has_wavs = args.data_dir.is_dir() and any(RAVDESS_NAME.match(p.name) for p in files_under(args.data_dir))
    if args.download and not has_wavs:
        download_corpus(args.data_dir, args.corpus_url, args.corpus_md5)
    recordings, skipped = find_recordings(args.data_dir, args.channel)
    if not recordings:
        raise UserError(f"no RAVDESS WAVs under {args.data_dir} (expected Actor_XX/03-01-...wav; "
                        f"run with --download or see README)")
    actors = sorted({r.actor for r in recordings})
    log.info("found %d files from %d actors under %s, skipped %d", len(recordings), len(actors),
             args.data_dir, len(skipped))
    settings = {"feature_config": config.to_dict(), "split": args.split, "val_fraction": args.val_fraction,
                "test_fraction": args.test_fraction, "seed": args.seed, "channel": args.channel,
                "format_version": FORMAT_VERSION}
    fingerprint = inputs_fingerprint(recordings, settings)
    if not args.force and existing_output_matches(args.out_dir, fingerprint):
        log.info("%s is already made from these %d files with this config; reusing it (--force redoes it)",
                 args.out_dir, len(recordings))
        return
    arrays, manifest, unusable = prepare(recordings, config, args.split, args.val_fraction,
                                         args.test_fraction, rng, args.jobs)
    skipped += unusable
    counts = {s: int(len(arrays[f"y_{s}"])) for s in SPLITS}
    actors_per_split = {s: sorted({row["actor"] for row in manifest if row["split"] == s}) for s in SPLITS}
    meta = {
        "format_version": FORMAT_VERSION,
        "labels": list(LABELS),
        "feature_config": config.to_dict(),
        # computed by a worker process, which has librosa imported already, not by this one
        "feature_names": map_with_progress(feature_names, [config], args.jobs, desc="names")[0],
        "split": {"method": args.split, "val_fraction": args.val_fraction,
                  "test_fraction": args.test_fraction, "seed": args.seed, "actors": actors_per_split},
        "channel": args.channel,
        "counts": counts,
        "skipped": skipped,
        "data_dir": str(args.data_dir.resolve()),
        "versions": library_versions(),
        "fingerprint": fingerprint,
    }
    write_outputs(args.out_dir, arrays, manifest, meta)
    log.info("split %s: train %d files (actors %s), val %d (%s), test %d (%s)", args.split,
             counts["train"], actors_per_split["train"], counts["val"], actors_per_split["val"],
             counts["test"], actors_per_split["test"])
    log.info("wrote %d x %d features to %s, skipped %d files", sum(counts.values()),
             arrays["X_train"].shape[1], args.out_dir, len(skipped))


def run_reporting_errors(run_steps, args: argparse.Namespace) -> int:
    """Exit code of run_steps(args): a user mistake becomes one 'error:' line and 1, never a traceback."""
    try:
        run_steps(args)
    except UserError as err:
        log.error("%s", err)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; finished files in %s are unchanged", args.out_dir)
        return 130
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    return run_reporting_errors(run, args)


if __name__ == "__main__":
    # Run main from the importable module, not from __main__, so that worker processes unpickle
    # the feature functions by reference instead of receiving copies of them with every task.
    import data_preparation

    sys.exit(data_preparation.main())
