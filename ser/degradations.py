"""Recording conditions the studio corpus lacks: noise, babble, telephone, room, MP3, level, clipping, EQ.

Each function takes a mono float32 signal (n_samples,) at sample_rate Hz and returns the degraded
signal, float32, of the same length; anything random draws from the generator it is given, so
the same seed gives the same copy. bench/robustness.py measures the model on them; they are also
what training-time augmentation would have to cover.
"""

from __future__ import annotations

import io

import numpy as np

from ser.audio import resample
from ser.errors import require


def _fit(signal: np.ndarray, n_samples: int) -> np.ndarray:
    """signal cut or padded with zeros to n_samples, as float32 (codecs and resamplers change lengths)."""
    return np.pad(signal[:n_samples], (0, max(0, n_samples - len(signal)))).astype(np.float32)


def power(signal: np.ndarray) -> float:
    """Mean square of signal (its power), as float64."""
    return float(np.mean(np.asarray(signal, dtype=np.float64) ** 2))


def add_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float,
               reference_power: float | None = None) -> np.ndarray:
    """signal plus noise (n_samples,) scaled so that reference_power / noise power = snr_db.

    reference_power is the speech's power (e.g. over its speech span), the signal's own by default."""
    require(len(noise) == len(signal), f"noise has {len(noise)} samples, the signal {len(signal)}")
    reference = power(signal) if reference_power is None else reference_power
    gain = np.sqrt(reference / max(power(noise), 1e-20) / 10 ** (snr_db / 10))
    return (signal + gain * noise).astype(np.float32)


def white_noise(signal: np.ndarray, snr_db: float, rng: np.random.Generator,
                reference_power: float | None = None) -> np.ndarray:
    """Gaussian white noise at snr_db below the speech's power."""
    return add_at_snr(signal, rng.standard_normal(len(signal)), snr_db, reference_power)


def babble(signal: np.ndarray, talkers: list[np.ndarray], snr_db: float,
           reference_power: float | None = None) -> np.ndarray:
    """Other voices at snr_db: the talkers' signals (each scaled to unit power, repeated or cut to the
    signal's length) summed, then scaled like noise."""
    require(len(talkers) > 0, "babble needs at least one other talker")
    mixture = np.zeros(len(signal))
    for talker in talkers:
        talker = np.resize(np.asarray(talker, dtype=np.float64), len(signal))
        mixture += talker / np.sqrt(max(power(talker), 1e-20))
    return add_at_snr(signal, mixture, snr_db, reference_power)


def _biquad_shelf(kind: str, frequency: float, gain_db: float, sample_rate: int) -> np.ndarray:
    """Second-order section (1, 6) of a shelving filter (Audio EQ Cookbook, slope 1)."""
    a_gain = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * frequency / sample_rate
    alpha = np.sin(w0) / 2 * np.sqrt(2)
    cos, root = np.cos(w0), 2 * np.sqrt(a_gain) * alpha
    sign = 1 if kind == "low" else -1
    b = a_gain * np.array([(a_gain + 1) - sign * (a_gain - 1) * cos + root,
                           sign * 2 * ((a_gain - 1) - sign * (a_gain + 1) * cos),
                           (a_gain + 1) - sign * (a_gain - 1) * cos - root])
    a = np.array([(a_gain + 1) + sign * (a_gain - 1) * cos + root,
                  -sign * 2 * ((a_gain - 1) + sign * (a_gain + 1) * cos),
                  (a_gain + 1) + sign * (a_gain - 1) * cos - root])
    return np.concatenate([b, a]) / a[0]


def tilt_sections(sample_rate: int, low_hz: float = 500.0, low_db: float = 6.0, high_hz: float = 3000.0,
                  high_db: float = -6.0) -> np.ndarray:
    """(2, 6) second-order sections of a microphone tilt: a low shelf and a high shelf."""
    return np.stack([_biquad_shelf("low", low_hz, low_db, sample_rate),
                     _biquad_shelf("high", high_hz, high_db, sample_rate)])


def tilt(signal: np.ndarray, sample_rate: int, low_db: float = 6.0, high_db: float = -6.0) -> np.ndarray:
    """Another microphone's response: +low_db below 500 Hz, high_db above 3 kHz (shelving filters)."""
    from scipy.signal import sosfilt

    return sosfilt(tilt_sections(sample_rate, low_db=low_db, high_db=high_db), signal).astype(np.float32)


