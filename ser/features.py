"""The one feature function of the project, `extract_features`: a signal -> a vector of 1934 numbers.

Preparation, training-time augmentation and prediction all call it, with the FeatureConfig that
is saved next to the arrays and the model, so the three can never silently disagree. With
features="full" the speech span is found, the recording's steady noise subtracted, the span scaled
to unit RMS, described every 10 ms (`frames_of`) and summarised by the functionals of
ser.functionals, group by group (`*_blocks` below, in the order of the vector); "mfcc_mean" is
the tutorial baseline, the mean of the MFCCs over the clip.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np

from ser.audio import AudioError, load_audio, resample
from ser.errors import require, require_same_config
from ser.functionals import contour_shape, modulation_db, pooled, thirds

FEATURE_VERSION = 7  # bump when extract_features changes: old arrays, caches and models are then refused
#                      (5: speech found in noise closer than the margin; stereo channels aligned before mixing;
#                       6: the recording's steady noise subtracted from the spectrum; peak heights bounded;
#                       7: a flat band's envelope modulation is equal shares, not its rounding noise)
FEATURE_SETS = ("full", "mfcc_mean")
MIN_SILENT_PEAK = 1e-4  # -80 dBFS: a signal whose loudest sample is quieter than this is silent
MIN_SPEECH_CONTRAST_DB = 4.0  # loudest frame over the noise floor below which a recording is noise alone
SPEECH_BAND_HZ = (300.0, 4000.0)  # where syllables carry their energy
MIN_SPEECH_BAND_CONTRAST_DB = 4.0  # speech_band_contrast_db below which a recording is steady noise alone (white,
#   pink or brown noise alone: 1.9-3.0 dB from 1 s to 5 min; a synthetic sentence with a noise floor 5 dB under its
#   loudest frame: 4.5-5.8; RAVDESS sentences in white or pink noise at 0 dB SNR: 6.1 and up)
VOICED_RELATIVE_DB = -30  # pitch frames quieter than this (re the loudest frame) count as unvoiced
NOISE_FRAMES_PERCENT = 10  # the quietest frames (%) whose mean spectrum estimates the recording's steady noise
OVER_SUBTRACTION = 2.0  # that estimate is subtracted this many times over (Berouti et al. 1979)


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Everything that decides the feature vector; saved with the arrays and with the model.

    The defaults are data_preparation.py's constants (one flag each); the values are checked here."""

    features: str  # one of FEATURE_SETS
    sample_rate: int  # Hz
    n_mfcc: int
    n_mels: int
    n_fft: int  # samples
    hop_length: int  # samples
    f0_min: float  # Hz
    f0_max: float  # Hz
    speech_top_db: float  # dB below the loudest frame
    speech_floor_margin_db: float  # dB above the noise floor
    min_speech_seconds: float
    noise_subtraction_db: float  # steady noise subtracted from the spectrum, at most this deep (dB); 0: off
    version: int = FEATURE_VERSION

    def __post_init__(self):
        require(self.features in FEATURE_SETS, f"features {self.features!r} is not one of {FEATURE_SETS}")
        require(self.sample_rate >= 8000, f"sample_rate {self.sample_rate} Hz is below 8000 Hz (--sample-rate)")
        require(1 <= self.n_mfcc <= self.n_mels, f"n_mfcc {self.n_mfcc} must be 1 to n_mels ({self.n_mels})")
        require(self.n_mels >= 8, f"n_mels {self.n_mels} must be at least 8 (--n-mels)")
        require(1 <= self.hop_length <= self.n_fft,
                f"hop_length {self.hop_length} must be 1 to n_fft ({self.n_fft}) samples (--hop-length, --n-fft)")
        require(0 < self.f0_min < self.f0_max <= self.sample_rate / 2,
                f"the pitch range f0_min {self.f0_min} to f0_max {self.f0_max} Hz must be increasing, above 0 "
                f"and at most half the sample rate (--f0-min, --f0-max)")
        require(self.sample_rate / self.f0_min < 2 * self.n_fft - 1,
                f"f0_min {self.f0_min} Hz is too low for n_fft {self.n_fft}: one pitch period must fit in "
                f"{2 * self.n_fft} samples; raise --f0-min above {self.sample_rate / (2 * self.n_fft - 1):.1f} "
                f"or --n-fft")
        require(self.speech_top_db > 0 and self.speech_floor_margin_db >= 0,
                f"speech_top_db {self.speech_top_db} must be above 0 and speech_floor_margin_db "
                f"{self.speech_floor_margin_db} at least 0 dB")
        require(self.min_speech_seconds >= 0, f"min_speech_seconds {self.min_speech_seconds} is negative")
        require(self.noise_subtraction_db >= 0,
                f"noise_subtraction_db {self.noise_subtraction_db} must be at least 0 (0: off; --noise-subtraction-db)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict, source: str = "meta.json") -> "FeatureConfig":
        require_same_config(cls, values, FEATURE_VERSION, "feature config", source, "rerun data_preparation.py")
        return cls(**values)


def _span(active: np.ndarray, n_samples: int, config: FeatureConfig) -> tuple[int, int]:
    """(start, end) samples from the first to the last active frame of active (n_frames,) bool; (0, 0) if none."""
    frames = np.flatnonzero(active)
    if frames.size == 0:
        return 0, 0
    return int(frames[0] * config.hop_length), int(min(n_samples, frames[-1] * config.hop_length + config.n_fft))


def speech_span(signal: np.ndarray, config: FeatureConfig) -> tuple[int, int]:
    """(start, end) sample indices of the sound between the leading and trailing silence.

    A frame counts as sound when it is both within speech_top_db of the loudest frame and
    speech_floor_margin_db above the noise floor (10th percentile of frame levels), so the decision
    follows the recording's own noise, not an absolute level. Where that finds less than
    min_speech_seconds because the floor is closer to the speech than the margin (a noisy room),
    a frame counts as sound when it is above the midpoint between the floor and the loudest frame,
    if these are at least MIN_SPEECH_CONTRAST_DB apart (steady noise alone is not).
    """
    import librosa

    rms = librosa.feature.rms(y=signal, frame_length=config.n_fft, hop_length=config.hop_length)[0]
    level_db = 20 * np.log10(np.maximum(rms, 1e-10))
    floor = np.percentile(level_db, 10)
    start, end = _span(level_db >= max(level_db.max() - config.speech_top_db, floor + config.speech_floor_margin_db),
                       len(signal), config)
    contrast = level_db.max() - floor
    if (end - start) / config.sample_rate < config.min_speech_seconds and contrast >= MIN_SPEECH_CONTRAST_DB:
        start, end = _span(level_db >= floor + contrast / 2, len(signal), config)
    return start, end


def pause_fraction(signal: np.ndarray, config: FeatureConfig) -> float:
    """Share (0-1) of signal (n_samples,), between its leading and trailing digital silence, that lies outside
    its speech_span: the pauses before and after the speech. RAVDESS's files hold about a second of quiet on
    either side (a median 0.45 of the recording; EmoDB's, 0.07); one cut to its speech almost none."""
    first, last = sound_bounds(signal)
    if last == first:
        return 0.0
    start, end = speech_span(signal, config)
    return 1.0 - max(0, min(end, last) - max(start, first)) / (last - first)


def sound_bounds(signal: np.ndarray) -> tuple[int, int]:
    """(start, end) samples of signal (n_samples,) between its leading and trailing digital silence (padding);
    (0, 0) if every sample is 0."""
    sound = np.flatnonzero(signal)
    return (int(sound[0]), int(sound[-1]) + 1) if sound.size else (0, 0)


def sound_spectrum(signal: np.ndarray, config: FeatureConfig) -> tuple[int, int, np.ndarray]:
    """(start, end, STFT (1 + n_fft // 2, n_frames) complex) of signal (n_samples,) between its leading and trailing
    digital silence (padding), samples start:end; (0, 0, no frames) if every sample is 0. Computed once per
    signal for speech_band_contrast_db and subtract_steady_noise."""
    import librosa

    start, end = sound_bounds(signal)
    if end == start:
        return 0, 0, np.zeros((1 + config.n_fft // 2, 0), np.complex64)
    return start, end, librosa.stft(signal[start:end], n_fft=config.n_fft, hop_length=config.hop_length)


def speech_band_contrast_db(signal: np.ndarray, config: FeatureConfig, sound: tuple | None = None) -> float:
    """How far the level of signal (n_samples,) moves where speech has its energy: dB between its loudest frame and
    the 10th percentile of its frames, each frame's level the sum over SPEECH_BAND_HZ of each bin's power over that
    bin's median (over sound, signal's sound_spectrum). Syllables and pauses move it tens of dB; steady noise of
    any colour about 2 dB, as every bin counts alike (pink or brown noise's broadband level, what speech_span
    measures, swings with the few bins of its low frequencies)."""
    import librosa

    _, _, spectrum = sound if sound is not None else sound_spectrum(signal, config)
    if spectrum.shape[1] == 0:
        return 0.0
    freqs = librosa.fft_frequencies(sr=config.sample_rate, n_fft=config.n_fft)
    band = np.abs(spectrum[(freqs >= SPEECH_BAND_HZ[0]) & (freqs < SPEECH_BAND_HZ[1])]) ** 2
    level_db = 10 * np.log10((band / (np.median(band, axis=1, keepdims=True) + 1e-20)).sum(axis=0) + 1e-20)
    return float(level_db.max() - np.percentile(level_db, 10))


def subtract_steady_noise(signal: np.ndarray, config: FeatureConfig, sound: tuple | None = None) -> np.ndarray:
    """signal (n_samples,) with its steady noise taken out of the spectrum (power spectral subtraction).

    The noise is the mean power spectrum of the quietest NOISE_FRAMES_PERCENT of the frames (the
    pauses, in a recording with any), subtracted OVER_SUBTRACTION times over, each bin attenuated by
    at most noise_subtraction_db: a fan or a hiss moves the descriptors much less, while a studio
    recording, whose pauses are near digital silence, is left almost as it was. Leading and trailing
    digital silence (padding) is left out of the estimate and returned as it was; sound is signal's
    sound_spectrum, if already computed."""
    import librosa

    if config.noise_subtraction_db == 0:
        return signal
    start, end, spectrum = sound if sound is not None else sound_spectrum(signal, config)
    if end == start:
        return signal
    power = np.abs(spectrum) ** 2
    energy = power.sum(axis=0)
    noise = power[:, energy <= np.percentile(energy, NOISE_FRAMES_PERCENT)].mean(axis=1, keepdims=True)
    gain = np.maximum(1 - OVER_SUBTRACTION * noise / np.maximum(power, 1e-20),
                      10 ** (-config.noise_subtraction_db / 10))
    cleaned = signal.astype(np.float32)  # a copy
    cleaned[start:end] = librosa.istft(spectrum * np.sqrt(gain), hop_length=config.hop_length, length=end - start)
    return cleaned


# ---------------------------------------------------------------------------------- frame descriptors
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



@dataclasses.dataclass(frozen=True)
class Frames:
    """Low-level descriptors of one utterance: columns are 10 ms frames (n_frames) unless noted.

    Pitch is estimated every other frame (n_pitch frames); voiced_frames/unvoiced_frames fall back
    to `sound` when fewer than 3 frames qualify, so that every statistic is defined."""

    seconds: float  # length of the signal
    frames_per_second: float
    mel_db: np.ndarray  # (n_mels, n_frames) log-mel power, dB
    mfcc: np.ndarray  # (n_mfcc, n_frames)
    delta: np.ndarray  # (n_mfcc, n_frames) first and second derivative of the MFCCs
    delta2: np.ndarray
    mel_delta: np.ndarray  # (n_mels, n_frames)
    spectral: np.ndarray  # (10, n_frames) log centroid/bandwidth/roll-off, log flatness, contrast 1-5, ZCR
    spectral_balance: np.ndarray  # (4, n_frames) flux, alpha ratio, Hammarberg index, slope (dB/kHz)
    chroma: np.ndarray  # (12, n_frames)
    band_power: np.ndarray  # (8, n_frames) power of 8 coarse mel bands
    rms_db: np.ndarray  # (n_frames,) level relative to the loudest frame, dB
    sound: np.ndarray  # (n_frames,) bool: frames within speech_top_db of the loudest
    onsets: np.ndarray  # frame indices of onsets
    voiced: np.ndarray  # (n_pitch,) bool
    semitones: np.ndarray  # (n_voiced,) pitch of the voiced pitch frames, semitones re 100 Hz
    voiced_frames: np.ndarray  # (n_frames,) bool
    unvoiced_frames: np.ndarray  # (n_frames,) bool: sound frames not voiced
    jitter: np.ndarray  # log relative period change between consecutive voiced pitch frames
    shimmer: np.ndarray  # level change (dB) between consecutive voiced pitch frames
    harmonicity: np.ndarray  # harmonics-to-noise ratio (dB) every 40 ms of voicing
    voiced_seconds: np.ndarray  # (n_segments,) length of each voiced segment


def _spectrum(signal: np.ndarray, config: FeatureConfig) -> dict[str, np.ndarray]:
    """The spectral descriptors of Frames, and the level and sound mask."""
    import librosa

    sr, n_fft, hop = config.sample_rate, config.n_fft, config.hop_length
    power = np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop)) ** 2
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    mel_db = librosa.power_to_db(_mel_filters(sr, n_fft, config.n_mels) @ power, ref=1.0, amin=1e-10)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=config.n_mfcc)
    width = min(9, mfcc.shape[1] - (1 - mfcc.shape[1] % 2))  # delta needs an odd width <= frames
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
    band_edges = np.linspace(0, config.n_mels, 9).astype(int)[:-1]  # 8 coarse bands of the mel spectrum
    return {
        "mel_db": mel_db, "mfcc": mfcc, "spectral": spectral, "spectral_balance": spectral_balance,
        "delta": librosa.feature.delta(mfcc, width=width, mode="nearest"),
        "delta2": librosa.feature.delta(mfcc, width=width, order=2, mode="nearest"),
        "mel_delta": librosa.feature.delta(mel_db, width=width, mode="nearest"),
        "chroma": librosa.util.normalize(_chroma_filters(sr, n_fft) @ power, norm=np.inf, axis=0),
        "band_power": np.add.reduceat(librosa.db_to_power(mel_db), band_edges, axis=0),  # with mel_db's 80 dB floor
        "rms_db": rms_db, "sound": sound,
        "onsets": librosa.onset.onset_detect(onset_envelope=librosa.onset.onset_strength(S=mel_db, sr=sr),
                                             sr=sr, hop_length=hop),
    }


