"""Augmented copies of the audio, as features: other voices and timings, and the same degraded.

Each training copy is stretched, pitch-shifted and shifted in time with config.probability each (another
voice and timing); each copy also has a degraded version, sent through one
channel (a room, a band limit, a microphone's tilt, an MP3 round trip, a phone line) and mixed with one noise
(white, coloured, or babble of the speaker's other recordings made other voices), which only
training uses, so that the model
learns the emotion rather than the studio. The channel ranges (CHANNEL_RANGES) are fixed here:
wide, drawn at random per copy, not tuned to bench/robustness.py's fixed conditions.

A file's training copies are seeded by its name, so they do not depend on the order of the files or
on the workers. The test-time copies are not drawn: every file, in training's evaluation and in
predict.py, gets the same grid of pitch and tempo (test_time_grid), so its answer depends on its sound
alone. The features are cached on disk per file content, feature config, augmentation config (and
seed, for the training copies).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import random
import sys
import threading
from pathlib import Path

import numpy as np

from ser.atomic import atomic_write, file_digest
from ser.audio import AudioError, load_audio
from ser.errors import UserError, require, require_same_config
from ser.features import FeatureConfig, extract_features
from ser.parallel import map_with_progress

log = logging.getLogger(__name__)

AUGMENT_VERSION = 4  # raise when the pipeline changes beyond its config: 2 added the degraded copies, 3 a phone
#                      line and babble of the speaker's other recordings, 4 copies made at REFERENCE_PEAK_DBFS
REFERENCE_PEAK_DBFS = -20.0  # every signal is scaled to this peak before its copies are made (RAVDESS' median
#                              peak), because the stretch and pitch shift do not act alike on a louder or quieter sound
CHANNEL_RANGES = {  # what a copy's channel may be, each range drawn uniformly
    "room_rt60_s": (0.2, 1.0),  # reverberation time of a synthetic room
    "room_direct_db": (-6.0, 6.0),  # direct-to-reverberant ratio
    "high_pass_hz": (50.0, 400.0),  # band limit: low cut, as a telephone or a small loudspeaker
    "low_pass_hz": (3000.0, 7500.0),  # band limit: high cut (3400 Hz: telephone)
    "low_shelf_hz": (100.0, 600.0),  # microphone tilt: bass shelf corner
    "high_shelf_hz": (2000.0, 5000.0),  # microphone tilt: treble shelf corner
    "shelf_db": (-9.0, 9.0),  # gain of each shelf
    "mp3_kbps": (16, 64),  # MP3 bit rate, kbit/s
    "phone_low_hz": (200.0, 400.0),  # phone line (8 kHz, mu-law): low band edge
    "phone_high_hz": (3000.0, 3700.0),  # phone line: high band edge
}
BABBLE_TALKERS = 4  # other recordings of the same speaker talking over a babble copy
BABBLE_VOICE_FACTOR = 1.5  # each resampled by up to this factor either way (pitch +-7 semitones): other voices


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """How augmented copies of audio are made; part of their cache key and of preprocessing.json.

    The defaults are model_training.py's constants; the values are checked here, when built."""

    copies: int  # augmented copies of each file
    noise_snr_db: tuple[float, float]  # Gaussian noise, signal-to-noise range in dB
    speed_range: tuple[float, float]  # tempo factor range
    pitch_semitones: tuple[float, float]  # pitch (and formant) shift range
    shift_fraction: float  # time shift, at most this fraction of the clip either way
    probability: float  # chance that each voice transform (tempo, pitch, shift) is applied to a copy
    channel_probability: float  # chance that a degraded copy goes through one channel of CHANNEL_RANGES
    noise_probability: float  # chance that a degraded copy is mixed with noise at noise_snr_db
    version: int = AUGMENT_VERSION

    def __post_init__(self):
        require(self.copies >= 1, f"augment copies {self.copies} must be at least 1 (--augment-copies, "
                                  f"or --no-augment for none)")
        for name in ("noise_snr_db", "speed_range", "pitch_semitones"):
            low, high = getattr(self, name)
            require(low <= high, f"{name} ({low}, {high}) must run from low to high (--{name.replace('_', '-')})")
        require(self.speed_range[0] > 0, f"speed_range {self.speed_range} must stay above 0 (--speed-range)")
        require(0 <= self.shift_fraction < 1, f"shift_fraction {self.shift_fraction} must be 0 to below 1")
        for name, flag in (("probability", "augment-probability"), ("channel_probability", "channel-probability"),
                           ("noise_probability", "noise-probability")):
            value = getattr(self, name)
            require(0 <= value <= 1, f"augment {name} {value} must be 0 to 1 (--{flag})")

    @property
    def degrades(self) -> bool:
        """Whether each copy has a degraded version for training."""
        return self.channel_probability > 0 or self.noise_probability > 0

    @classmethod
    def from_dict(cls, values: dict, source: str = "preprocessing.json") -> "AugmentConfig":
        """Inverse of dataclasses.asdict after a JSON round trip (lists back to tuples)."""
        require_same_config(cls, values, AUGMENT_VERSION, "augmentation", source, "retrain with model_training.py")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def voice_pipeline(config: AugmentConfig):
    """audiomentations chain: tempo, pitch and time shift, each with config.probability."""
    from audiomentations import Compose, PitchShift, Shift, TimeStretch

    p = config.probability
    return Compose([
        TimeStretch(min_rate=config.speed_range[0], max_rate=config.speed_range[1],
                    leave_length_unchanged=False, p=p),
        PitchShift(min_semitones=config.pitch_semitones[0], max_semitones=config.pitch_semitones[1], p=p),
        Shift(min_shift=-config.shift_fraction, max_shift=config.shift_fraction, rollover=False, p=p),
    ])