def telephone(signal: np.ndarray, sample_rate: int, low_hz: float = 300.0, high_hz: float = 3400.0) -> np.ndarray:
    """A phone line: band-pass low_hz-high_hz (300-3400 Hz), 8 kHz sampling, 8-bit mu-law, back to sample_rate."""
    from scipy.signal import butter, sosfilt

    require(0 < low_hz < high_hz < 4000, f"telephone band {low_hz}-{high_hz} Hz must lie within 0-4000 Hz")
    band = butter(4, [low_hz, high_hz], btype="bandpass", fs=sample_rate, output="sos")
    narrow = resample(sosfilt(band, signal), sample_rate, 8000)
    mu = 255.0
    peak = max(float(np.abs(narrow).max()), 1e-9)
    x = np.clip(narrow / peak, -1, 1)
    code = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127) / 127  # 8 bits
    decoded = np.sign(code) * np.expm1(np.abs(code) * np.log1p(mu)) / mu * peak
    return _fit(resample(decoded.astype(np.float32), 8000, sample_rate), len(signal))


def room_impulse_response(sample_rate: int, rt60: float, rng: np.random.Generator,
                          direct_to_reverberant_db: float = 0.0) -> np.ndarray:
    """A synthetic room (n_taps,): the direct sound, then an exponentially decaying noise tail whose
    energy falls 60 dB in rt60 seconds (Schroeder's statistical model), lasting 1.5 x rt60."""
    require(rt60 > 0, f"rt60 {rt60} s must be above 0")
    t = np.arange(int(1.5 * rt60 * sample_rate)) / sample_rate
    tail = rng.standard_normal(len(t)) * np.exp(-3 * np.log(10) * t / rt60)
    tail[: int(0.0025 * sample_rate)] = 0  # the first reflections arrive a few ms after the direct sound
    tail *= np.sqrt(10 ** (-direct_to_reverberant_db / 10) / np.sum(tail ** 2))
    tail[0] = 1.0
    return tail


def reverberation(signal: np.ndarray, sample_rate: int, rt60: float, rng: np.random.Generator,
                  direct_to_reverberant_db: float = 0.0) -> np.ndarray:
    """The signal played in a room with the given reverberation time (s), cut to its length."""
    from scipy.signal import fftconvolve

    room = room_impulse_response(sample_rate, rt60, rng, direct_to_reverberant_db)
    wet = fftconvolve(signal, room)[: len(signal)]
    return (wet * np.sqrt(power(signal) / max(power(wet), 1e-20))).astype(np.float32)


def mp3_bitrates(sample_rate: int) -> tuple[int, int]:
    """(lowest, highest) constant bit rate in kbit/s of the MPEG version that codes this sample rate."""
    return (8, 64) if sample_rate <= 12000 else (8, 160) if sample_rate <= 24000 else (32, 320)


def mp3_bytes(signal: np.ndarray, sample_rate: int, kbps: int = 32) -> bytes:
    """The signal as an MP3 file (LAME via libsndfile) at a constant kbps."""
    import soundfile as sf

    # libsndfile maps compression level 0..1 linearly onto the bit rates of the sample rate's MPEG version
    low, high = mp3_bitrates(sample_rate)
    require(low <= kbps <= high, f"kbps {kbps} must be {low} to {high} at {sample_rate} Hz")
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(signal, -1, 1), sample_rate, format="MP3", subtype="MPEG_LAYER_III",
             bitrate_mode="CONSTANT", compression_level=min((high - kbps) / (high - low), 0.999))  # 1.0 is refused
    return buffer.getvalue()


def mp3(signal: np.ndarray, sample_rate: int, kbps: int = 32) -> np.ndarray:
    """Through an MP3 encoder at a constant kbps and back (mp3_bytes, decoded by libsndfile)."""
    import soundfile as sf

    decoded, _ = sf.read(io.BytesIO(mp3_bytes(signal, sample_rate, kbps)), dtype="float32")
    return _fit(decoded, len(signal))


def gain(signal: np.ndarray, db: float) -> np.ndarray:
    """The signal db louder (negative: quieter)."""
    return (signal * 10 ** (db / 20)).astype(np.float32)


def clipped(signal: np.ndarray, db: float = 20.0) -> np.ndarray:
    """The signal db louder, clipped to [-1, 1] like an overdriven input."""
    return np.clip(gain(signal, db), -1, 1).astype(np.float32)