def _voice(signal: np.ndarray, rms_db: np.ndarray, sound: np.ndarray, config: FeatureConfig) -> dict[str, np.ndarray]:
    """The pitch and voice-quality descriptors of Frames, given the level rms_db and sound mask (n_frames,)."""
    import librosa

    sr, n_fft, hop = config.sample_rate, config.n_fft, config.hop_length
    f0 = librosa.yin(signal, fmin=config.f0_min, fmax=config.f0_max, sr=sr, frame_length=2 * n_fft,
                     hop_length=2 * hop)  # pitch every other frame: yin is the costliest step
    f0 = f0[:len(rms_db[::2])]
    pitch_rms_db = rms_db[::2][:len(f0)]
    voiced = (pitch_rms_db > VOICED_RELATIVE_DB) & (f0 > config.f0_min * 1.05) & (f0 < config.f0_max * 0.95)
    n_frames = len(rms_db)
    voiced_frames = np.zeros(n_frames, dtype=bool)  # voicing at the 10 ms frame rate
    voiced_frames[:2 * len(voiced)] = np.repeat(voiced, 2)[:n_frames]
    unvoiced_frames = sound & ~voiced_frames
    # voice quality between consecutive voiced pitch frames: period jitter and level shimmer
    steady = voiced[1:] & voiced[:-1]
    period = 1 / f0
    edges = np.diff(np.r_[0, voiced.astype(int), 0])
    return {
        "voiced": voiced, "semitones": 12 * np.log2(f0[voiced] / 100.0),
        "voiced_frames": voiced_frames if voiced_frames.sum() >= 3 else sound,
        "unvoiced_frames": unvoiced_frames if unvoiced_frames.sum() >= 3 else sound,
        "jitter": np.log(np.abs(np.diff(period))[steady] / period[1:][steady] + 1e-4),
        "shimmer": np.abs(np.diff(pitch_rms_db))[steady],
        "harmonicity": _harmonicity_db(signal, f0, np.flatnonzero(voiced)[::2], 2 * n_fft, 2 * hop, sr),  # every 40 ms
        "voiced_seconds": (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)) * 2 * hop / sr,
    }


