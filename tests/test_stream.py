"""ser.stream: bytes arriving on a pipe as audio blocks, and the windows of --segment cut from them."""

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from conftest import speech_like
from ser import audio, inference, stream
from ser.errors import UserError


def blocks_of(data: bytes, size: int):
    """A stream that hands out data size bytes at a time, as a pipe does."""
    class Pipe(io.RawIOBase):
        def __init__(self):
            self.rest = data

        def readable(self):
            return True

        def read1(self, n=-1):
            piece, self.rest = self.rest[:min(n, size)], self.rest[min(n, size):]
            return piece

    return Pipe()


@pytest.mark.parametrize("n", [0, 5, 99, 100, 101, 149, 150, 151, 333, 1000])
@pytest.mark.parametrize("block", [1, 7, 64, 5000])
def test_windows_of_a_stream_are_the_windows_of_the_whole_signal(n, block):
    signal = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    size, hop = inference.window_size_hop(100, 1.0, 0.5)
    got = list(stream.stream_windows((signal[i:i + block] for i in range(0, n, block)), size, hop))
    assert [(start, start + len(w)) for start, w in got] == (inference.windows_of(n, 100, 1.0, 0.5) if n else [])
    for start, window in got:
        np.testing.assert_array_equal(window, signal[start:start + len(window)])


def pcm() -> np.ndarray:
    return np.round(np.random.default_rng(0).standard_normal(4000) * 3000).astype("<i2")


@pytest.mark.parametrize("read_size", [1, 3, 1000, 1 << 20])
def test_raw_pcm_and_a_wav_stream_read_as_soundfile_reads_the_file(read_size):
    samples = pcm()
    raw = np.concatenate(list(stream.samples_of(blocks_of(samples.tobytes(), read_size), 16000, 16000)))
    wav = io.BytesIO()
    sf.write(wav, samples, 16000, format="WAV", subtype="PCM_16")
    from_wav = np.concatenate(list(stream.samples_of(blocks_of(wav.getvalue(), read_size), 8000, 16000)))
    expected = sf.read(io.BytesIO(wav.getvalue()), dtype="float32")[0]
    np.testing.assert_array_equal(raw, expected)
    np.testing.assert_array_equal(from_wav, expected)  # the header's rate, not the raw --rate


def test_a_stereo_wav_stream_is_averaged_and_another_rate_resampled():
    tone = np.round(8000 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)).astype("<i2")  # 1 s at 48 kHz
    wav = io.BytesIO()
    sf.write(wav, np.stack([tone, tone // 2], axis=1), 48000, format="WAV", subtype="PCM_16")
    mono = np.concatenate(list(stream.samples_of(blocks_of(wav.getvalue(), 512), 16000, 16000)))
    assert abs(len(mono) - 16000) <= 2  # resampled to 16 kHz, whatever the blocks
    expected = 0.75 * 8000 / 32768 / np.sqrt(2)  # the mean of the two channels
    assert np.sqrt(np.mean(mono[1000:-1000] ** 2)) == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("offset", [20, -7, 0])
def test_two_microphones_apart_are_aligned_before_they_are_mixed_as_a_file_is(offset):
    """A pair 20 samples (0.4 ms) apart would comb-filter if simply averaged; the stream, whatever its blocks, gives
    the samples audio.downmix gives for the whole file."""
    mono = speech_like(seconds=1.5, sr=48000)
    pair = np.round(32767 * np.stack([mono, np.roll(mono, offset)], axis=1)).astype("<i2")
    wav = io.BytesIO()
    sf.write(wav, pair, 48000, format="WAV", subtype="PCM_16")
    whole = audio.downmix(sf.read(io.BytesIO(wav.getvalue()), dtype="float32")[0], 48000)
    for read_size in (401, 4000, 1 << 22):  # partial frames, blocks of about 0.02 s, all at once
        mixed = np.concatenate(list(stream.samples_of(blocks_of(wav.getvalue(), read_size), 16000, 48000)))
        assert len(mixed) == len(whole)
        np.testing.assert_allclose(mixed, whole, atol=1e-6)
    error = np.abs(whole - pair[:, 0] / 32768)[abs(offset):len(whole) - abs(offset)]
    assert error.max() < 1e-3  # aligned: the mix is the first microphone's signal, not a comb-filtered one


def test_a_mixer_waits_only_for_the_lag_it_may_need():
    mixer = stream.ChannelMixer(2, 16000)  # at most 32 samples (2 ms) apart
    frames = np.random.default_rng(0).standard_normal((100, 2)).astype(np.float32)
    assert len(mixer.add(frames)) == 100 - 32
    assert len(mixer.add(frames[:10])) == 10
    assert len(mixer.add(frames[:0], last=True)) == 32


def test_a_stream_cut_inside_a_sample_yields_what_came_before_then_fails():
    blocks = stream.samples_of(blocks_of(pcm().tobytes() + b"\x01", 100), 16000, 16000)
    received = []
    with pytest.raises(stream.StreamError, match="ended 1 byte"):
        for block in blocks:
            received.append(block)
    assert sum(map(len, received)) == 4000


@pytest.mark.parametrize("data,words", [
    (b"RIFF\x10\x00\x00\x00WAVE", "ended inside its WAV header"),
    (b"RIFF\x10\x00\x00\x00AVI LIST", "not a WAVE file"),
    (b"RIFF\x10\x00\x00\x00WAVEdata\x00\x00\x00\x00", "no fmt chunk"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + struct.pack("<HHIIHH", 1, 1, 16000, 48000, 3, 24)
     + b"data\x00\x00\x00\x00", "24-bit")])
def test_a_broken_wav_header_is_a_user_error(data, words):
    with pytest.raises(UserError, match=words):
        list(stream.samples_of(io.BytesIO(data), 16000, 16000))
