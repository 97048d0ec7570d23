"""Audio as it arrives: raw 16-bit PCM or a WAV stream on a pipe, cut into the windows of predict.py --segment.

`samples_of` turns the bytes of a stream into float32 blocks at the model's rate as they arrive;
`stream_windows` cuts those blocks into the windows `inference.windows_of` makes of the whole
recording, each yielded as soon as its last sample is in, so that a stream made from a file gives
the same windows (and results) as --segment on that file.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable, Iterator

import numpy as np

from ser import audio
from ser.errors import UserError

READ_BYTES = 1 << 14  # at most this much is read at a time (~0.5 s of 16 kHz audio): what has arrived is used
WAV_FORMATS = (1, 0xFFFE)  # PCM, WAVE_FORMAT_EXTENSIBLE


class StreamError(UserError):
    """A stream that cannot be audio: a broken WAV header, a sample cut in half at its end."""


def _chunks(stream, size: int = READ_BYTES) -> Iterator[bytes]:
    """The bytes of a binary stream as they arrive (read1: what is there, up to size), until it ends."""
    read = getattr(stream, "read1", stream.read)
    while chunk := read(size):
        yield chunk


def _exactly(chunks: Iterator[bytes], pending: bytearray, n: int, what: str) -> bytes:
    """The next n bytes of the stream (pending first, then chunks); StreamError naming `what` if it ends first."""
    while len(pending) < n:
        chunk = next(chunks, None)
        if chunk is None:
            raise StreamError(f"the stream ended inside its WAV header ({what}); send a whole WAV or raw 16-bit PCM "
                              f"(ffmpeg -i IN -f s16le -ac 1 -ar 16000 -)")
        pending += chunk
    head = bytes(pending[:n])
    del pending[:n]
    return head


def _wav_header(chunks: Iterator[bytes], pending: bytearray) -> tuple[int, int]:
    """(rate Hz, channels) of the WAV stream whose "RIFF" is at the start of pending; leaves pending at its data."""
    riff = _exactly(chunks, pending, 12, "RIFF")
    if riff[8:12] != b"WAVE":
        raise StreamError("the stream starts with RIFF but is not a WAVE file; send a WAV or raw 16-bit PCM")
    fmt = None
    while True:
        name, length = struct.unpack("<4sI", _exactly(chunks, pending, 8, "a chunk header"))
        if name == b"data":
            break
        body = _exactly(chunks, pending, length + (length & 1), name.decode("latin-1"))
        if name == b"fmt ":
            if length < 16:
                raise StreamError(f"the WAV stream's fmt chunk is {length} bytes, not 16 or more: a broken header")
            fmt = struct.unpack("<HHIIHH", body[:16])
    if fmt is None:
        raise StreamError("the WAV stream has no fmt chunk before its data: a broken header")
    audio_format, channels, rate, _, _, bits = fmt
    if audio_format not in WAV_FORMATS or bits != 16 or channels < 1 or rate < 1:
        raise StreamError(f"the WAV stream holds format {audio_format}, {bits}-bit, {channels} channel(s) at {rate} "
                          f"Hz; only 16-bit PCM streams are read (ffmpeg -i IN -f wav -acodec pcm_s16le -)")
    return rate, channels


class ChannelMixer:
    """Mono blocks of a multichannel stream, block by block, mixed as audio.downmix mixes a file: each
    channel shifted onto the first by the lag (at most audio.MAX_CHANNEL_LAG_SECONDS) that best aligns
    them, then averaged, so that two microphones a fraction of a millisecond apart do not comb-filter.
    The lag is that of the normalised cross-correlation of everything so far (loud speech outweighs the
    quiet before it); the output runs the largest lag behind the input, until the last block."""

    def __init__(self, channels: int, rate: int):
        self.max_lag = int(audio.MAX_CHANNEL_LAG_SECONDS * rate)
        self.lags = np.r_[0:self.max_lag + 1, -self.max_lag:0]  # in this order: where all tie (silence), lag 0
        self.correlation = np.zeros((channels - 1, 2 * self.max_lag + 1))  # lags -max..max, channel 1, 2, ...
        self.energy = np.zeros((channels - 1, 2 * self.max_lag + 1))  # of each channel shifted by each lag
        self.reference_energy = 0.0
        self.frames = np.zeros((0, channels), np.float32)  # frames[0] is frame `offset` of the stream
        self.offset = self.emitted = 0  # frames before `emitted` are mixed, and correlated with every lag

    def add(self, frames: np.ndarray, last: bool = False) -> np.ndarray:
        """The mono samples (n,) that frames (n_frames, channels) complete; with last, all that are left."""
        self.frames = np.concatenate([self.frames, frames])
        total = self.offset + len(self.frames)
        end = total if last else max(total - self.max_lag, self.emitted)
        padded = np.pad(self.frames.astype(np.float64), ((self.max_lag, self.max_lag), (0, 0)))
        first = self.emitted - self.offset + self.max_lag  # frame `emitted` in padded
        reference = padded[first:first + end - self.emitted, 0]
        if len(reference):  # each lag over the same new reference frames
            shifted = padded[first - self.max_lag:first + end - self.emitted + self.max_lag, 1:]
            self.correlation += [np.correlate(channel, reference, mode="valid") for channel in shifted.T]
            self.energy += [np.correlate(channel ** 2, np.ones_like(reference), mode="valid") for channel in shifted.T]
            self.reference_energy += reference @ reference
        # normalised (1 at the lag of an exact copy, even while the level rises, as at the start of speech)
        similarity = self.correlation / np.sqrt(np.maximum(self.energy * self.reference_energy, 1e-30))
        shifts = [0] + [int(self.lags[np.argmax(row[self.lags + self.max_lag])]) for row in similarity]
        mixed = np.zeros(end - self.emitted, np.float32)
        for c, shift in enumerate(shifts):  # channel c at time t + shift is the first channel at time t
            index = np.arange(self.emitted, end) + shift - self.offset
            inside = (index >= 0) & (index < len(self.frames))
            mixed[inside] += self.frames[index[inside], c]
        keep = max(end - self.max_lag, 0)  # the first frame a later output can still need
        self.frames, self.offset, self.emitted = self.frames[keep - self.offset:], keep, end
        return mixed / len(shifts)


def samples_of(stream, rate: int, target_rate: int) -> Iterator[np.ndarray]:
    """Float32 blocks (n,) of mono audio at target_rate Hz from a binary stream, as they arrive: raw 16-bit
    little-endian mono PCM at rate Hz, or a 16-bit PCM WAV stream (its header gives the rate and channels,
    which are aligned and averaged: ChannelMixer). Scaled as soundfile reads PCM (sample / 32768);
    resampled as load_audio does (soxr HQ), in a stream. StreamError if the header is broken or the stream
    ends inside a sample (after the blocks before it)."""
    import soxr

    chunks, pending, channels = _chunks(stream), bytearray(), 1
    while len(pending) < 4 and (chunk := next(chunks, None)) is not None:  # enough to tell a WAV header
        pending += chunk
    if pending[:4] == b"RIFF":
        rate, channels = _wav_header(chunks, pending)
    if rate < 1:
        raise StreamError(f"rate {rate} Hz must be at least 1 (--rate)")
    frame, mixer = 2 * channels, ChannelMixer(channels, rate) if channels > 1 else None
    resampler = soxr.ResampleStream(rate, target_rate, 1, dtype="float32", quality="HQ") if rate != target_rate \
        else None
    for chunk in itertools.chain([b""], chunks):  # first what was read with the header
        pending += chunk
        whole = len(pending) // frame * frame
        if whole:
            samples = np.frombuffer(bytes(pending[:whole]), dtype="<i2").astype(np.float32) / 32768
            del pending[:whole]
            mono = samples if mixer is None else mixer.add(samples.reshape(-1, channels))
            yield mono if resampler is None else resampler.resample_chunk(mono)
    if mixer is not None:
        mono = mixer.add(np.zeros((0, channels), np.float32), last=True)
        yield mono if resampler is None else resampler.resample_chunk(mono)
    if resampler is not None:
        yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)
    if pending:
        raise StreamError(f"the stream ended {len(pending)} byte(s) into a {frame}-byte sample frame: not whole "
                          f"16-bit samples (was it 16-bit PCM? ffmpeg -f s16le); the windows before it stand")


def stream_windows(blocks: Iterable[np.ndarray], size: int, hop: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start, samples) of each window of size samples every hop samples over the concatenated blocks,
    yielded as soon as complete; when the blocks end, the tail window of inference.windows_of (the last
    size samples, if the last full window missed some; all of them if fewer than size arrived)."""
    buffer, offset, next_start, total = np.zeros(0, np.float32), 0, 0, 0  # buffer[0] is sample `offset`
    for block in blocks:
        buffer, total = np.concatenate([buffer, block]), total + len(block)
        while next_start + size <= total:
            yield next_start, buffer[next_start - offset:next_start - offset + size]
            next_start += hop
        keep = max(min(next_start, total - size), offset)  # what a later window (or the tail) still needs
        buffer, offset = buffer[keep - offset:], keep
    if 0 < total < size:  # shorter than one window: all of it, as windows_of does
        yield 0, buffer
    elif total >= size and next_start - hop + size < total:  # the tail the last full window missed
        yield total - size, buffer[total - size - offset:]