def frames_of(signal: np.ndarray, config: FeatureConfig) -> Frames:
    """The low-level descriptors of signal (already trimmed and level-normalised), at config.sample_rate."""
    spectrum = _spectrum(signal, config)
    voice = _voice(signal, spectrum["rms_db"], spectrum["sound"], config)
    return Frames(seconds=len(signal) / config.sample_rate, frames_per_second=config.sample_rate / config.hop_length,
                  **spectrum, **voice)


# ---------------------------------------------------------------------------------- statistics, group by group
SHAPE = ("mean", "std", "p10", "p50", "p90", "slope", "p25", "p75", "skew", "kurtosis", "range")
SPREAD = ("mean", "std", "p10", "p50", "p90")


def mfcc_blocks(f: Frames) -> list[tuple[str, np.ndarray]]:
    """MFCCs over the sound, voiced and unvoiced frames; their deltas."""
    return (pooled("mfcc", f.mfcc[:, f.sound], SHAPE)
            + pooled("mfcc_voiced", f.mfcc[:, f.voiced_frames], ("mean", "std"))
            + pooled("mfcc_unvoiced", f.mfcc[:, f.unvoiced_frames], ("mean", "std"))
            + pooled("mfcc_delta", f.delta[:, f.sound], ("std", "p10", "p90", "kurtosis"))
            + pooled("mfcc_delta_abs", np.abs(f.delta[:, f.sound]), ("mean",))
            + pooled("mfcc_delta2", f.delta2[:, f.sound], ("std",)))