def degrading_pipeline(config: AugmentConfig, talkers: tuple = ()):
    """One channel of CHANNEL_RANGES with config.channel_probability, then one kind of noise at
    config.noise_snr_db with config.noise_probability (babble of talkers, signals, if any)."""
    from audiomentations import (AddColorNoise, AddGaussianSNR, Compose, HighPassFilter, HighShelfFilter,
                                 LowPassFilter, LowShelfFilter, OneOf)

    from ser.transforms import Babble, Mp3RoundTrip, PhoneLine, RoomReverb

    r, (snr_low, snr_high) = CHANNEL_RANGES, config.noise_snr_db
    shelf_low, shelf_high = r["shelf_db"]
    return Compose([
        OneOf([
            RoomReverb(*r["room_rt60_s"], *r["room_direct_db"], p=1.0),
            Compose([HighPassFilter(*r["high_pass_hz"], p=1.0), LowPassFilter(*r["low_pass_hz"], p=1.0)]),
            Compose([LowShelfFilter(*r["low_shelf_hz"], shelf_low, shelf_high, p=1.0),
                     HighShelfFilter(*r["high_shelf_hz"], shelf_low, shelf_high, p=1.0)]),
            Mp3RoundTrip(*r["mp3_kbps"], p=1.0),
            PhoneLine(*r["phone_low_hz"], *r["phone_high_hz"], p=1.0),
        ], p=config.channel_probability),
        OneOf([
            AddGaussianSNR(min_snr_db=snr_low, max_snr_db=snr_high, p=1.0),
            AddColorNoise(min_snr_db=snr_low, max_snr_db=snr_high, p=1.0),
            Babble(snr_low, snr_high, max_voice_factor=BABBLE_VOICE_FACTOR, talkers=talkers, p=1.0),
        ], p=config.noise_probability),
    ])


