"""ser.degradations: each condition does what it says (SNR, band limits, RT60, bit rate, EQ, level)."""

import numpy as np
import pytest

from conftest import speech_like
from ser import degradations
from ser.errors import ConfigError

SR = 16000


def snr_db(clean: np.ndarray, degraded: np.ndarray) -> float:
    return 10 * np.log10(degradations.power(clean) / degradations.power(degraded - clean))


@pytest.mark.parametrize("target", [20.0, 10.0, 5.0])
def test_white_noise_and_babble_reach_the_requested_snr(target):
    clean = speech_like(sr=SR)
    noisy = degradations.white_noise(clean, target, np.random.default_rng(0))
    assert abs(snr_db(clean, noisy) - target) < 0.5 and noisy.dtype == np.float32 and len(noisy) == len(clean)
    np.testing.assert_array_equal(noisy, degradations.white_noise(clean, target, np.random.default_rng(0)))
    talkers = [speech_like(seconds=1.0, sr=SR, f0=f0, seed=i) for i, f0 in enumerate((110, 190, 240))]
    assert abs(snr_db(clean, degradations.babble(clean, talkers, target)) - target) < 0.5
    speech_power = degradations.power(clean) * 4  # e.g. the power over the speech span only
    louder_noise = degradations.white_noise(clean, target, np.random.default_rng(0), speech_power)
    assert abs(10 * np.log10(speech_power / degradations.power(louder_noise - clean)) - target) < 0.5


def band_level_db(signal: np.ndarray, low: float, high: float) -> float:
    from scipy.signal import welch

    freqs, density = welch(signal, fs=SR, nperseg=1024)
    return 10 * np.log10(density[(freqs >= low) & (freqs < high)].mean())


def test_telephone_keeps_300_to_3400_hz():
    noise = (0.1 * np.random.default_rng(1).standard_normal(2 * SR)).astype(np.float32)
    phone = degradations.telephone(noise, SR)
    assert len(phone) == len(noise)
    passband = band_level_db(phone, 500, 3000)
    assert passband - band_level_db(phone, 50, 150) > 20 and passband - band_level_db(phone, 4200, 7500) > 20
    assert abs(passband - band_level_db(noise, 500, 3000)) < 3
    narrow = degradations.telephone(noise, SR, low_hz=600, high_hz=2000)  # another line's band edges
    assert band_level_db(narrow, 1000, 1600) - band_level_db(narrow, 2600, 3400) > 15
    assert band_level_db(narrow, 1000, 1600) - band_level_db(narrow, 200, 350) > 15
    with pytest.raises(ConfigError, match="4000 Hz"):
        degradations.telephone(noise, SR, low_hz=300, high_hz=5000)


def test_room_impulse_response_decays_in_the_requested_time():
    for rt60 in (0.3, 0.5, 0.8):
        response = degradations.room_impulse_response(SR, rt60, np.random.default_rng(2))
        decay = 10 * np.log10(np.cumsum(response[::-1] ** 2)[::-1] / np.sum(response ** 2))  # Schroeder
        t5, t25 = (np.argmax(decay <= level) / SR for level in (-5, -25))
        assert abs(3 * (t25 - t5) - rt60) < 0.2 * rt60  # T20, extrapolated to 60 dB
    clean = speech_like(sr=SR)
    wet = degradations.reverberation(clean, SR, 0.5, np.random.default_rng(3))
    assert len(wet) == len(clean) and abs(degradations.power(wet) / degradations.power(clean) - 1) < 1e-3
    assert np.corrcoef(wet, clean)[0, 1] < 0.95  # audibly changed


def test_mp3_runs_at_the_requested_bit_rate():
    clean = speech_like(seconds=8.0, sr=SR, pad=1.0)
    for kbps in (8, 32):  # 8: the lowest rate at 16 kHz, which libsndfile refuses as compression level 1.0
        encoded = degradations.mp3_bytes(clean, SR, kbps)
        assert abs(len(encoded) * 8 / (len(clean) / SR) / 1000 - kbps) < 3
    decoded = degradations.mp3(clean, SR, 32)
    assert len(decoded) == len(clean) and not np.array_equal(decoded, clean)
    assert abs(10 * np.log10(degradations.power(decoded) / degradations.power(clean))) < 1


def test_tilt_lifts_the_lows_and_cuts_the_highs_by_6_db():
    from scipy.signal import sosfreqz

    freqs, response = sosfreqz(degradations.tilt_sections(SR), worN=[100, 1200, 7000], fs=SR)
    np.testing.assert_allclose(20 * np.log10(np.abs(response)), [6, 0, -6], atol=1.5)
    noise = (0.1 * np.random.default_rng(4).standard_normal(2 * SR)).astype(np.float32)
    tilted = degradations.tilt(noise, SR)
    assert band_level_db(tilted, 50, 200) - band_level_db(noise, 50, 200) == pytest.approx(6, abs=1)


def test_level_and_clipping():
    clean = speech_like(sr=SR)
    quiet = degradations.gain(clean, -30)
    assert 10 * np.log10(degradations.power(quiet) / degradations.power(clean)) == pytest.approx(-30, abs=0.01)
    hot = degradations.clipped(clean, 20)
    assert np.abs(hot).max() == 1.0 and 0.01 < np.mean(np.abs(hot) == 1.0) < 0.5


@pytest.mark.parametrize("direct_db", [-6.0, 0.0, 6.0])
def test_room_direct_to_reverberant_ratio_is_the_requested_one(direct_db):
    response = degradations.room_impulse_response(SR, 0.5, np.random.default_rng(4), direct_db)
    assert abs(10 * np.log10(response[0] ** 2 / np.sum(response[1:] ** 2)) - direct_db) < 0.01
