"""Augmentation transforms audiomentations lacks: a room, babble of other utterances, an MP3 round
trip, a phone line.

Each is an audiomentations transform (one effect, its arguments checked when built, parameters drawn
from `random`, which ser.augment seeds per file and thread: augment.ThreadRandom), so they compose
with audiomentations' own.
"""

from __future__ import annotations

import random

import numpy as np
from audiomentations.core.transforms_interface import BaseWaveformTransform

from ser import degradations
from ser.audio import resample
from ser.errors import require


def _check_range(name: str, low: float, high: float, floor: float | None = None):
    require(low <= high, f"{name} ({low}, {high}) must run from low to high")
    require(floor is None or low >= floor, f"{name} ({low}, {high}) must not go below {floor}")


class RoomReverb(BaseWaveformTransform):
    """The recording played in a synthetic room (degradations.room_impulse_response) of random
    reverberation time (s) and direct-to-reverberant ratio (dB)."""

    def __init__(self, min_rt60: float = 0.2, max_rt60: float = 1.0, min_direct_db: float = -6.0,
                 max_direct_db: float = 6.0, p: float = 0.5):
        super().__init__(p)
        _check_range("rt60", min_rt60, max_rt60, floor=0.01)
        _check_range("direct-to-reverberant dB", min_direct_db, max_direct_db)
        self.min_rt60, self.max_rt60 = min_rt60, max_rt60
        self.min_direct_db, self.max_direct_db = min_direct_db, max_direct_db

    def randomize_parameters(self, samples, sample_rate):
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters["rt60"] = random.uniform(self.min_rt60, self.max_rt60)
            self.parameters["direct_db"] = random.uniform(self.min_direct_db, self.max_direct_db)
            self.parameters["seed"] = random.getrandbits(32)

    def apply(self, samples, sample_rate):
        rng = np.random.default_rng(self.parameters["seed"])
        return degradations.reverberation(samples, sample_rate, self.parameters["rt60"], rng,
                                          self.parameters["direct_db"])


class Babble(BaseWaveformTransform):
    """Other voices talking over the recording: talkers (signals at the recording's rate: the same
    speaker's other recordings, never another speaker's, so that a file's copies stay within its
    speaker's split), each resampled by a random factor (another pitch, formants and tempo: another
    voice) and rolled to a random start, summed at a random SNR (dB, against the recording's power).
    Without talkers, min_talkers to max_talkers time-reversed copies of the recording itself serve
    (unintelligible, speech's spectrum and rhythm)."""

    def __init__(self, min_snr_db: float = 5.0, max_snr_db: float = 30.0, min_talkers: int = 3,
                 max_talkers: int = 6, max_voice_factor: float = 1.5, talkers: tuple = (), p: float = 0.5):
        super().__init__(p)
        _check_range("babble SNR dB", min_snr_db, max_snr_db)
        _check_range("babble talkers", min_talkers, max_talkers, floor=1)
        require(max_voice_factor >= 1, f"max_voice_factor {max_voice_factor} must be at least 1")
        self.min_snr_db, self.max_snr_db = min_snr_db, max_snr_db
        self.min_talkers, self.max_talkers = min_talkers, max_talkers
        self.max_voice_factor = max_voice_factor
        self.talkers = tuple(talkers)

    def randomize_parameters(self, samples, sample_rate):
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            talkers = len(self.talkers) or random.randint(self.min_talkers, self.max_talkers)
            self.parameters["snr_db"] = random.uniform(self.min_snr_db, self.max_snr_db)
            self.parameters["factors"] = [self.max_voice_factor ** random.uniform(-1, 1) for _ in range(talkers)]
            self.parameters["starts"] = [random.random() for _ in range(talkers)]

    def apply(self, samples, sample_rate):
        sources = self.talkers or [samples[::-1].copy()] * len(self.parameters["factors"])
        voices = []
        for source, factor, start in zip(sources, self.parameters["factors"], self.parameters["starts"]):
            voice = resample(np.asarray(source, dtype=np.float32), sample_rate, int(round(sample_rate * factor)))
            voices.append(np.roll(voice, int(start * len(voice))))
        return degradations.babble(samples, voices, self.parameters["snr_db"]).astype(np.float32)


class Mp3RoundTrip(BaseWaveformTransform):
    """Through an MP3 encoder (degradations.mp3, LAME via libsndfile) at a random constant bit rate
    (kbit/s; held within what the sample rate's MPEG version allows), and back."""

    def __init__(self, min_kbps: int = 16, max_kbps: int = 64, p: float = 0.5):
        super().__init__(p)
        _check_range("MP3 kbps", min_kbps, max_kbps, floor=8)
        self.min_kbps, self.max_kbps = min_kbps, max_kbps

    def randomize_parameters(self, samples, sample_rate):
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters["kbps"] = random.randint(self.min_kbps, self.max_kbps)

    def apply(self, samples, sample_rate):
        low, high = degradations.mp3_bitrates(sample_rate)
        kbps = min(max(self.parameters["kbps"], low), high)
        return degradations.mp3(samples, sample_rate, kbps).astype(np.float32)


class PhoneLine(BaseWaveformTransform):
    """Through a phone line (degradations.telephone: band-pass, 8 kHz, 8-bit mu-law) whose band edges
    (Hz) are drawn from [min_low_hz, max_low_hz] and [min_high_hz, max_high_hz]."""

    def __init__(self, min_low_hz: float = 200.0, max_low_hz: float = 400.0, min_high_hz: float = 3000.0,
                 max_high_hz: float = 3700.0, p: float = 0.5):
        super().__init__(p)
        _check_range("phone low edge Hz", min_low_hz, max_low_hz, floor=1.0)
        _check_range("phone high edge Hz", min_high_hz, max_high_hz, floor=max_low_hz + 1)
        require(max_high_hz < 4000, f"phone high edge {max_high_hz} Hz must stay below 4000 Hz (8 kHz sampling)")
        self.min_low_hz, self.max_low_hz = min_low_hz, max_low_hz
        self.min_high_hz, self.max_high_hz = min_high_hz, max_high_hz

    def randomize_parameters(self, samples, sample_rate):
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters["low_hz"] = random.uniform(self.min_low_hz, self.max_low_hz)
            self.parameters["high_hz"] = random.uniform(self.min_high_hz, self.max_high_hz)

    def apply(self, samples, sample_rate):
        return degradations.telephone(samples, sample_rate, self.parameters["low_hz"],
                                      self.parameters["high_hz"]).astype(np.float32)