def file_seed(name: str, seed: int) -> int:
    """A seed of its own for each file (by name), so its copies do not depend on order or workers."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:4], "little")


class ThreadRandom:
    """Stands in for the `random` module inside audiomentations and ser.transforms: within `seeded`, the
    thread draws from a random.Random of its own, so another thread's use of `random` cannot shift a
    file's copies (a Dask worker's event loop samples with it, in dask.sizeof, while a task runs);
    elsewhere it is the module itself. Seeded alike, it draws the numbers the module would."""

    def __init__(self):
        self._local = threading.local()

    @contextlib.contextmanager
    def seeded(self, seed: int):
        self._local.rng = random.Random(seed)
        try:
            yield
        finally:
            del self._local.rng

    def __getattr__(self, name: str):
        return getattr(getattr(self._local, "rng", random), name)


THREAD_RANDOM = ThreadRandom()


@contextlib.contextmanager
def _seeded(seed: int):
    """The draws of audiomentations within, from `random` (THREAD_RANDOM, given to every module of it loaded by
    now) and the global `numpy.random` state, seeded by seed."""
    for name, module in list(sys.modules.items()):
        if name.startswith("audiomentations") or name == "ser.transforms":
            if getattr(module, "random", None) is random:
                module.random = THREAD_RANDOM
    np.random.seed(seed)
    with THREAD_RANDOM.seeded(seed):
        yield


def at_reference_level(signal: np.ndarray, peak_dbfs: float = REFERENCE_PEAK_DBFS) -> np.ndarray:
    """signal (n_samples,) float32 scaled to a peak of peak_dbfs (a silent one as it is): audiomentations'
    default stretch and pitch shift (Signalsmith Stretch) give other copies of the same sound 30 dB quieter
    (as different as two copies of the grid; docs/experiments.md, stop 38), the features none."""
    peak = float(np.max(np.abs(signal))) if signal.size else 0.0
    if peak == 0:
        return signal
    return (signal * np.float32(10 ** (peak_dbfs / 20) / peak)).astype(np.float32)


def test_time_grid(augment: AugmentConfig) -> tuple[tuple[float, float], ...]:
    """(semitones, tempo) of each of the augment.copies test-time copies: the pitch at the middle of each of
    augment.copies equal parts of augment.pitch_semitones, the tempo alternately at the middle of the slower
    and of the faster half of augment.speed_range; no time shift. The defaults give (-3, 0.95), (-1, 1.05),
    (1, 0.95), (3, 1.05): 1.3 points above copies drawn per file, held out (docs/experiments.md, stop 37)."""
    low, high = augment.pitch_semitones
    step = (high - low) / augment.copies
    slow, fast = augment.speed_range
    tempi = ((3 * slow + fast) / 4, (slow + 3 * fast) / 4)
    return tuple((low + step * (i + 0.5), tempi[i % 2]) for i in range(augment.copies))


def _features_or_original(audio: np.ndarray, signal: np.ndarray, config: FeatureConfig) -> np.ndarray:
    try:
        return extract_features(audio, config.sample_rate, config)
    except AudioError:  # e.g. noise drowned a very quiet file: use the original's features
        return extract_features(signal, config.sample_rate, config)


def _distinct_features(signals: list[np.ndarray], original: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(len(signals), n_features): _features_or_original of each signal, computed once per distinct signal.
    A copy that no transform touched equals its source sample for sample (about 1 pass in 7 of a file's
    copies and degraded versions at the defaults), and the same samples give the same features."""
    done = {}
    rows = []
    for samples in signals:
        key = (samples.dtype.str, hashlib.blake2b(np.ascontiguousarray(samples).tobytes(), digest_size=16).digest())
        if key not in done:
            done[key] = (extract_features(samples, config.sample_rate, config) if samples is original
                         else _features_or_original(samples, original, config))
        rows.append(done[key])
    return np.stack(rows)


def augmented_features(signal: np.ndarray, feature_config: FeatureConfig, augment: AugmentConfig,
                       seed: int, talkers: tuple = ()) -> np.ndarray:
    """Features (augment.copies, n_features) of the voice copies of a signal, followed, when augment.degrades,
    by those (augment.copies, n_features) of their degraded versions (whose babble is made of talkers,
    signals at feature_config.sample_rate, if any). Deterministic per seed; made at_reference_level, so the same
    whatever the signal's level."""
    signal = at_reference_level(signal)
    voice = voice_pipeline(augment)
    with _seeded(seed):
        voices = [voice(samples=signal, sample_rate=feature_config.sample_rate) for _ in range(augment.copies)]
    if augment.degrades:
        degrade = degrading_pipeline(augment, talkers)
        with _seeded(seed ^ 0x5EED):  # a stream of their own, drawn after the voice copies
            voices += [degrade(samples=v, sample_rate=feature_config.sample_rate) for v in voices]
    return _distinct_features(voices, signal, feature_config)


def test_time_signals(signal: np.ndarray, sample_rate: int, augment: AugmentConfig) -> list[np.ndarray]:
    """The signal's copies on test_time_grid, stretched then pitch-shifted as the training copies are (at the
    reference level: at_reference_level). Each tempo of the grid is stretched once (the defaults' 4 copies share
    2 tempi; the stretch is deterministic, so its copies are the same sample for sample)."""
    from audiomentations import PitchShift, TimeStretch

    signal = at_reference_level(signal)
    grid = test_time_grid(augment)
    stretched = {tempo: TimeStretch(min_rate=tempo, max_rate=tempo, leave_length_unchanged=False, p=1.0)(
                     samples=signal, sample_rate=sample_rate) for tempo in {t for _, t in grid}}
    return [PitchShift(min_semitones=semitones, max_semitones=semitones, p=1.0)(
                samples=stretched[tempo], sample_rate=sample_rate) for semitones, tempo in grid]


