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


def samples_of(stream, rate: int, target_rate: int) -> Iterator[np.ndarray]:
    """Float32 blocks (n,) of mono audio at target_rate Hz from a binary stream, as they arrive: raw 16-bit
    little-endian mono PCM at rate Hz, or a 16-bit PCM WAV stream (its header gives the rate and channels,
    which are averaged). Scaled as soundfile reads PCM (sample / 32768); resampled as load_audio does (soxr
    HQ), in a stream. StreamError if the header is broken or the stream ends inside a sample (after the
    blocks before it)."""
    import soxr

    chunks, pending, channels = _chunks(stream), bytearray(), 1
    while len(pending) < 4 and (chunk := next(chunks, None)) is not None:  # enough to tell a WAV header
        pending += chunk
    if pending[:4] == b"RIFF":
        rate, channels = _wav_header(chunks, pending)
    if rate < 1:
        raise StreamError(f"rate {rate} Hz must be at least 1 (--rate)")
    frame = 2 * channels
    resampler = soxr.ResampleStream(rate, target_rate, 1, dtype="float32", quality="HQ") if rate != target_rate \
        else None
    for chunk in itertools.chain([b""], chunks):  # first what was read with the header
        pending += chunk
        whole = len(pending) // frame * frame
        if whole:
            samples = np.frombuffer(bytes(pending[:whole]), dtype="<i2").astype(np.float32) / 32768
            del pending[:whole]
            mono = samples.reshape(-1, channels).mean(axis=1, dtype=np.float32) if channels > 1 else samples
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
