"""One training recipe, used by model_training.py (single split and folds) and bench/nested_check.py.

Fit the scaler and ENSEMBLE networks on a split's non-test files (plus their augmented copies),
each network early-stopped on other validation speakers, average them, and evaluate on the split's
test files: each file and its test-time copies (a grid of pitch and tempo, ser.augment.test_time_grid)
classified, the probabilities averaged and divided by the training share of each emotion.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from ser import network
from ser.augment import AugmentConfig, AugmentedRows, augmented_rows, test_time_rows
from ser.corpus import Split, corpus_folds, natural_key, sex_groups, speaker_folds
from ser.errors import require
from ser.features import FeatureConfig
from ser.metrics import balanced_accuracy, evaluate, fold_result
from ser.prepared_data import Dataset

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run (model_training.py's constants, one flag each), checked when built."""

    epochs: int
    batch_size: int
    learning_rate: float
    width: int
    blocks: int
    dropout: float
    weight_decay: float
    label_smoothing: float
    patience: int  # epochs without validation improvement before stopping
    lr_patience: int  # ... before halving the learning rate
    ensemble: int  # networks averaged
    augment: bool
    augment_copies: int
    test_time_augment: bool
    uniform_prior: bool
    noise_snr_db: tuple[float, float]
    speed_range: tuple[float, float]
    pitch_semitones: tuple[float, float]
    shift_fraction: float
    augment_probability: float
    channel_probability: float
    noise_probability: float
    folds: int | str  # 0: the prepared split; K: K-fold cross-validation by speaker; "corpus": leave-one-corpus-out
    seed: int

    def __post_init__(self):
        for name in ("epochs", "batch_size", "patience", "lr_patience", "ensemble"):
            value = getattr(self, name)
            require(value >= 1, f"{name} {value} must be at least 1 (--{name.replace('_', '-')})")
        require(self.folds in (0, "corpus") or isinstance(self.folds, int) and self.folds >= 2,
                f"folds {self.folds} must be 0 (off), at least 2, or corpus (--folds)")
        _ = self.model_config, self.augment_config  # built now, so that their values are checked now

    @property
    def model_config(self) -> network.ModelConfig:
        return network.ModelConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(network.ModelConfig)})

    @property
    def augment_config(self) -> AugmentConfig:
        return AugmentConfig(copies=self.augment_copies, noise_snr_db=self.noise_snr_db, speed_range=self.speed_range,
                             pitch_semitones=self.pitch_semitones, shift_fraction=self.shift_fraction,
                             probability=self.augment_probability, channel_probability=self.channel_probability,
                             noise_probability=self.noise_probability)

    @property
    def uses_test_time_augment(self) -> bool:
        return self.augment and self.test_time_augment

    @property
    def test_time_config(self) -> AugmentConfig | None:
        """What the test-time copies are made with (predict.py's too), or None without them."""
        return self.augment_config if self.uses_test_time_augment else None


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """The averaged model, its scaler and prior, the networks' histories, and the test figures."""

    model: object  # keras.Model
    mean: np.ndarray  # (n_features,) scaler
    scale: np.ndarray
    prior: np.ndarray | None  # (n_classes,) training share of each class, or None without the uniform prior
    histories: list[dict]  # one per network: Keras history (loss, val_loss, accuracy, ...)
    metrics: dict  # ser.metrics.evaluate of the test files, plus class_prior and member_epochs
    probabilities: np.ndarray  # (n_test, n_classes)


def augment_dataset(data: Dataset, feature_config: FeatureConfig, config: TrainConfig, cache_dir: Path,
                    jobs: int, scheduler: str = "", test_only: np.ndarray | None = None) -> AugmentedRows | None:
    """The augmented copies of the files of data that may be trained on, and (with test-time augmentation)
    the test-time copies of those that may be tested, keyed by their row in data; None with augmentation
    off. test_only: the rows that are only ever tested (a single split's test files), which then get no
    training copies, and the only ones to get test-time copies; by default every row gets both (folds)."""
    if not config.augment:
        return None
    every = np.arange(len(data.rows))
    trained = every if test_only is None else np.setdiff1d(every, test_only)
    tested = every if test_only is None else np.asarray(test_only)
    made = augmented_rows([data.rows[i].path for i in trained], data.y[trained], data.speakers[trained],
                          feature_config, config.augment_config, config.seed, cache_dir, jobs, scheduler)
    test_time = {}
    if config.test_time_config:
        copies = test_time_rows([data.rows[i].path for i in tested], feature_config, config.test_time_config,
                                cache_dir, jobs, scheduler)
        test_time = dict(zip(tested.tolist(), copies))
    return dataclasses.replace(made, owner=trained[made.owner], test_time=test_time)