def test_time_features(signal: np.ndarray, feature_config: FeatureConfig, augment: AugmentConfig) -> np.ndarray:
    """(1 + augment.copies, n_features): the signal's own features (AudioError if it has no usable sound), then
    those of its test_time_signals (a copy left without usable sound takes the signal's own)."""
    copies = test_time_signals(signal, feature_config.sample_rate, augment)
    return _distinct_features([signal, *copies], signal, feature_config)


def augmented_copies(path: Path, feature_config: FeatureConfig, augment: AugmentConfig,
                     seed: int, talkers: tuple = ()) -> np.ndarray:
    """augmented_features of one file, seeded by its name and `seed`; talkers: paths of its babble."""
    signal = load_audio(path, feature_config.sample_rate)
    voices = tuple(load_audio(t, feature_config.sample_rate) for t in talkers) if augment.degrades else ()
    return augmented_features(signal, feature_config, augment, file_seed(Path(path).name, seed), talkers=voices)


def babble_talkers(paths: list[str], speakers, seed: int, count: int = BABBLE_TALKERS) -> list[tuple[str, ...]]:
    """For each of paths, up to count other paths of the same speaker (speakers (n_files,)), drawn by
    the file's seed from its speaker's files in name order: the same wherever the speaker's files
    are listed, so cached copies serve every fold the speaker trains in."""
    by_speaker: dict = {}
    for path, speaker in zip(paths, speakers):
        by_speaker.setdefault(speaker, []).append(str(path))
    result = []
    for path, speaker in zip(paths, speakers):
        others = sorted((p for p in by_speaker[speaker] if p != str(path)), key=lambda p: (Path(p).name, p))
        rng = np.random.default_rng(file_seed(Path(path).name, seed))
        picked = rng.choice(len(others), size=min(count, len(others)), replace=False) if others else []
        result.append(tuple(others[i] for i in sorted(picked)))
    return result


def augment_cache_path(path: Path, feature_config: FeatureConfig, augment: AugmentConfig, seed: int,
                       cache_dir: Path, talkers: tuple = ()) -> Path:
    """Where the augmented features of this file, its babble talkers, config and seed are kept: keyed by the
    files' contents (two corpora's spk1/001.wav and spk2/001.wav are two entries; a moved corpus keeps its own)."""
    path = Path(path)
    key = json.dumps([feature_config.to_dict(), dataclasses.asdict(augment), seed, path.name,
                      content_digest(path), [content_digest(t) for t in talkers]], sort_keys=True)
    return Path(cache_dir) / f"{path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"


def content_digest(path) -> str:
    """sha256 of a file's bytes, computed once per process for each file as it is on disk (path, size, time)."""
    stat = Path(path).stat()
    return _digest(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=1 << 16)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(path)["sha256"]


def _cached_rows(cached: Path, rows: int, make) -> np.ndarray:
    """The (rows, n_features) array kept at cached, or make()'s, written there (atomically) for next time."""
    if cached.exists():
        try:
            copies = np.load(cached)
            if copies.ndim == 2 and len(copies) == rows and np.isfinite(copies).all():
                return copies
        except (OSError, ValueError, EOFError):  # zero bytes, truncated, not an array
            pass
        log.warning("%s: damaged cache entry (unreadable, truncated or not %d rows of finite features); removed, "
                    "recomputing it", cached, rows)
        cached.unlink(missing_ok=True)
    copies = make()
    atomic_write(cached, lambda f: np.save(f, copies))
    return copies


def cached_augmented_copies(path: Path, feature_config: FeatureConfig, augment: AugmentConfig,
                            seed: int, cache_dir: Path, talkers: tuple = ()) -> np.ndarray:
    """augmented_copies, read from cache_dir if this file, talkers, config and seed were done before."""
    return _cached_rows(augment_cache_path(path, feature_config, augment, seed, cache_dir, talkers),
                        augment.copies * (2 if augment.degrades else 1),
                        lambda: augmented_copies(path, feature_config, augment, seed, talkers))


def test_time_cache_path(path: Path, feature_config: FeatureConfig, augment: AugmentConfig, cache_dir: Path) -> Path:
    """Where a file's test-time copies are kept: keyed by its content and the configs, not by its name or a seed."""
    path = Path(path)
    key = json.dumps(["test-time grid", feature_config.to_dict(), dataclasses.asdict(augment), content_digest(path)],
                     sort_keys=True)
    return Path(cache_dir) / f"{path.stem}-grid-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"


