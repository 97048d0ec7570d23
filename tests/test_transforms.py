"""ser.transforms: each transform does what it says, reproducibly under the global seed, arguments checked."""

import random

import numpy as np
import pytest
from scipy.signal import correlate

from conftest import speech_like
from ser import degradations, transforms
from ser.audio import resample
from ser.errors import ConfigError

SR = 16000


def seeded(transform, signal, seed=0, sample_rate=SR):
    random.seed(seed)
    np.random.seed(seed)
    return transform(signal, sample_rate)


def test_room_reverb_draws_its_room_and_is_reproducible():
    clean = speech_like(sr=SR)
    room = transforms.RoomReverb(0.4, 0.9, -3.0, 3.0, p=1.0)
    wet = seeded(room, clean)
    assert 0.4 <= room.parameters["rt60"] <= 0.9 and -3 <= room.parameters["direct_db"] <= 3
    assert len(wet) == len(clean) and wet.dtype == np.float32 and np.corrcoef(wet, clean)[0, 1] < 0.95
    np.testing.assert_array_equal(wet, seeded(room, clean))
    assert not np.array_equal(wet, seeded(room, clean, seed=1))


@pytest.mark.parametrize("snr", [5.0, 15.0])
def test_babble_without_talkers_is_made_of_the_recording_at_the_requested_snr(snr):
    clean = speech_like(seconds=2.0, sr=SR)
    babble = transforms.Babble(snr, snr, min_talkers=4, max_talkers=4, max_voice_factor=1.3, p=1.0)
    noisy = seeded(babble, clean)
    added = noisy - clean
    assert abs(10 * np.log10(degradations.power(clean) / degradations.power(added)) - snr) < 0.5
    assert len(babble.parameters["factors"]) == 4
    assert all(1 / 1.3 <= f <= 1.3 for f in babble.parameters["factors"])
    assert abs(np.corrcoef(added, clean)[0, 1]) < 0.5  # other "talkers", not the recording made louder


def test_babble_of_talkers_is_made_of_them_in_other_voices():
    clean = speech_like(seconds=2.0, sr=SR, f0=140)
    talkers = [speech_like(seconds=1.5, sr=SR, f0=f0, seed=i) for i, f0 in enumerate((110, 220))]
    babble = transforms.Babble(10.0, 10.0, max_voice_factor=1.5, talkers=talkers, p=1.0)
    added = seeded(babble, clean) - clean
    assert len(babble.parameters["factors"]) == 2 and all(1 / 1.5 <= f <= 1.5 for f in babble.parameters["factors"])
    assert abs(10 * np.log10(degradations.power(clean) / degradations.power(added)) - 10) < 0.5
    voices = [np.roll(resample(t, SR, int(round(SR * f))), int(s * len(resample(t, SR, int(round(SR * f))))))
              for t, f, s in zip(talkers, babble.parameters["factors"], babble.parameters["starts"])]
    expected = degradations.babble(clean, voices, 10.0) - clean
    np.testing.assert_allclose(added, expected, atol=1e-5)


def test_mp3_round_trip_keeps_length_and_sound():
    clean = speech_like(seconds=2.0, sr=SR)
    coded = seeded(transforms.Mp3RoundTrip(24, 24, p=1.0), clean)
    assert len(coded) == len(clean) and coded.dtype == np.float32
    assert not np.array_equal(coded, clean)
    lag = int(np.argmax(correlate(coded, clean))) - (len(clean) - 1)  # the decoder may add LAME's delay
    assert 0 <= lag < 2000 and np.corrcoef(coded[lag:], clean[:len(clean) - lag])[0, 1] > 0.99


def test_mp3_round_trip_keeps_to_the_bit_rates_of_the_sample_rate():
    """At 48 kHz MPEG-1 starts at 32 kbit/s: a drawn 16 is coded at 32 instead of failing mid-training."""
    clean = speech_like(seconds=1.0, sr=48000)
    coded = seeded(transforms.Mp3RoundTrip(16, 16, p=1.0), clean, sample_rate=48000)
    assert len(coded) == len(clean) and not np.array_equal(coded, clean)


def test_phone_line_draws_its_band_edges_and_cuts_outside_them():
    noise = (0.1 * np.random.default_rng(4).standard_normal(2 * SR)).astype(np.float32)
    line = transforms.PhoneLine(250.0, 350.0, 3100.0, 3300.0, p=1.0)
    phone = seeded(line, noise)
    assert 250 <= line.parameters["low_hz"] <= 350 and 3100 <= line.parameters["high_hz"] <= 3300
    assert len(phone) == len(noise) and phone.dtype == np.float32
    expected = degradations.telephone(noise, SR, line.parameters["low_hz"], line.parameters["high_hz"])
    np.testing.assert_allclose(phone, expected, atol=1e-6)
    np.testing.assert_array_equal(phone, seeded(line, noise))


def test_a_transform_that_does_not_apply_returns_its_input():
    clean = speech_like(sr=SR)
    for transform in (transforms.RoomReverb(p=0.0), transforms.Babble(p=0.0), transforms.Mp3RoundTrip(p=0.0),
                      transforms.PhoneLine(p=0.0)):
        np.testing.assert_array_equal(seeded(transform, clean), clean)


@pytest.mark.parametrize("build,message", [
    (lambda: transforms.RoomReverb(min_rt60=1.0, max_rt60=0.5), r"rt60 \(1.0, 0.5\)"),
    (lambda: transforms.RoomReverb(min_rt60=0.0, max_rt60=0.5), "must not go below 0.01"),
    (lambda: transforms.Babble(min_talkers=0, max_talkers=2), "talkers"),
    (lambda: transforms.Babble(max_voice_factor=0.5), "max_voice_factor 0.5"),
    (lambda: transforms.Mp3RoundTrip(4, 64), "MP3 kbps"),
    (lambda: transforms.PhoneLine(min_high_hz=3000, max_high_hz=4500), "below 4000 Hz"),
    (lambda: transforms.PhoneLine(min_low_hz=400, max_low_hz=300), r"phone low edge Hz \(400, 300\)"),
])
def test_arguments_are_checked_when_built(build, message):
    with pytest.raises(ConfigError, match=message):
        build()
