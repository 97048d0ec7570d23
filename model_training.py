"""Train, evaluate and save the emotion classifier on the arrays data_preparation.py wrote.

Loads X/y and manifest.csv from --data-dir, scales the features (fitted on the training rows only),
makes augmented copies of the audio (noise, speed, pitch, time shift; passed through the same
`extract_features` as preparation and cached on disk; a network trains only on copies of its own
training files), trains ENSEMBLE residual Dense Keras networks, each early-stopped on other
validation actors so that together they learn from every non-test actor, averages them, and
evaluates once on the test actors: each test file and its augmented copies are classified and the
probabilities averaged, then divided by each emotion's share of the training files, the decision that
maximises balanced accuracy (predict.py does the same). Writes to --out-dir:

    model.keras                the trained network (ENSEMBLE members, averaged)
    preprocessing.json         scaler, labels, class prior, feature and augmentation config: what predict.py needs
    metrics.json               accuracy, balanced accuracy, F1, per class / actor / sex / intensity
    classification_report.txt, history.csv, confusion_matrix.png, training_curves.png

    python model_training.py                     # data/processed -> results
    python model_training.py --folds 6           # 6-fold cross-validation by actor (1-4, 5-8, ...)
    python model_training.py --no-augment --epochs 50
    python model_training.py --help              # every constant below as a flag
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import data_preparation as dp

# ----------------------------------------------------------------------------------------------
# Constants a user tweaks (each one is a command-line flag of the same name).
DATA_DIR = "data/processed"  # what data_preparation.py wrote
OUT_DIR = "results"  # model, metrics and plots
CACHE_DIR = "data/cache"  # features of augmented audio, reused by later runs
EPOCHS = 300  # at most; early stopping on the validation actors usually ends sooner
BATCH_SIZE = 256
LEARNING_RATE = 1e-3  # chosen on held-out non-test actors (bench/nested_check.py): 0.002 scored 1.1 lower
WIDTH = 256  # units of every Dense layer
BLOCKS = 2  # residual blocks
DROPOUT = 0.5
WEIGHT_DECAY = 1e-4  # L2 on the Dense kernels
LABEL_SMOOTHING = 0.1
PATIENCE = 25  # epochs without validation improvement before stopping
LR_PATIENCE = 8  # epochs without improvement before halving the learning rate
ENSEMBLE = 3  # networks averaged into model.keras, each early-stopped on other validation actors
AUGMENT = True  # add augmented copies of the training audio
AUGMENT_COPIES = 4  # augmented copies of each file
TEST_TIME_AUGMENT = True  # classify each test file and its augmented copies, average the probabilities
UNIFORM_PRIOR = True  # divide the probabilities by each emotion's share of the training files (neutral has half
#                       the files of the others): the decision that maximises balanced accuracy
NOISE_SNR_DB = (15.0, 30.0)  # additive Gaussian noise, signal-to-noise range
SPEED_RANGE = (0.9, 1.1)  # tempo change (time stretch)
PITCH_SEMITONES = (-4.0, 4.0)  # moves pitch and formants together, like another voice; chosen on held-out
#                                 non-test actors (bench/nested_check.py): +1.8 over (-2, 2), (-6, 6) lower
SHIFT_FRACTION = 0.2  # time shift, as a fraction of the clip
AUGMENT_PROBABILITY = 0.5  # chance that each of the four transforms is applied to a copy
FOLDS = 0  # 0: train on the prepared split; K: K-fold cross-validation by actor
SEED = 42
JOBS = -1  # worker processes for augmentation; -1 = all cores
# ----------------------------------------------------------------------------------------------

PREPROCESSING_VERSION = 3

log = logging.getLogger("ser")


# ---------------------------------------------------------------------------------- loading
@dataclasses.dataclass
class Prepared:
    """The arrays, manifest and metadata of one data_preparation.py run."""

    X: dict[str, np.ndarray]  # split -> (n, n_features) float32
    y: dict[str, np.ndarray]  # split -> (n,) int64
    rows: dict[str, list[dict]]  # split -> manifest rows in array order
    meta: dict
    feature_config: dp.FeatureConfig


def load_prepared(data_dir: Path) -> Prepared:
    """Read what data_preparation.py wrote; UserError naming the first thing that is wrong."""
    data_dir = Path(data_dir)
    hint = f"run data_preparation.py --out-dir {data_dir}"
    if not data_dir.is_dir():
        raise dp.UserError(f"prepared data folder {data_dir} does not exist; {hint}")
    needed = ["meta.json", "manifest.csv"] + [f"{k}_{s}.npy" for k in "Xy" for s in dp.SPLITS]
    missing = [name for name in needed if not (data_dir / name).exists()]
    if missing:
        raise dp.UserError(f"{data_dir} lacks {', '.join(missing)}; {hint}")
    try:
        meta = json.loads((data_dir / "meta.json").read_text())
        config = dp.FeatureConfig.from_dict(meta["feature_config"], str(data_dir / "meta.json"))
        labels, n_features = meta["labels"], len(meta["feature_names"])
        X = {s: np.load(data_dir / f"X_{s}.npy") for s in dp.SPLITS}
        y = {s: np.load(data_dir / f"y_{s}.npy") for s in dp.SPLITS}
        with open(data_dir / "manifest.csv", newline="") as f:
            manifest = list(csv.DictReader(f))
    except (ValueError, KeyError, TypeError, OSError) as err:
        raise dp.UserError(f"{data_dir} holds unreadable or outdated files ({err}); {hint}") from None
    if labels != list(dp.LABELS):
        raise dp.UserError(f"{data_dir}/meta.json has labels {labels}, expected {list(dp.LABELS)}; {hint}")
    rows = {s: [r for r in manifest if r["split"] == s] for s in dp.SPLITS}
    for s in dp.SPLITS:
        if X[s].ndim != 2 or X[s].shape[1] != n_features:
            raise dp.UserError(f"{data_dir}/X_{s}.npy has shape {X[s].shape}, but meta.json's feature "
                               f"config gives {n_features} features; {hint}")
        if not len(X[s]) == len(y[s]) == len(rows[s]):
            raise dp.UserError(f"{data_dir}: X_{s} has {len(X[s])} rows, y_{s} {len(y[s])} and "
                               f"manifest.csv {len(rows[s])} for {s}; {hint}")
        if len(y[s]) == 0:
            raise dp.UserError(f"{data_dir}: the {s} split is empty; {hint} with more actors")
    return Prepared(X, y, rows, meta, config)


# ---------------------------------------------------------------------------------- augmentation
@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """How augmented copies of audio are made; part of their cache key and of preprocessing.json."""

    copies: int = AUGMENT_COPIES
    noise_snr_db: tuple[float, float] = NOISE_SNR_DB
    speed_range: tuple[float, float] = SPEED_RANGE
    pitch_semitones: tuple[float, float] = PITCH_SEMITONES
    shift_fraction: float = SHIFT_FRACTION
    probability: float = AUGMENT_PROBABILITY

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


def augmented_features(signal: np.ndarray, feature_config: dp.FeatureConfig, augment: AugmentConfig,
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
            copies.append(dp.extract_features(augmented, feature_config.sample_rate, feature_config))
        except dp.AudioError:  # e.g. noise drowned a very quiet file: use the original's features
            copies.append(dp.extract_features(signal, feature_config.sample_rate, feature_config))
    return np.stack(copies)


def augmented_copies(path: Path, feature_config: dp.FeatureConfig, augment: AugmentConfig,
                     seed: int) -> np.ndarray:
    """augmented_features of one file, seeded by its name and `seed`."""
    signal = dp.load_audio(path, feature_config.sample_rate)
    return augmented_features(signal, feature_config, augment, file_seed(Path(path).name, seed))


def augment_cache_path(path: Path, feature_config: dp.FeatureConfig, augment: AugmentConfig, seed: int,
                       cache_dir: Path) -> Path:
    """Where the augmented features of this file, config and seed are kept."""
    path = Path(path)
    key = json.dumps([feature_config.to_dict(), dataclasses.asdict(augment), seed, path.name,
                      path.stat().st_size], sort_keys=True)
    return Path(cache_dir) / f"{path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"


def cached_augmented_copies(path: Path, feature_config: dp.FeatureConfig, augment: AugmentConfig,
                            seed: int, cache_dir: Path) -> np.ndarray:
    """augmented_copies, read from cache_dir if this file, config and seed were done before."""
    cached = augment_cache_path(path, feature_config, augment, seed, cache_dir)
    if cached.exists():
        return np.load(cached)
    copies = augmented_copies(path, feature_config, augment, seed)
    dp.atomic_write(cached, lambda f: np.save(f, copies))
    return copies


def augmented_rows(paths: list[str], labels: np.ndarray, feature_config: dp.FeatureConfig,
                   augment: AugmentConfig, seed: int, cache_dir: Path, jobs: int = JOBS):
    """(X_aug (len(paths) * copies, n_features), y_aug) for the given files, via the cache."""
    cache_dir = Path(cache_dir) / "augment"
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise dp.UserError(f"{missing[0]} (and {len(missing) - 1} more) listed in manifest.csv no longer "
                           f"exists; rerun data_preparation.py or use --no-augment")
    done = sum(augment_cache_path(p, feature_config, augment, seed, cache_dir).exists() for p in paths)
    log.info("augmenting %d files x %d copies: %d already in %s", len(paths), augment.copies,
             done, cache_dir)
    task = _AugmentTask(feature_config, augment, seed, cache_dir)
    copies = dp.map_with_progress(task, paths, jobs, desc="augment")
    return np.concatenate(copies).astype(np.float32), np.repeat(labels, augment.copies)


@dataclasses.dataclass(frozen=True)
class _AugmentTask:
    """cached_augmented_copies with everything but the path fixed: picklable for worker processes."""

    feature_config: dp.FeatureConfig
    augment: AugmentConfig
    seed: int
    cache_dir: Path

    def __call__(self, path: str) -> np.ndarray:
        return cached_augmented_copies(Path(path), self.feature_config, self.augment, self.seed, self.cache_dir)


# ---------------------------------------------------------------------------------- scaling
def fit_scaler(X_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) of each feature over the training rows; constant features get scale 1."""
    mean, scale = X_train.mean(axis=0), X_train.std(axis=0)
    return mean.astype(np.float32), np.where(scale > 1e-8, scale, 1.0).astype(np.float32)


