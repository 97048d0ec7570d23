"""Augmented copies of the audio: noise, tempo, pitch and time shift (audiomentations), as features.

Each file's copies are seeded by its name, so they do not depend on the order of the files or on
the workers, and predict.py makes the same copies of a file for test-time augmentation. The
features of the copies are cached on disk per file, feature config, augmentation config and seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
from pathlib import Path

import numpy as np

from ser.atomic import atomic_write
from ser.audio import AudioError, load_audio
from ser.errors import UserError, require
from ser.features import FeatureConfig, extract_features
from ser.parallel import map_with_progress

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """How augmented copies of audio are made; part of their cache key and of preprocessing.json.

    The defaults are model_training.py's constants; the values are checked here, when built."""

    copies: int  # augmented copies of each file
    noise_snr_db: tuple[float, float]  # Gaussian noise, signal-to-noise range in dB
    speed_range: tuple[float, float]  # tempo factor range
    pitch_semitones: tuple[float, float]  # pitch (and formant) shift range
    shift_fraction: float  # time shift, at most this fraction of the clip either way
    probability: float  # chance that each transform is applied to a copy

    def __post_init__(self):
        require(self.copies >= 1, f"augment copies {self.copies} must be at least 1 (--augment-copies, "
                                  f"or --no-augment for none)")
        for name in ("noise_snr_db", "speed_range", "pitch_semitones"):
            low, high = getattr(self, name)
            require(low <= high, f"{name} ({low}, {high}) must run from low to high (--{name.replace('_', '-')})")
        require(self.speed_range[0] > 0, f"speed_range {self.speed_range} must stay above 0 (--speed-range)")
        require(0 <= self.shift_fraction < 1, f"shift_fraction {self.shift_fraction} must be 0 to below 1")
        require(0 <= self.probability <= 1, f"augment probability {self.probability} must be 0 to 1 "
                                            f"(--augment-probability)")

    @classmethod
    def from_dict(cls, values: dict) -> "AugmentConfig":
        """Inverse of dataclasses.asdict after a JSON round trip (lists back to tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def augment_pipeline(config: AugmentConfig):
    """audiomentations chain: noise, speed (tempo), pitch and time shift, each with config.probability."""
    from audiomentations import AddGaussianSNR, Compose, PitchShift, Shift, TimeStretch

    p = config.probability
    return Compose([
        AddGaussianSNR(min_snr_db=config.noise_snr_db[0], max_snr_db=config.noise_snr_db[1], p=p),
        TimeStretch(min_rate=config.speed_range[0], max_rate=config.speed_range[1],
                    leave_length_unchanged=False, p=p),
        PitchShift(min_semitones=config.pitch_semitones[0], max_semitones=config.pitch_semitones[1], p=p),
        Shift(min_shift=-config.shift_fraction, max_shift=config.shift_fraction, rollover=False, p=p),
    ])


def file_seed(name: str, seed: int) -> int:
    """A seed of its own for each file (by name), so its copies do not depend on order or workers."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:4], "little")


def augmented_features(signal: np.ndarray, feature_config: FeatureConfig, augment: AugmentConfig,
                       seed: int) -> np.ndarray:
    """Features (augment.copies, n_features) of augmented versions of a signal; deterministic per seed.

    audiomentations draws from the global `random` and `numpy.random` states, so they are seeded
    here (this runs in worker processes, and predict.py makes the same copies of a file).
    """
    pipeline = augment_pipeline(augment)
    random.seed(seed)
    np.random.seed(seed)
    copies = []
    for _ in range(augment.copies):
        augmented = pipeline(samples=signal, sample_rate=feature_config.sample_rate)
        try:
            copies.append(extract_features(augmented, feature_config.sample_rate, feature_config))
        except AudioError:  # e.g. noise drowned a very quiet file: use the original's features
            copies.append(extract_features(signal, feature_config.sample_rate, feature_config))
    return np.stack(copies)


def augmented_copies(path: Path, feature_config: FeatureConfig, augment: AugmentConfig,
                     seed: int) -> np.ndarray:
    """augmented_features of one file, seeded by its name and `seed`."""
    signal = load_audio(path, feature_config.sample_rate)
    return augmented_features(signal, feature_config, augment, file_seed(Path(path).name, seed))


def augment_cache_path(path: Path, feature_config: FeatureConfig, augment: AugmentConfig, seed: int,
                       cache_dir: Path) -> Path:
    """Where the augmented features of this file, config and seed are kept."""
    path = Path(path)
    key = json.dumps([feature_config.to_dict(), dataclasses.asdict(augment), seed, path.name,
                      path.stat().st_size], sort_keys=True)
    return Path(cache_dir) / f"{path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"


def cached_augmented_copies(path: Path, feature_config: FeatureConfig, augment: AugmentConfig,
                            seed: int, cache_dir: Path) -> np.ndarray:
    """augmented_copies, read from cache_dir if this file, config and seed were done before."""
    cached = augment_cache_path(path, feature_config, augment, seed, cache_dir)
    if cached.exists():
        return np.load(cached)
    copies = augmented_copies(path, feature_config, augment, seed)
    atomic_write(cached, lambda f: np.save(f, copies))
    return copies


@dataclasses.dataclass(frozen=True)
class AugmentedRows:
    """Features of the augmented copies of a list of files, and which file each copy is of."""

    X: np.ndarray  # (n_files * copies, n_features) float32
    y: np.ndarray  # (n_files * copies,) the label of the file
    owner: np.ndarray  # (n_files * copies,) the file's position in the list


def augmented_rows(paths: list[str], labels: np.ndarray, feature_config: FeatureConfig,
                   augment: AugmentConfig, seed: int, cache_dir: Path, jobs: int) -> AugmentedRows:
    """The augmented copies of the given files (labels (n_files,)), via the cache in cache_dir/augment."""
    cache_dir = Path(cache_dir) / "augment"
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UserError(f"{missing[0]} (and {len(missing) - 1} more) listed in manifest.csv no longer "
                        f"exists; rerun data_preparation.py or use --no-augment")
    done = sum(augment_cache_path(p, feature_config, augment, seed, cache_dir).exists() for p in paths)
    log.info("augmenting %d files x %d copies: %d already in %s", len(paths), augment.copies,
             done, cache_dir)
    task = AugmentTask(feature_config, augment, seed, cache_dir)
    copies = map_with_progress(task, paths, jobs, desc="augment")
    return AugmentedRows(np.concatenate(copies).astype(np.float32), np.repeat(labels, augment.copies),
                         np.repeat(np.arange(len(paths)), augment.copies))


@dataclasses.dataclass(frozen=True)
class AugmentTask:
    """cached_augmented_copies with everything but the path fixed: picklable for worker processes."""

    feature_config: FeatureConfig
    augment: AugmentConfig
    seed: int
    cache_dir: Path

    def __call__(self, path: str) -> np.ndarray:
        return cached_augmented_copies(Path(path), self.feature_config, self.augment, self.seed, self.cache_dir)

