"""ser.features: one name per value, deterministic, level- and padding-independent, config checked."""

import dataclasses

import numpy as np
import pytest

from conftest import FEATURE_CONFIG as CONFIG
from conftest import bad_files, coloured_noise, speech_like, write_wav
from ser import degradations, features
from ser.audio import load_audio
from ser.errors import ConfigError, UserError


@pytest.mark.parametrize("kind", ["corrupt", "empty", "silent", "short", "nan", "huge"])
def test_unusable_files_give_a_reason_that_names_the_file(tmp_path, kind):
    path, reason = bad_files(tmp_path)[kind]
    vector, message = features.try_file_features(path, CONFIG)
    assert vector is None
    assert str(path) in message and reason in message


def test_noise_without_speech_is_silent_but_quiet_speech_is_not(tmp_path):
    noise = np.random.default_rng(0).standard_normal(48000).astype(np.float32) * 0.01
    assert "silent" in features.try_file_features(write_wav(tmp_path / "n.wav", noise), CONFIG)[1]
    quiet = write_wav(tmp_path / "q.wav", speech_like() * 0.01)
    assert features.try_file_features(quiet, CONFIG)[0] is not None


def test_features_have_one_name_each_and_are_deterministic():
    signal = speech_like(sr=16000)
    first = features.extract_features(signal, 16000, CONFIG)
    names = features.feature_names(CONFIG)
    assert first.shape == (len(names),) and len(set(names)) == len(names)
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, features.extract_features(signal, 16000, CONFIG))


def test_features_ignore_recording_level_and_silence_padding():
    signal = speech_like(sr=16000, pad=0.3)
    base = features.extract_features(signal, 16000, CONFIG)
    quieter = features.extract_features(signal * 0.05, 16000, CONFIG)
    padded = features.extract_features(np.concatenate([np.zeros(32000, np.float32), signal,
                                                 np.zeros(16000, np.float32)]), 16000, CONFIG)
    scale = np.abs(base) + 1
    assert np.max(np.abs(quieter - base) / scale) < 0.05
    assert np.max(np.abs(padded - base) / scale) < 0.05


def test_features_follow_the_config():
    signal = speech_like(sr=16000)
    baseline = dataclasses.replace(CONFIG, features="mfcc_mean", n_mfcc=20)
    assert features.extract_features(signal, 16000, baseline).shape == (20,)
    assert features.feature_names(baseline) == [f"mfcc_mean{i}" for i in range(20)]
    at_48k = features.extract_features(speech_like(sr=48000), 48000, CONFIG)  # resampled to 16 kHz inside
    at_16k = features.extract_features(signal, 16000, CONFIG)
    mfcc_means = [i for i, name in enumerate(features.feature_names(CONFIG)) if name.startswith("mfcc_mean")]
    assert np.max(np.abs(at_48k - at_16k)[mfcc_means] / (np.abs(at_16k[mfcc_means]) + 1)) < 0.1


def test_harmonicity_is_high_for_a_steady_vowel_and_low_for_noise():
    sr, hop, frame_length = 16000, 320, 1024
    t = np.arange(sr) / sr
    vowel = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8))
    noise = np.random.default_rng(0).normal(size=sr)
    frames = np.arange(5, 40)
    f0 = np.full(50, 150.0)
    assert features._harmonicity_db(vowel, f0, frames, frame_length, hop, sr).min() > 15
    assert features._harmonicity_db(noise, f0, frames, frame_length, hop, sr).max() < 0


def test_feature_config_from_another_version_is_rejected():
    values = CONFIG.to_dict() | {"n_chroma": 12}
    with pytest.raises(UserError, match="another feature config"):
        features.FeatureConfig.from_dict(values)
    assert features.FeatureConfig.from_dict(CONFIG.to_dict()) == CONFIG
    with pytest.raises(UserError, match="version"):  # made by older feature code
        features.FeatureConfig.from_dict(CONFIG.to_dict() | {"version": features.FEATURE_VERSION - 1})


@pytest.mark.parametrize("change,message", [
    ({"f0_min": 600.0}, "f0_min 600.0 to f0_max 500.0"), ({"f0_min": 10.0}, "f0_min 10.0 Hz is too low for n_fft 512"),
    ({"n_mfcc": 80}, "n_mfcc 80 must be 1 to n_mels"), ({"hop_length": 0}, "hop_length 0"),
    ({"features": "wavelets"}, "features 'wavelets'"), ({"min_speech_seconds": -1.0}, "min_speech_seconds -1.0"),
    ({"sample_rate": 4000}, "sample_rate 4000")])
