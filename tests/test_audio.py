"""ser.audio: any rate, depth and channel count, read as mono float32 at the configured rate."""

import re

import numpy as np
import pytest

from conftest import FEATURE_CONFIG as CONFIG
from conftest import speech_like, write_wav
from ser import audio, features


@pytest.mark.parametrize("sr,subtype,channels", [(48000, "PCM_16", 1), (16000, "PCM_16", 1),
                                                 (48000, "PCM_24", 1), (44100, "FLOAT", 1),
                                                 (48000, "PCM_16", 2), (22050, "PCM_32", 2)])
def test_load_audio_gives_mono_at_the_configured_rate(tmp_path, sr, subtype, channels):
    signal = speech_like(seconds=1.0, sr=sr, pad=0.2)
    data = np.stack([signal, signal], axis=1) if channels == 2 else signal
    path = write_wav(tmp_path / "x.wav", data, sr, subtype)
    loaded = audio.load_audio(path, 16000)
    assert loaded.ndim == 1 and loaded.dtype == np.float32
    assert abs(len(loaded) - round(len(signal) * 16000 / sr)) <= 1
    reference = audio.load_audio(write_wav(tmp_path / "ref.wav", signal, sr, "FLOAT"), 16000)
    assert np.abs(loaded - reference).max() < 1e-3


def test_stereo_downmix_gives_the_same_features_as_mono(tmp_path):
    signal = speech_like()
    mono = features.file_features(write_wav(tmp_path / "m.wav", signal), CONFIG)
    stereo = features.file_features(write_wav(tmp_path / "s.wav", np.stack([signal, signal], 1)), CONFIG)
    np.testing.assert_allclose(mono, stereo, rtol=1e-4, atol=1e-4)


def test_unreadable_and_empty_files_are_named(tmp_path):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not audio at all" * 10)
    with pytest.raises(audio.AudioError, match=f"{garbage}: unreadable"):
        audio.load_audio(garbage, 16000)
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(audio.AudioError, match=f"{empty}: empty"):
        audio.load_audio(empty, 16000)
    nothing = tmp_path / "nothing.wav"  # a recording that was never saved: 0 bytes, not even a header
    nothing.touch()
    for read in (lambda: audio.load_audio(nothing, 16000), lambda: list(audio.audio_blocks(nothing, 16000))):
        with pytest.raises(audio.AudioError, match=re.escape(f"{nothing}: empty file (0 bytes; was the recording saved?)")):
            read()


@pytest.mark.parametrize("offset", [20, -7, 0])
def test_two_microphones_apart_are_aligned_before_they_are_mixed(tmp_path, offset):
    """A pair 20 samples (0.4 ms) apart would comb-filter (a notch at 1.2 kHz) if simply averaged."""
    from scipy.signal import welch

    mono = speech_like(seconds=1.5, sr=48000)
    delayed = np.roll(mono, offset)  # the padding is near-silent, so the wrap-around does not matter
    stereo = write_wav(tmp_path / "pair.wav", np.stack([mono, delayed], axis=1), 48000, "FLOAT")
    reference = write_wav(tmp_path / "mono.wav", mono, 48000, "FLOAT")
    assert audio.channel_lag(delayed.astype(np.float64), mono.astype(np.float64), 96) == offset
    mixed, alone = audio.load_audio(stereo, 48000), audio.load_audio(reference, 48000)
    assert np.abs(mixed - alone).max() < 1e-3
    freqs, mixed_psd = welch(mixed, fs=48000, nperseg=4096)
    _, alone_psd = welch(alone, fs=48000, nperseg=4096)
    notch = (freqs > 1000) & (freqs < 1400)
    assert abs(10 * np.log10(mixed_psd[notch].sum() / alone_psd[notch].sum())) < 0.5


@pytest.mark.parametrize("rate", [48000, 16000])
@pytest.mark.parametrize("bad,reason", [(np.nan, "contains NaN or infinite samples"),
                                        (np.inf, "contains NaN or infinite samples"),
                                        (1e20, "samples reach 1e+20, far outside -1..1")])
def test_float_files_with_non_finite_or_absurd_samples_are_named(tmp_path, rate, bad, reason):
    signal = speech_like(sr=rate)
    signal[1000:1010] = bad
    path = write_wav(tmp_path / "bad.wav", signal, rate, "FLOAT")
    with pytest.raises(audio.AudioError, match=re.escape(f"{path}: {reason}")):
        audio.load_audio(path, 16000)
    vector, message = features.try_file_features(path, CONFIG)  # what preparation does per file
    assert vector is None and reason in message


def test_a_truncated_wav_is_named_but_still_read(tmp_path, caplog):
    whole = write_wav(tmp_path / "whole.wav", speech_like(seconds=1.0, sr=16000), 16000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:20000])  # the header still promises the whole second
    assert audio.truncation(whole) is None and audio.truncation(tmp_path / "missing.wav") is None
    assert audio.truncation(cut) == f"truncated: it holds {20000 - 44} of the {whole.stat().st_size - 44} bytes " \
                                    f"of audio its header promises"
    audio.warn_truncated([whole, cut])
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [str(cut)]
    assert len(audio.load_audio(cut, 16000)) == (20000 - 44) // 2


@pytest.mark.parametrize("sr,channels", [(16000, 1), (44100, 1), (48000, 1), (48000, 2)])
def test_audio_blocks_join_into_load_audio_s_samples(tmp_path, sr, channels):
    """Read in blocks (long recordings) or whole, a file gives the same samples: the resampler streams."""
    signal = np.concatenate([speech_like(sr=sr, seed=k) for k in range(3)])
    path = write_wav(tmp_path / "long.wav", np.stack([signal] * channels, axis=1) if channels > 1 else signal, sr)
    blocks = list(audio.audio_blocks(path, 16000, block_seconds=0.37))
    assert len(blocks) > 10
    np.testing.assert_array_equal(np.concatenate(blocks), audio.load_audio(path, 16000))


def test_audio_blocks_name_a_file_with_bad_samples_in_a_later_block(tmp_path):
    signal = speech_like(sr=16000)
    signal[-100] = np.nan
    path = write_wav(tmp_path / "late_nan.wav", signal, 16000, "FLOAT")
    blocks = audio.audio_blocks(path, 16000, block_seconds=0.5)
    assert next(blocks).size == 8000  # the first block is audio
    with pytest.raises(audio.AudioError, match=re.escape(f"{path}: contains NaN")):
        list(blocks)
    with pytest.raises(audio.AudioError, match="unreadable"):
        list(audio.audio_blocks(tmp_path / "missing.wav", 16000))