def spectrum_blocks(f: Frames) -> list[tuple[str, np.ndarray]]:
    """Log-mel bands, spectral shape and balance over the sound; chroma over the voiced frames."""
    return (pooled("logmel", f.mel_db[:, f.sound], ("mean", "std", "p10", "p50", "p90", "slope", "skew"))
            + pooled("logmel_delta", f.mel_delta[:, f.sound], ("std",))
            + pooled("spectral", f.spectral[:, f.sound], SPREAD)
            + pooled("spectral_balance", f.spectral_balance[:, f.sound], SPREAD)
            + pooled("chroma", f.chroma[:, f.voiced_frames], ("mean", "std")))


def energy_blocks(f: Frames) -> list[tuple[str, np.ndarray]]:
    """Level over the sound, how fast it rises and falls, and the share of frames with sound."""
    level_change = np.diff(f.rms_db[f.sound])
    return (pooled("energy_db", f.rms_db[f.sound], ("mean", "std", "p10", "p50", "p90", "slope", "skew"))
            + pooled("energy_rise_db", np.maximum(level_change, 0), ("mean",))
            + pooled("energy_fall_db", np.maximum(-level_change, 0), ("mean",))
            + [("sound_fraction", np.array([f.sound.mean()]))])


def voice_blocks(f: Frames) -> list[tuple[str, np.ndarray]]:
    """Pitch (semitones) and its movement; jitter, shimmer and harmonicity of the voiced frames."""
    pitch_stats = ("mean", "std", "p10", "p50", "p90", "slope", "p25", "p75", "range", "skew")
    return (pooled("pitch_st", f.semitones, pitch_stats)
            + pooled("pitch_delta_abs_st", np.abs(np.diff(f.semitones)), ("mean",))
            + pooled("pitch_delta_st", np.diff(f.semitones), ("std", "p10", "p90"))
            + pooled("jitter_log", f.jitter, ("mean", "std"))
            + pooled("shimmer_db", f.shimmer, ("mean", "std"))
            + pooled("harmonicity_db", f.harmonicity, ("mean", "std", "p50")))