def test_feature_config_names_the_bad_value(change, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(CONFIG, **change)


def test_frames_and_blocks_follow_the_vector_order():
    signal = speech_like(sr=16000)
    blocks = features._feature_blocks(signal, 16000, CONFIG)
    start, end = features.speech_span(signal, CONFIG)
    speech = signal[start:end] / np.sqrt(np.mean(signal[start:end] ** 2))
    frames = features.frames_of(speech, CONFIG)
    assert frames.mfcc.shape == (CONFIG.n_mfcc, len(frames.rms_db)) and frames.band_power.shape[0] == 8
    groups = (features.mfcc_blocks(frames) + features.spectrum_blocks(frames) + features.energy_blocks(frames)
              + features.voice_blocks(frames) + features.contour_blocks(frames, CONFIG)
              + features.rhythm_blocks(frames))
    assert [name for name, _ in groups] == [name for name, _ in blocks]
    assert [name for name, _ in blocks][:2] == ["mfcc_mean", "mfcc_std"] and blocks[-1][0] == "log_speech_seconds"


def with_noise_floor(signal: np.ndarray, below_db: float, seed: int = 0) -> np.ndarray:
    """signal plus steady white noise whose level is below_db under the loudest 32 ms frame of signal."""
    import librosa

    from ser import degradations

    loudest = float(librosa.feature.rms(y=signal, frame_length=CONFIG.n_fft, hop_length=CONFIG.hop_length).max())
    return degradations.white_noise(signal, below_db, np.random.default_rng(seed), loudest ** 2)


def test_speech_with_a_noise_floor_5_db_under_it_is_found_but_noise_alone_is_not():
    speech = speech_like(sr=16000)
    noisy = with_noise_floor(speech, 5.0)
    start, end = features.speech_span(noisy, CONFIG)
    assert 0.5 * 16000 <= start < end <= 2.0 * 16000 and (end - start) / 16000 >= CONFIG.min_speech_seconds
    assert np.isfinite(features.extract_features(noisy, 16000, CONFIG)).all()
    noise_alone = noisy - speech  # the same floor without the voice
    with pytest.raises(features.AudioError, match="silent"):
        features.extract_features(noise_alone, 16000, CONFIG)


def test_a_real_sentence_in_noise_5_db_under_it_is_not_rejected(mini_dir, tmp_path):
    from ser import audio

    path = mini_dir / "Actor_03" / "03-01-03-02-01-01-03.wav"  # happy, strong
    noisy = with_noise_floor(audio.load_audio(path, 16000), 5.0)
    vector, reason = features.try_file_features(write_wav(tmp_path / path.name, noisy, 16000, "FLOAT"), CONFIG)
    assert reason is None and np.isfinite(vector).all()


@pytest.mark.parametrize("exponent", [0, 1, 2])
def test_steady_noise_of_any_colour_alone_is_not_speech(exponent):
    """White noise alone is caught by the span's contrast; pink and brown noise's broadband level swings more
    than 4 dB with their low frequencies, and is caught by the speech band's contrast instead."""
    noise = coloured_noise(exponent, seed=2)  # pink seed 2 and brown: taken for speech before the speech band
    assert features.speech_band_contrast_db(noise, CONFIG) < features.MIN_SPEECH_BAND_CONTRAST_DB
    with pytest.raises(features.AudioError, match="silent|no speech found"):
        features.extract_features(noise, 16000, CONFIG)


@pytest.mark.parametrize("exponent", [1, 2])
def test_a_real_sentence_under_pink_or_brown_noise_as_loud_as_it_is_found(mini_dir, exponent):
    speech = load_audio(mini_dir / "Actor_02" / "03-01-01-01-01-01-02.wav", 16000)  # a neutral sentence
    start, end = features.speech_span(speech, CONFIG)
    noise = coloured_noise(exponent, seconds=len(speech) / 16000, seed=exponent)
    noisy = degradations.add_at_snr(speech, noise, 0.0, degradations.power(speech[start:end]))  # 0 dB SNR
    assert features.speech_band_contrast_db(noisy, CONFIG) >= features.MIN_SPEECH_BAND_CONTRAST_DB
    assert np.isfinite(features.extract_features(noisy.astype(np.float32), 16000, CONFIG)).all()


@pytest.mark.parametrize("rate, band_hz, tolerance", [
    (22050, None, 0.01), (44100, None, 0.01), (48000, None, 0.01),
    (8000, 3500, 0.02), (11025, 3500, 0.02), (44100, 3500, 0.02),  # 8 kHz: 0.016, in the spectral contrast
])
def test_features_do_not_depend_on_the_file_sample_rate(rate, band_hz, tolerance):
    """The same audio stored at another rate gives the features of its 16 kHz copy. A file at 8 kHz holds
    nothing above 4 kHz, so it is compared on audio with nothing above band_hz (a phone line's band): the rate
    alone moves no feature, only what the band holds."""
    from ser import audio

    studio = speech_like(sr=48000)
    if band_hz:
        spectrum = np.fft.rfft(studio)
        spectrum[np.fft.rfftfreq(len(studio), 1 / 48000) > band_hz] = 0
        studio = np.fft.irfft(spectrum, n=len(studio)).astype(np.float32)
    at_16k = features.extract_features(audio.resample(studio, 48000, 16000), 16000, CONFIG)
    at_rate = features.extract_features(audio.resample(studio, 48000, rate), rate, CONFIG)
    assert np.max(np.abs(at_rate - at_16k) / (np.abs(at_16k) + 1)) < tolerance


def test_a_clip_shorter_than_the_minimum_is_too_short_not_silent():
    clip = speech_like(seconds=0.05, sr=16000, pad=0.0) * 3
    with pytest.raises(features.AudioError, match=r"too short \(0.05 s, need 0.25 s of sound\)"):
        features.extract_features(clip, 16000, CONFIG)


def test_features_that_come_out_non_finite_are_refused(monkeypatch):
    blocks = features._feature_blocks

    def with_a_nan(signal, sr, config):
        named = blocks(signal, sr, config)
        name, values = named[3]
        named[3] = (name, np.full_like(values, np.nan))
        return named

    monkeypatch.setattr(features, "_feature_blocks", with_a_nan)
    name = with_a_nan(speech_like(sr=16000), 16000, CONFIG)[3][0]
    with pytest.raises(features.AudioError, match=f"its {name} features came out NaN or infinite"):
        features.extract_features(speech_like(sr=16000), 16000, CONFIG)


def test_steady_noise_subtraction_takes_out_a_hiss_and_leaves_a_clean_recording_alone():
    clean = speech_like(sr=16000, pad=0.5)
    hiss = degradations.white_noise(clean, 15.0, np.random.default_rng(5))
    off = dataclasses.replace(CONFIG, noise_subtraction_db=0.0)
    np.testing.assert_array_equal(features.subtract_steady_noise(hiss, off), hiss)
    cleaned = features.subtract_steady_noise(hiss, CONFIG)
    assert len(cleaned) == len(hiss) and cleaned.dtype == np.float32
    pause = slice(1000, 7000)  # within the leading pad: the hiss alone
    assert degradations.power(cleaned[pause]) < degradations.power(hiss[pause]) / 10 ** (6 / 10)  # >= 6 dB less
    voice = slice(8000 + 4000, 8000 + 20000)
    assert np.corrcoef(cleaned[voice], clean[voice])[0, 1] > np.corrcoef(hiss[voice], clean[voice])[0, 1]
    untouched = features.subtract_steady_noise(clean, CONFIG)  # pauses near digital silence: little to take out
    assert degradations.power(untouched[voice] - clean[voice]) < degradations.power(clean[voice]) * 1e-3


def test_pause_fraction_is_the_share_of_the_sound_outside_the_speech_whatever_the_padding():
    t = np.arange(24000) / 16000
    voice = 0.1 * sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12))  # 1.5 s, steady
    quiet = 1e-4 * np.random.default_rng(0).standard_normal(8000)  # 0.5 s of room tone
    with_pauses = np.concatenate([quiet, voice, quiet]).astype(np.float32)
    assert features.pause_fraction(with_pauses, CONFIG) == pytest.approx(0.4, abs=0.03)  # the span: frames of 32 ms
    assert features.pause_fraction(with_pauses[4000:-4000], CONFIG) == pytest.approx(0.25, abs=0.03)  # halved
    padded = np.pad(with_pauses, 8000)  # digital silence is not a pause
    assert features.pause_fraction(padded, CONFIG) == pytest.approx(features.pause_fraction(with_pauses, CONFIG),
                                                                     abs=0.02)
    assert features.pause_fraction(np.zeros(16000, np.float32), CONFIG) == 0.0


def test_steady_noise_moves_the_features_of_real_speech_less_with_the_subtraction(mini_dir, prepared_mini):
    """In units of the features' spread over the mini corpus (X_train of the prepared arrays)."""
    spread = np.load(prepared_mini / "X_train.npy").std(axis=0) + 1e-6
    off = dataclasses.replace(CONFIG, noise_subtraction_db=0.0)
    rng = np.random.default_rng(6)
    moved = {CONFIG: [], off: []}
    for path in sorted(mini_dir.rglob("*.wav"))[::8][:4]:
        speech = load_audio(path, 16000)
        hissed = degradations.white_noise(speech, 15.0, rng)
        for config in moved:
            change = features.extract_features(hissed, 16000, config) - features.extract_features(speech, 16000, config)
            moved[config].append(np.mean(np.abs(change) / spread))
    assert np.mean(moved[CONFIG]) < 0.9 * np.mean(moved[off])


def test_noise_subtraction_depth_is_checked():
    with pytest.raises(ConfigError, match="noise_subtraction_db -1"):
        dataclasses.replace(CONFIG, noise_subtraction_db=-1.0)