def member_splits(speakers: np.ndarray, genders: np.ndarray, split: Split, members: int,
                  rng: np.random.Generator) -> list[Split]:
    """One split per ensemble member, for files spoken by speakers of genders (n_files,): member 0 keeps
    split.val; the others take the next speakers of each sex (split.val's count, in an order drawn from
    rng) as validation and train on the rest of train + val, so the ensemble as a whole learns from
    every non-test speaker. Test is unchanged. A split that shares speakers between train and val
    (--split random) is kept for every member."""
    pool = np.concatenate([split.train, split.val])
    pool_speakers = speakers[pool]
    val_speakers = set(speakers[split.val])
    if val_speakers & set(speakers[split.train]):
        return [split] * members
    order = []  # per sex: this split's validation speakers first, then the others shuffled
    for _, group in sex_groups(pool_speakers, genders[pool]):
        first = sorted((s for s in group if s in val_speakers), key=natural_key)
        others = [s for s in group if s not in val_speakers]
        order.append((first, [str(s) for s in rng.permutation(others)] if others else []))
    splits = []
    for member in range(members):
        chosen = []
        for first, others in order:
            cycle = first + others
            chosen += [cycle[(member * len(first) + j) % len(cycle)] for j in range(len(first))]
        is_val = np.isin(pool_speakers, chosen)
        splits.append(Split(pool[~is_val], pool[is_val], split.test))
    return splits


def evaluation_views(X: np.ndarray, index: np.ndarray, augmented: AugmentedRows | None) -> np.ndarray:
    """(views, len(index), n_features): the rows of X, then (if augmented is given) each of their test-time copies."""
    views = [X[index]]
    if augmented is not None:
        views += list(np.stack([augmented.test_time[row] for row in index], axis=1))
    return np.stack(views)


@dataclasses.dataclass(frozen=True)
class _Ensemble:
    """What a split's networks are trained from: one split per member (member_splits) and the scaler fitted on
    the files they train on (trained, row indices)."""

    split: Split
    members: list[Split]
    trained: np.ndarray
    mean: np.ndarray  # (n_features,)
    scale: np.ndarray

    def scaled(self, X: np.ndarray) -> np.ndarray:
        return network.apply_scaler(X, self.mean, self.scale)


def _ensemble(data: Dataset, split: Split, config: TrainConfig, rng: np.random.Generator) -> _Ensemble:
    members = member_splits(data.speakers, data.genders, split, config.ensemble, rng)
    trained = np.unique(np.concatenate([m.train for m in members]))
    return _Ensemble(split, members, trained, *network.fit_scaler(data.X[trained]))


def _member_tasks(data: Dataset, ensemble: _Ensemble, augmented: AugmentedRows | None, config: TrainConfig):
    """network.train_network's arguments for each member, made one at a time: each sees only its own training
    files and their copies."""
    for number, member in enumerate(ensemble.members):
        X_train, y_train = data.X[member.train], data.y[member.train]
        if augmented is not None:
            keep = np.isin(augmented.owner, member.train)
            X_train = np.concatenate([X_train, augmented.X[keep]])
            y_train = np.concatenate([y_train, augmented.y[keep]])
        yield dict(X_train=ensemble.scaled(X_train), y_train=y_train, X_val=ensemble.scaled(data.X[member.val]),
                   y_val=data.y[member.val], config=config.model_config, epochs=config.epochs,
                   batch_size=config.batch_size, patience=config.patience, lr_patience=config.lr_patience,
                   seed=config.seed + number, n_classes=len(data.labels))