def contour_blocks(f: Frames, config: FeatureConfig) -> list[tuple[str, np.ndarray]]:
    """How energy, 8 coarse bands, MFCC 1-12, centroid/flux/alpha ratio and pitch move over the
    utterance (contour shape, thirds) and the bands' envelope modulation."""
    rate = f.frames_per_second
    band_db = 10 * np.log10(f.band_power + 1e-10)
    return (contour_shape("energy_db", f.rms_db, rate)
            + contour_shape("band_db", band_db, rate)
            + contour_shape(f"mfcc_1_{min(12, config.n_mfcc - 1)}", f.mfcc[1:13, f.sound], rate)
            + contour_shape("centroid_flux_alpha", np.vstack([f.spectral[0], f.spectral_balance[:2]])[:, f.sound], rate)
            + contour_shape("pitch_st", f.semitones, rate / 2)
            + thirds(f"mfcc_0_{min(20, config.n_mfcc) - 1}", f.mfcc[:20, f.sound])
            + thirds("energy_db", f.rms_db[f.sound])
            + thirds("pitch_st", f.semitones)
            + thirds("centroid", f.spectral[0, f.sound])
            + modulation_db("band_modulation", f.band_power, rate))


def rhythm_blocks(f: Frames) -> list[tuple[str, np.ndarray]]:
    """Voicing and onset rates, voiced segment lengths and the speech duration."""
    segments = f.voiced_seconds
    has_segments = len(segments) > 0
    return [("voiced_fraction", np.array([f.voiced.mean()])),
            ("voiced_segments_per_second", np.array([len(segments) / f.seconds])),
            ("voiced_segment_log_seconds", np.array([np.log(segments.mean() + 1e-3) if has_segments else 0.0])),
            ("voiced_segment_seconds_std", np.array([segments.std() if has_segments else 0.0])),
            ("onsets_per_second", np.array([len(f.onsets) / f.seconds])),
            ("log_speech_seconds", np.array([np.log(f.seconds)]))]