def cached_test_time_copies(path: Path, feature_config: FeatureConfig, augment: AugmentConfig,
                            cache_dir: Path) -> np.ndarray:
    """(augment.copies, n_features): the features of the file's test-time copies (test_time_features without
    the file's own), read from cache_dir if this file and config were done before."""
    def make():
        signal = load_audio(path, feature_config.sample_rate)
        return _distinct_features(test_time_signals(signal, feature_config.sample_rate, augment), signal,
                                  feature_config)

    return _cached_rows(test_time_cache_path(path, feature_config, augment, cache_dir), augment.copies, make)


@dataclasses.dataclass(frozen=True)
class AugmentedRows:
    """Features of the augmented copies of a list of files, which file each copy is of, and whether
    it is a degraded version; and the test-time copies of the files that are tested."""

    X: np.ndarray  # (n_rows, n_features) float32, n_rows = n_files * copies (x 2 with degraded versions)
    y: np.ndarray  # (n_rows,) the label of the file
    owner: np.ndarray  # (n_rows,) the file's position in the list
    degraded: np.ndarray  # (n_rows,) bool
    test_time: dict = dataclasses.field(default_factory=dict)  # file position -> (copies, n_features) float32


def augmented_rows(paths: list[str], labels: np.ndarray, speakers, feature_config: FeatureConfig,
                   augment: AugmentConfig, seed: int, cache_dir: Path, jobs: int, scheduler: str = "") -> AugmentedRows:
    """The augmented copies of the given files (labels, speakers (n_files,)), via the cache in
    cache_dir/augment, made over `jobs` processes or the workers of the Dask scheduler at `scheduler`
    (who then need cache_dir on a shared disk); the babble of a file's degraded copies is its speaker's
    other files."""
    cache_dir = Path(cache_dir) / "augment"
    require_files(paths)
    talkers = babble_talkers(paths, speakers, seed) if augment.degrades else [()] * len(paths)
    done = sum(augment_cache_path(p, feature_config, augment, seed, cache_dir, t).exists()
               for p, t in zip(paths, talkers))
    log.info("augmenting %d files x %d copies%s: %d already in %s", len(paths), augment.copies,
             " and their degraded versions" if augment.degrades else "", done, cache_dir)
    task = AugmentTask(feature_config, augment, seed, cache_dir)
    copies = map_with_progress(task, list(zip(paths, talkers)), jobs, desc="augment", scheduler=scheduler)
    per_file = len(copies[0]) if copies else augment.copies
    return AugmentedRows(np.concatenate(copies).astype(np.float32), np.repeat(labels, per_file),
                         np.repeat(np.arange(len(paths)), per_file),
                         np.tile(np.arange(per_file) >= augment.copies, len(paths)))


def test_time_rows(paths: list[str], feature_config: FeatureConfig, augment: AugmentConfig, cache_dir: Path,
                   jobs: int, scheduler: str = "") -> list[np.ndarray]:
    """cached_test_time_copies (augment.copies, n_features) float32 of each of paths, as augmented_rows makes its
    copies (cache_dir/augment, jobs, scheduler)."""
    cache_dir = Path(cache_dir) / "augment"
    require_files(paths)
    done = sum(test_time_cache_path(p, feature_config, augment, cache_dir).exists() for p in paths)
    log.info("test-time copies of %d files on a grid of %d (pitch, tempo): %d already in %s", len(paths),
             augment.copies, done, cache_dir)
    task = GridTask(feature_config, augment, cache_dir)
    return [rows.astype(np.float32) for rows in map_with_progress(task, list(paths), jobs, desc="test-time copies",
                                                                  scheduler=scheduler)]


def require_files(paths: list[str]) -> None:
    """UserError naming the first of paths that no longer exists, and the way out."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UserError(f"{missing[0]} (and {len(missing) - 1} more) listed in manifest.csv no longer "
                        f"exists; rerun data_preparation.py or use --no-augment")


@dataclasses.dataclass(frozen=True)
class AugmentTask:
    """cached_augmented_copies with everything but the path and its talkers fixed: picklable for workers."""

    feature_config: FeatureConfig
    augment: AugmentConfig
    seed: int
    cache_dir: Path

    def __call__(self, item: tuple[str, tuple]) -> np.ndarray:
        path, talkers = item
        return cached_augmented_copies(Path(path), self.feature_config, self.augment, self.seed, self.cache_dir,
                                       talkers)


@dataclasses.dataclass(frozen=True)
class GridTask:
    """cached_test_time_copies with everything but the path fixed: picklable for workers."""

    feature_config: FeatureConfig
    augment: AugmentConfig
    cache_dir: Path

    def __call__(self, path: str) -> np.ndarray:
        return cached_test_time_copies(Path(path), self.feature_config, self.augment, self.cache_dir)