def apply_scaler(X: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return ((X - mean) / scale).astype(np.float32)


# ---------------------------------------------------------------------------------- model
@dataclasses.dataclass(frozen=True)
class ModelConfig:
    width: int = WIDTH
    blocks: int = BLOCKS
    dropout: float = DROPOUT
    weight_decay: float = WEIGHT_DECAY
    learning_rate: float = LEARNING_RATE
    label_smoothing: float = LABEL_SMOOTHING


def build_model(n_features: int, n_classes: int = len(dp.LABELS), config: ModelConfig = ModelConfig()):
    """Dense stem, then `blocks` residual blocks (Dense-BN-ReLU-Dropout-Dense-BN + skip), softmax."""
    import keras
    from keras import layers

    regularizer = keras.regularizers.l2(config.weight_decay)
    inputs = keras.Input(shape=(n_features,), name="features")
    x = layers.Dense(config.width, kernel_regularizer=regularizer, name="stem")(inputs)
    x = layers.Activation("relu")(layers.BatchNormalization()(x))
    for block in range(config.blocks):
        h = layers.Dense(config.width, kernel_regularizer=regularizer, name=f"block{block}_dense1")(x)
        h = layers.Dropout(config.dropout)(layers.Activation("relu")(layers.BatchNormalization()(h)))
        h = layers.Dense(config.width, kernel_regularizer=regularizer, name=f"block{block}_dense2")(h)
        h = layers.BatchNormalization()(h)
        x = layers.Activation("relu")(layers.Add(name=f"block{block}_skip")([x, h]))
    x = layers.Dropout(config.dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    model = keras.Model(inputs, outputs, name="residual_dense")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    return model


def average_models(models: list):
    """One Keras model whose output is the mean of the given models' softmax outputs."""
    import keras

    if len(models) == 1:
        return models[0]
    inputs = keras.Input(shape=models[0].input_shape[1:], name="features")
    for i, model in enumerate(models):
        model.name = f"member{i}"
    outputs = keras.layers.Average(name="emotion")([model(inputs) for model in models])
    return keras.Model(inputs, outputs, name="ensemble")


def train_network(X_train, y_train, X_val, y_val, config: ModelConfig, epochs: int, batch_size: int,
                  patience: int, lr_patience: int, seed: int, verbose: int = 2):
    """(trained model, history dict) with early stopping and LR schedule on the validation set."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(X_train.shape[1], len(dp.LABELS), config)
    one_hot = lambda y: keras.utils.to_categorical(y, len(dp.LABELS))  # noqa: E731
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=lr_patience, min_lr=1e-5),
    ]
    history = model.fit(X_train, one_hot(y_train), validation_data=(X_val, one_hot(y_val)), epochs=epochs,
                        batch_size=batch_size, shuffle=True, callbacks=callbacks, verbose=verbose)
    return model, {k: [float(v) for v in values] for k, values in history.history.items()}


# ---------------------------------------------------------------------------------- evaluation
def evaluate(y_true: np.ndarray, probabilities: np.ndarray, rows: list[dict]) -> dict:
    """Test figures: accuracy, balanced accuracy (UAR), F1, per class and per actor/sex/intensity."""
    from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                                 precision_recall_fscore_support)

    y_pred = probabilities.argmax(axis=1)
    labels = list(range(len(dp.LABELS)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                                     zero_division=0)
    correct = y_pred == y_true

    def accuracy_by(column: str) -> dict:
        groups = sorted({row[column] for row in rows}, key=lambda v: (len(str(v)), str(v)))
        return {str(g): float(np.mean([c for c, row in zip(correct, rows) if row[column] == g])) for g in groups}

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", labels=labels, zero_division=0)),
        "labels": list(dp.LABELS),
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(dp.LABELS, precision, recall, f1, support)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "test_actors": sorted({int(row["actor"]) for row in rows}),
        "accuracy_by_actor": accuracy_by("actor"),
        "accuracy_by_gender": accuracy_by("gender"),
        "accuracy_by_intensity": accuracy_by("intensity"),
    }


def classification_report_text(y_true: np.ndarray, probabilities: np.ndarray) -> str:
    from sklearn.metrics import classification_report

    return classification_report(y_true, probabilities.argmax(axis=1), labels=list(range(len(dp.LABELS))),
                                 target_names=list(dp.LABELS), digits=3, zero_division=0)


# ---------------------------------------------------------------------------------- plots
def plot_confusion(matrix: np.ndarray, path: Path, title: str) -> None:
    """Counts and row-normalised recall side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    matrix = np.asarray(matrix)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(1, 2, figsize=(15, 6))
    for ax, data, fmt, name in ((axes[0], matrix, "d", "counts"), (axes[1], normalised, ".2f", "row-normalised")):
        sns.heatmap(data, annot=True, fmt=fmt, cmap="Blues", xticklabels=dp.LABELS, yticklabels=dp.LABELS,
                    ax=ax, cbar=False, square=True)
        ax.set(xlabel="predicted", ylabel="true", title=f"{title} ({name})")
    figure.tight_layout()
    save_figure(figure, path)


def plot_history(histories: list[dict], path: Path) -> None:
    """Loss and accuracy per epoch of every network: training solid, validation dashed, a colour each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, metric in zip(axes, ("accuracy", "loss")):
        for number, history in enumerate(histories):
            epochs = np.arange(1, len(history[metric]) + 1)
            line, = ax.plot(epochs, history[metric], label=f"network {number} train")
            ax.plot(epochs, history[f"val_{metric}"], "--", color=line.get_color(),
                    label=f"network {number} validation")
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.tight_layout()
    save_figure(figure, path)


def save_figure(figure, path: Path) -> None:
    import matplotlib.pyplot as plt

    dp.atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=110))
    plt.close(figure)


# ---------------------------------------------------------------------------------- saving
def save_model(model, path: Path) -> None:
    """model.save to a temporary .keras file next to path, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def preprocessing_record(mean: np.ndarray, scale: np.ndarray, class_prior: list[float] | None, prepared: Prepared,
                         args) -> dict:
    """Everything besides the network that predict.py needs, as plain numbers (no pickle).

    test_time_augment holds the augmentation config and seed of the test-time copies, or None;
    class_prior the training share of each emotion the probabilities are divided by, or None."""
    tta = None
    if args.augment and args.test_time_augment:
        tta = {"augment": dataclasses.asdict(augment_config_from_args(args)), "seed": args.seed}
    return {"version": PREPROCESSING_VERSION, "labels": list(dp.LABELS),
            "feature_config": prepared.feature_config.to_dict(),
            "feature_names": prepared.meta["feature_names"],
            "scaler_mean": mean.tolist(), "scaler_scale": scale.tolist(), "test_time_augment": tta,
            "class_prior": class_prior}


# ---------------------------------------------------------------------------------- training runs
@dataclasses.dataclass
class Split:
    """Row indices into the concatenated prepared data for one train/val/test division."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def concatenated(prepared: Prepared) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """X, y and manifest rows of all three prepared splits in one array (train, val, test order)."""
    return (np.concatenate([prepared.X[s] for s in dp.SPLITS]), np.concatenate([prepared.y[s] for s in dp.SPLITS]),
            [row for s in dp.SPLITS for row in prepared.rows[s]])


def prepared_split(prepared: Prepared) -> Split:
    sizes = np.cumsum([0] + [len(prepared.y[s]) for s in dp.SPLITS])
    return Split(*(np.arange(sizes[i], sizes[i + 1]) for i in range(3)))


def actor_folds(rows: list[dict], folds: int, val_fraction: float, rng: np.random.Generator) -> list[Split]:
    """K splits: actors sorted into K consecutive groups (1-4, 5-8, ... for 24 actors and K=6), each
    group the test set once; validation actors drawn per sex from the remaining actors."""
    actors = np.array([int(row["actor"]) for row in rows])
    groups = np.array_split(np.unique(actors), folds)
    if folds < 2 or any(len(g) == 0 for g in groups):
        raise dp.UserError(f"--folds {folds} needs 2 to {len(np.unique(actors))} (the number of actors)")
    splits = []
    for test_actors in groups:
        rest = [dp.parse_name(Path(row["path"])) for row, a in zip(rows, actors) if a not in test_actors]
        role = dp.split_by_actor(rest, val_fraction, 0.0, rng)
        val_actors = [a for a, r in role.items() if r == "val"]
        splits.append(Split(np.flatnonzero(~np.isin(actors, np.concatenate([test_actors, val_actors]))),
                            np.flatnonzero(np.isin(actors, val_actors)), np.flatnonzero(np.isin(actors, test_actors))))
    return splits


def member_splits(rows: list[dict], split: Split, members: int, rng: np.random.Generator) -> list[Split]:
    """One split per ensemble member: member 0 keeps split.val; the others take the next actors of
    each sex (split.val's count, in an order drawn from rng) as validation and train on the rest of
    train + val, so the ensemble as a whole learns from every non-test actor. Test is unchanged.
    A split that shares actors between train and val (--split random) is kept for every member."""
    pool = np.concatenate([split.train, split.val])
    actors = np.array([int(rows[i]["actor"]) for i in pool])
    val_actors = {int(rows[i]["actor"]) for i in split.val}
    if val_actors & {int(rows[i]["actor"]) for i in split.train}:
        return [split] * members
    order = []  # per sex: this split's validation actors first, then the others shuffled
    for sex in (1, 0):
        first = sorted(a for a in val_actors if a % 2 == sex)
        others = [a for a in np.unique(actors) if a % 2 == sex and a not in val_actors]
        order.append((first, list(rng.permutation(others))))
    splits = []
    for member in range(members):
        chosen = []
        for first, others in order:
            cycle = first + others
            chosen += [cycle[(member * len(first) + j) % len(cycle)] for j in range(len(first))]
        is_val = np.isin(actors, chosen)
        splits.append(Split(pool[~is_val], pool[is_val], split.test))
    return splits


def evaluation_views(X: np.ndarray, index: np.ndarray, X_aug, aug_owner, use_augmented: bool) -> np.ndarray:
    """(views, len(index), n_features): the rows of X, then (with use_augmented) each augmented copy."""
    views = [X[index]]
    if use_augmented and X_aug is not None:
        position = {row: np.flatnonzero(aug_owner == row) for row in index}
        copies = min(len(p) for p in position.values())
        views += [X_aug[[position[row][c] for row in index]] for c in range(copies)]
    return np.stack(views)


def class_prior(y_train: np.ndarray, n_classes: int = len(dp.LABELS)) -> np.ndarray:
    """(n_classes,) each emotion's share of the training labels; an absent emotion counts as one file."""
    counts = np.maximum(np.bincount(y_train, minlength=n_classes), 1).astype(np.float64)
    return counts / counts.sum()


def with_uniform_prior(probabilities: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
    """(n, n_classes) probabilities as if every emotion were equally likely: p(emotion | x) / prior,
    renormalised. The networks learn the training shares (RAVDESS has half as many neutral files);
    dividing them out is the decision that maximises balanced accuracy. None: unchanged."""
    if prior is None:
        return probabilities
    weighted = probabilities / prior
    return weighted / weighted.sum(axis=1, keepdims=True)


def predict_views(model, views: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
    """Softmax outputs (n, n_classes) averaged over the views (views, n, n_features) of each row, then
    with_uniform_prior(prior): how both the evaluation and predict.py turn features into probabilities."""
    n_views, n_rows, n_features = views.shape
    probabilities = model.predict(views.reshape(-1, n_features), batch_size=256, verbose=0)
    return with_uniform_prior(probabilities.reshape(n_views, n_rows, -1).mean(axis=0), prior)


def train_and_evaluate(X, y, rows, split: Split, X_aug, y_aug, aug_owner, args, rng: np.random.Generator,
                       verbose: int = 2):
    """Fit the scaler and ENSEMBLE networks on the non-test rows (+ their augmented copies); evaluate
    on split.test, averaging over each test file's augmented copies with TEST_TIME_AUGMENT.

    X_aug/y_aug are augmented rows and aug_owner[i] the row of X they were made from; a member trains
    only on copies of its own training rows. The scaler is fitted on the rows the members train on.
    With UNIFORM_PRIOR the probabilities are divided by the class shares of those rows (metrics["class_prior"]).
    Returns (model, mean, scale, the members' histories, metrics, probabilities).
    """
    members = member_splits(rows, split, args.ensemble, rng)
    trained = np.unique(np.concatenate([m.train for m in members]))
    mean, scale = fit_scaler(X[trained])
    scaled = lambda part: apply_scaler(part, mean, scale)  # noqa: E731
    networks, histories = [], []
    for number, member in enumerate(members):
        X_train, y_train = X[member.train], y[member.train]
        if X_aug is not None:
            keep = np.isin(aug_owner, member.train)
            X_train, y_train = np.concatenate([X_train, X_aug[keep]]), np.concatenate([y_train, y_aug[keep]])
        model, history = train_network(scaled(X_train), y_train, scaled(X[member.val]), y[member.val],
                                       model_config_from_args(args), args.epochs, args.batch_size,
                                       args.patience, args.lr_patience, args.seed + number, verbose)
        networks.append(model)
        histories.append(history)
    model = average_models(networks)
    views = evaluation_views(X, split.test, X_aug, aug_owner, args.test_time_augment)
    prior = class_prior(y[trained]) if args.uniform_prior else None
    probabilities = predict_views(model, scaled(views), prior)
    metrics = evaluate(y[split.test], probabilities, [rows[i] for i in split.test])
    metrics["class_prior"] = None if prior is None else prior.tolist()
    metrics["member_epochs"] = [len(h["loss"]) for h in histories]
    return model, mean, scale, histories, metrics, probabilities


def model_config_from_args(args: argparse.Namespace) -> ModelConfig:
    return ModelConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ModelConfig)})


def augment_config_from_args(args: argparse.Namespace) -> AugmentConfig:
    return AugmentConfig(args.augment_copies, tuple(args.noise_snr_db), tuple(args.speed_range),
                         tuple(args.pitch_semitones), args.shift_fraction, args.augment_probability)


def augmentation_for(prepared: Prepared, rows: list[dict], y: np.ndarray, args):
    """(X_aug, y_aug, aug_owner) for every row of the concatenated data (training rows for the members,
    test rows for test-time augmentation), or Nones if off."""
    if not args.augment:
        return None, None, None
    augment = augment_config_from_args(args)
    X_aug, y_aug = augmented_rows([row["path"] for row in rows], y, prepared.feature_config, augment, args.seed,
                                  args.cache_dir, args.jobs)
    return X_aug, y_aug, np.repeat(np.arange(len(y)), augment.copies)


def run_single(prepared: Prepared, args: argparse.Namespace) -> dict:
    X, y, rows = concatenated(prepared)
    split = prepared_split(prepared)
    X_aug, y_aug, owner = augmentation_for(prepared, rows, y, args)
    log.info("training %d network(s) on %d files of %d actors (+ augmented copies), %d validation actors each; "
             "testing on %d files (actors %s)", args.ensemble, len(split.train) + len(split.val),
             len({rows[i]["actor"] for i in np.concatenate([split.train, split.val])}),
             len({rows[i]["actor"] for i in split.val}), len(split.test),
             sorted({int(rows[i]["actor"]) for i in split.test}))
    start = time.perf_counter()
    model, mean, scale, histories, metrics, probabilities = train_and_evaluate(
        X, y, rows, split, X_aug, y_aug, owner, args, np.random.default_rng(args.seed))
    metrics.update({"train_size": int(len(split.train)), "val_size": int(len(split.val)),
                    "test_size": int(len(split.test)), "augment_copies": args.augment_copies if args.augment else 0,
                    "test_time_augment": bool(args.augment and args.test_time_augment),
                    "training_seconds": round(time.perf_counter() - start, 1),
                    "split_method": prepared.meta["split"]["method"], "settings": run_settings(args, prepared)})
    out = args.out_dir
    save_model(model, out / "model.keras")
    dp.write_json(out / "preprocessing.json", preprocessing_record(mean, scale, metrics["class_prior"], prepared, args))
    dp.write_json(out / "metrics.json", metrics)
    report = classification_report_text(y[split.test], probabilities)
    dp.atomic_write(out / "classification_report.txt", lambda f: f.write(report.encode()))
    dp.atomic_write(out / "history.csv", lambda f: f.write(history_csv(histories).encode()))
    plot_confusion(metrics["confusion_matrix"], out / "confusion_matrix.png",
                   f"test actors {metrics['test_actors']}")
    plot_history(histories, out / "training_curves.png")
    print(report)
    return metrics


def run_settings(args: argparse.Namespace, prepared: Prepared) -> dict:
    """The flags and feature config a result was produced with, so a metrics file says what it measured."""
    where = {"data_dir", "out_dir", "cache_dir", "jobs", "verbose", "force"}  # where and how, not what
    return {**{k: v for k, v in vars(args).items() if k not in where},
            "feature_config": prepared.feature_config.to_dict(), "data_fingerprint": prepared.meta.get("fingerprint")}


def finished_summary(path: Path, settings: dict) -> dict | None:
    """The JSON summary at path if a run with these settings on the same prepared data wrote it, else None."""
    try:
        summary = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    same = isinstance(summary, dict) and summary.get("settings") == json.loads(json.dumps(settings))
    return summary if same else None


def history_csv(histories: list[dict]) -> str:
    """One row per network and epoch: network, epoch, then the Keras history keys (loss, val_loss, ...)."""
    keys = list(histories[0])
    lines = [",".join(["network", "epoch"] + keys)]
    lines += [",".join([str(number), str(i + 1)] + [f"{history[k][i]:.6g}" for k in keys])
              for number, history in enumerate(histories) for i in range(len(history[keys[0]]))]
    return "\n".join(lines) + "\n"


def run_folds(prepared: Prepared, args: argparse.Namespace) -> dict:
    settings = run_settings(args, prepared)
    done = None if args.force else finished_summary(args.out_dir / "cv_metrics.json", settings)
    if done:
        log.info("%s already holds this cross-validation (same prepared data and settings); reusing it "
                 "(--force redoes it)", args.out_dir / "cv_metrics.json")
        print(fold_table(done["folds"], done))
        return done
    X, y, rows = concatenated(prepared)
    rng = np.random.default_rng(args.seed)
    splits = actor_folds(rows, args.folds, prepared.meta["split"]["val_fraction"], rng)
    X_aug, y_aug, owner = augmentation_for(prepared, rows, y, args)
    results = []
    for number, split in enumerate(splits, 1):
        start = time.perf_counter()
        *_, metrics, _ = train_and_evaluate(X, y, rows, split, X_aug, y_aug, owner, args, rng, verbose=0)
        results.append({"test_actors": metrics["test_actors"], "accuracy": metrics["accuracy"],
                        "balanced_accuracy": metrics["balanced_accuracy"], "macro_f1": metrics["macro_f1"],
                        "per_class_recall": {k: v["recall"] for k, v in metrics["per_class"].items()},
                        "seconds": round(time.perf_counter() - start, 1)})
        log.info("fold %d/%d: test actors %s, accuracy %.3f, balanced accuracy %.3f, macro F1 %.3f",
                 number, len(splits), metrics["test_actors"], metrics["accuracy"],
                 metrics["balanced_accuracy"], metrics["macro_f1"])
    keys = ("accuracy", "balanced_accuracy", "macro_f1")
    summary = {"folds": results,
               "mean": {k: float(np.mean([r[k] for r in results])) for k in keys},
               "std": {k: float(np.std([r[k] for r in results])) for k in keys},
               "settings": settings}
    dp.write_json(args.out_dir / "cv_metrics.json", summary)
    print(fold_table(results, summary))
    return summary


def fold_table(results: list[dict], summary: dict) -> str:
    keys = ("accuracy", "balanced_accuracy", "macro_f1")
    lines = [f"{'fold':<6}{'test actors':<18}" + "".join(f"{k:>19}" for k in keys)]
    for number, r in enumerate(results, 1):
        lines.append(f"{number:<6}{str(r['test_actors']):<18}" + "".join(f"{r[k]:>19.3f}" for k in keys))
    lines.append(f"{'mean ± std':<24}" + "".join(f"{summary['mean'][k]:>13.3f} ± {summary['std'][k]:.3f}"
                                                for k in keys))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- main
def quiet_tensorflow(verbose: bool = False) -> None:
    """Silence TensorFlow's start-up chatter (oneDNN notices, absl warnings) unless verbose."""
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # e.g. tf.function retracing notices


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=Path(DATA_DIR), help="what data_preparation.py wrote")
    p.add_argument("--out-dir", type=Path, default=Path(OUT_DIR), help="model, metrics and plots")
    p.add_argument("--cache-dir", type=Path, default=Path(CACHE_DIR), help="augmented-feature cache")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    p.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    p.add_argument("--width", type=int, default=WIDTH)
    p.add_argument("--blocks", type=int, default=BLOCKS)
    p.add_argument("--dropout", type=float, default=DROPOUT)
    p.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY)
    p.add_argument("--label-smoothing", type=float, default=LABEL_SMOOTHING)
    p.add_argument("--patience", type=int, default=PATIENCE)
    p.add_argument("--lr-patience", type=int, default=LR_PATIENCE)
    p.add_argument("--ensemble", type=int, default=ENSEMBLE,
                   help="networks averaged, each with other validation actors and its own seed")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=AUGMENT,
                   help="augmented copies of the training audio (--no-augment turns it off)")
    p.add_argument("--augment-copies", type=int, default=AUGMENT_COPIES)
    p.add_argument("--noise-snr-db", type=float, nargs=2, default=NOISE_SNR_DB)
    p.add_argument("--speed-range", type=float, nargs=2, default=SPEED_RANGE)
    p.add_argument("--pitch-semitones", type=float, nargs=2, default=PITCH_SEMITONES)
    p.add_argument("--shift-fraction", type=float, default=SHIFT_FRACTION)
    p.add_argument("--augment-probability", type=float, default=AUGMENT_PROBABILITY)
    p.add_argument("--test-time-augment", action=argparse.BooleanOptionalAction, default=TEST_TIME_AUGMENT,
                   help="average each test file's prediction over it and its augmented copies")
    p.add_argument("--uniform-prior", action=argparse.BooleanOptionalAction, default=UNIFORM_PRIOR,
                   help="divide the probabilities by each emotion's share of the training files")
    p.add_argument("--folds", type=int, default=FOLDS, help="K-fold cross-validation by actor (0: off)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--jobs", type=int, default=JOBS, help="worker processes for augmentation")
    p.add_argument("--force", action="store_true",
                   help="redo a cross-validation whose cv_metrics.json already holds these settings")
    p.add_argument("--verbose", action="store_true", help="keep TensorFlow's own log messages")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    prepared = load_prepared(args.data_dir)
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()  # same seed, same metrics
    if args.folds:
        summary = run_folds(prepared, args)
        log.info("%d-fold by actor: balanced accuracy %.3f ± %.3f, accuracy %.3f ± %.3f, macro F1 %.3f ± %.3f; "
                 "wrote %s", args.folds, summary["mean"]["balanced_accuracy"], summary["std"]["balanced_accuracy"],
                 summary["mean"]["accuracy"], summary["std"]["accuracy"], summary["mean"]["macro_f1"],
                 summary["std"]["macro_f1"], args.out_dir / "cv_metrics.json")
    else:
        metrics = run_single(prepared, args)
        log.info("test actors %s: accuracy %.3f, balanced accuracy %.3f, macro F1 %.3f, weighted F1 %.3f "
                 "(epochs per network %s, %.0f s); wrote %s", metrics["test_actors"], metrics["accuracy"],
                 metrics["balanced_accuracy"], metrics["macro_f1"], metrics["weighted_f1"],
                 metrics["member_epochs"], metrics["training_seconds"], args.out_dir)


def main(argv=None) -> int:
    args = parse_args(argv)
    dp.setup_logging(args.verbose)
    quiet_tensorflow(args.verbose)
    return dp.run_reporting_errors(run, args)


if __name__ == "__main__":
    # Run main from the importable module so worker processes unpickle its functions by reference.
    import model_training

    sys.exit(model_training.main())