def full_feature_blocks(signal: np.ndarray, config: FeatureConfig) -> list[tuple[str, np.ndarray]]:
    """Named blocks of the "full" features of the speech in signal (trimmed, unit RMS), in vector order."""
    f = frames_of(signal, config)
    return (mfcc_blocks(f) + spectrum_blocks(f) + energy_blocks(f) + voice_blocks(f) + contour_blocks(f, config)
            + rhythm_blocks(f))


# ---------------------------------------------------------------------------------- the feature vector
def _feature_blocks(signal: np.ndarray, sr: int, config: FeatureConfig) -> list[tuple[str, np.ndarray]]:
    """Named blocks of the feature vector of signal at rate sr; AudioError if it holds no usable sound."""
    signal = resample(signal, sr, config.sample_rate)
    if signal.size == 0:
        raise AudioError("empty (no samples)")
    peak = float(np.abs(signal).max())
    if not np.isfinite(peak):
        raise AudioError("contains NaN or infinite samples")
    if peak < MIN_SILENT_PEAK:
        raise AudioError(f"silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS)")
    if config.features == "mfcc_mean":  # the tutorial baseline: whole clip, raw level
        import librosa

        mfcc = librosa.feature.mfcc(y=signal, sr=config.sample_rate, n_mfcc=config.n_mfcc,
                                    n_fft=config.n_fft, hop_length=config.hop_length, n_mels=config.n_mels)
        return pooled("mfcc", mfcc, ("mean",))
    if signal.size / config.sample_rate < config.min_speech_seconds:
        raise AudioError(f"too short ({signal.size / config.sample_rate:.2f} s, need {config.min_speech_seconds} s "
                         f"of sound)")
    start, end = speech_span(signal, config)
    seconds = (end - start) / config.sample_rate
    if end == start:
        raise AudioError("silent (no sound above the noise floor)")
    if seconds < config.min_speech_seconds:
        raise AudioError(f"too short ({seconds:.2f} s of sound, need {config.min_speech_seconds} s)")
    sound = sound_spectrum(signal, config)
    if (contrast := speech_band_contrast_db(signal, config, sound)) < MIN_SPEECH_BAND_CONTRAST_DB:
        raise AudioError(f"no speech found: its level moves only {contrast:.1f} dB in the speech band, as steady noise "
                         f"alone does (speech in it would be under the noise: record closer or somewhere quieter)")
    speech = subtract_steady_noise(signal, config, sound)[start:end]  # the span is found in the recording as it is
    speech = speech / (np.sqrt(np.mean(speech ** 2)) + 1e-10)  # unit RMS: level-independent features
    return full_feature_blocks(speech, config)


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS. extract_features runs it on one thread, wherever it is called (a
    worker, a Dask worker, the main process): OpenBLAS's sums change with its thread count on some CPUs, and the
    same file must give the same floats everywhere."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def extract_features(signal: np.ndarray, sr: int, config: FeatureConfig) -> np.ndarray:
    """Feature vector (n_features,) float32 of one mono signal (n_samples,) at rate sr Hz.

    The one feature function of the project: preparation, training-time augmentation and
    prediction all call it. Raises AudioError for empty, silent or too-short signals, and for a
    signal whose features come out NaN or infinite (never passed on to be trained on or classified).
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        blocks = _feature_blocks(signal, sr, config)
    vector = np.concatenate([values for _, values in blocks]).astype(np.float32)
    if not np.isfinite(vector).all():
        bad = [name for name, values in blocks if not np.isfinite(np.asarray(values, dtype=np.float32)).all()]
        raise AudioError(f"its {', '.join(bad)} features came out NaN or infinite (is it valid audio?)")
    return vector


def probe_signal(config: FeatureConfig) -> np.ndarray:
    """A synthetic voiced 1.5 s (n_samples,) at config.sample_rate: every feature is defined on it."""
    t = np.arange(int(1.5 * config.sample_rate)) / config.sample_rate
    probe = np.sin(2 * np.pi * 150 * t) * np.hanning(t.size) + 0.001 * np.cos(2 * np.pi * 3000 * t)
    return probe.astype(np.float32)


def feature_names(config: FeatureConfig) -> list[str]:
    """Name of each entry of extract_features' output, read off probe_signal."""
    return [f"{name}{i}" if len(values) > 1 else name
            for name, values in _feature_blocks(probe_signal(config), config.sample_rate, config)
            for i in range(len(values))]


def file_features(path: Path, config: FeatureConfig) -> np.ndarray:
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