def _evaluated(data: Dataset, ensemble: _Ensemble, trained: list[tuple], augmented: AugmentedRows | None,
               config: TrainConfig) -> TrainResult:
    """The members' (model, history) averaged and evaluated on the split's test files."""
    split, scaled = ensemble.split, ensemble.scaled
    histories = [history for _, history in trained]
    model = network.average_models([model for model, _ in trained])
    views = evaluation_views(data.X, split.test, augmented if config.test_time_augment else None)
    prior = network.class_prior(data.y[ensemble.trained], len(data.labels)) if config.uniform_prior else None
    probabilities = network.predict_views(model, scaled(views), prior)
    metrics = evaluate(data.y[split.test], probabilities, [data.rows[i] for i in split.test], data.labels,
                       data.speakers[split.test])
    metrics["class_prior"] = None if prior is None else prior.tolist()
    metrics["member_epochs"] = [len(h["loss"]) for h in histories]
    if len(views) > 1:  # the same model on each file alone: what --no-test-time-augment (5x faster) gives up
        alone = network.predict_views(model, scaled(views[:1]), prior).argmax(axis=1)
        metrics["balanced_accuracy_without_tta"] = balanced_accuracy(data.y[split.test], alone)
    return TrainResult(model, ensemble.mean, ensemble.scale, prior, histories, metrics, probabilities)


def train_and_evaluate(data: Dataset, split: Split, augmented: AugmentedRows | None, config: TrainConfig,
                       rng: np.random.Generator, verbose: int = 2, jobs: int = 1) -> TrainResult:
    """Train the ensemble on split's non-test files and evaluate it on split.test (see the module docstring);
    its networks over `jobs` processes (network.train_networks).

    The scaler is fitted on the files the members train on; with config.uniform_prior the
    probabilities are divided by the class shares of those files (metrics["class_prior"]).
    """
    (result,) = train_splits(data, [split], augmented, config, rng, verbose, jobs)
    return result


def train_splits(data: Dataset, splits: list[Split], augmented: AugmentedRows | None, config: TrainConfig,
                 rng: np.random.Generator, verbose: int = 2, jobs: int = 1):
    """train_and_evaluate of each of splits, yielded in order; the networks of all of them go through one
    network.train_networks, so that a worker never waits for the other to finish a split's last network."""
    ensembles = [_ensemble(data, split, config, rng) for split in splits]
    tasks = (task for ensemble in ensembles for task in _member_tasks(data, ensemble, augmented, config))
    count = sum(len(ensemble.members) for ensemble in ensembles)
    with contextlib.closing(network.train_networks(tasks, count, jobs, verbose)) as trained:  # ends its workers
        for ensemble in ensembles:
            yield _evaluated(data, ensemble, [next(trained) for _ in ensemble.members], augmented, config)


def cross_validate(data: Dataset, augmented: AugmentedRows | None, config: TrainConfig, val_fraction: float,
                   rng: np.random.Generator, jobs: int = 1) -> list[dict]:
    """train_and_evaluate on each fold of config.folds: K speaker folds (ser.corpus.speaker_folds) or
    one per corpus (ser.corpus.corpus_folds), the networks over `jobs` processes (train_splits); one result per
    fold, its seconds counted from the previous fold's end."""
    if config.folds == "corpus":
        named = corpus_folds(data.corpora, data.speakers, data.genders, val_fraction, rng)
    else:
        named = [(None, s) for s in speaker_folds(data.speakers, data.genders, config.folds, val_fraction, rng)]
    results, start = [], time.perf_counter()
    trained = train_splits(data, [split for _, split in named], augmented, config, rng, verbose=0, jobs=jobs)
    for number, ((name, _), result) in enumerate(zip(named, trained), 1):
        metrics = result.metrics
        results.append(fold_result(metrics, time.perf_counter() - start, name))
        start = time.perf_counter()
        log.info("fold %d/%d: test %s, accuracy %.3f, balanced accuracy %.3f, macro F1 %.3f",
                 number, len(named), name or f"speakers {metrics['test_speakers']}", metrics["accuracy"],
                 metrics["balanced_accuracy"], metrics["macro_f1"])
    return results
