"""The classifier: a scaler, a residual Dense network, an ensemble average and the class prior.

Features (n, n_features) are standardised with the training rows' mean and scale, classified by
ENSEMBLE networks whose softmax outputs are averaged in one Keras model, and the probabilities
divided by each emotion's training share (the uniform prior). Keras is imported only inside the
functions that need it, so that importing this module is cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import sys

import numpy as np

from ser.corpus import LABELS
from ser.errors import UserError, require
from ser.parallel import imap_in_workers, worker_count

log = logging.getLogger(__name__)


def load_keras():
    """keras (and TensorFlow), imported with file descriptor 2 pointed at /dev/null when TF_CPP_MIN_LOG_LEVEL is 3
    (cli.quiet_tensorflow sets it; --verbose does not): TensorFlow 2.21 prints C++ start-up lines at import
    (the oneDNN notice, on CPUs where it is on) that ignore the variable (tensorflow/tensorflow#100442)."""
    if "keras" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "3":
        import keras

        return keras
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras


# ---------------------------------------------------------------------------------- scaling
def fit_scaler(X_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) of each feature over the training rows; constant features get scale 1."""
    mean, scale = X_train.mean(axis=0), X_train.std(axis=0)
    return mean.astype(np.float32), np.where(scale > 1e-8, scale, 1.0).astype(np.float32)


def apply_scaler(X: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return ((X - mean) / scale).astype(np.float32)


# ---------------------------------------------------------------------------------- network
@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The network's shape and its optimiser; the defaults are model_training.py's constants."""

    width: int  # units of every Dense layer
    blocks: int  # residual blocks
    dropout: float
    weight_decay: float  # L2 on the Dense kernels
    learning_rate: float
    label_smoothing: float

    def __post_init__(self):
        require(self.width >= 1 and self.blocks >= 0, f"width {self.width} must be at least 1 and blocks "
                                                      f"{self.blocks} at least 0 (--width, --blocks)")
        require(0 <= self.dropout < 1, f"dropout {self.dropout} must be 0 to below 1 (--dropout)")
        require(self.weight_decay >= 0, f"weight_decay {self.weight_decay} is negative (--weight-decay)")
        require(self.learning_rate > 0, f"learning_rate {self.learning_rate} must be above 0 (--learning-rate)")
        require(0 <= self.label_smoothing < 1, f"label_smoothing {self.label_smoothing} must be 0 to below 1")


def build_model(n_features: int, n_classes: int, config: ModelConfig):
    """Dense stem, then `blocks` residual blocks (Dense-BN-ReLU-Dropout-Dense-BN + skip), softmax.
    NumpyNetwork.forward computes the same from the exported weights: change both together."""
    keras = load_keras()
    from keras import layers

    regularizer = keras.regularizers.l2(config.weight_decay)
    inputs = keras.Input(shape=(n_features,), name="features")
    x = layers.Dense(config.width, kernel_regularizer=regularizer, name="stem")(inputs)
    x = layers.Activation("relu")(layers.BatchNormalization(name="stem_bn")(x))
    for block in range(config.blocks):
        h = layers.Dense(config.width, kernel_regularizer=regularizer, name=f"block{block}_dense1")(x)
        h = layers.BatchNormalization(name=f"block{block}_bn1")(h)
        h = layers.Dropout(config.dropout)(layers.Activation("relu")(h))
        h = layers.Dense(config.width, kernel_regularizer=regularizer, name=f"block{block}_dense2")(h)
        h = layers.BatchNormalization(name=f"block{block}_bn2")(h)
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
    keras = load_keras()

    if len(models) == 1:
        return models[0]
    inputs = keras.Input(shape=models[0].input_shape[1:], name="features")
    for i, model in enumerate(models):
        model.name = f"member{i}"
    outputs = keras.layers.Average(name="emotion")([model(inputs) for model in models])
    return keras.Model(inputs, outputs, name="ensemble")


# ---------------------------------------------------------------------------------- the same without TensorFlow
class NumpyNetwork:
    """A trained build_model network or average_models ensemble as numpy arrays (model.npz): predicts the
    same probabilities (to float32 rounding) without importing TensorFlow, whose import alone takes
    seconds; model.keras stays the model of record. Batch normalisation is folded into a scale and shift."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = {name: np.asarray(value, dtype=np.float32) for name, value in arrays.items()}
        self.members = sorted({name.split("/")[0] for name in self.arrays})
        self.blocks = sum(name.endswith("_dense1/kernel") for name in self.arrays) // max(len(self.members), 1)
        require(self.members and all(f"{m}/stem/kernel" in self.arrays for m in self.members),
                f"{len(self.arrays)} arrays hold no network (member/stem/kernel missing)")

    @classmethod
    def from_keras(cls, model) -> "NumpyNetwork":
        keras = load_keras()
        members = [layer for layer in model.layers if isinstance(layer, keras.Model)] or [model]
        arrays = {}
        for number, member in enumerate(members):
            for layer in member.layers:
                name = f"member{number}/{layer.name}"
                if isinstance(layer, keras.layers.Dense):
                    arrays[f"{name}/kernel"], arrays[f"{name}/bias"] = layer.kernel.numpy(), layer.bias.numpy()
                elif isinstance(layer, keras.layers.BatchNormalization):
                    scale = layer.gamma.numpy() / np.sqrt(layer.moving_variance.numpy() + layer.epsilon)
                    arrays[f"{name}/scale"] = scale
                    arrays[f"{name}/shift"] = layer.beta.numpy() - layer.moving_mean.numpy() * scale
                elif layer.weights:
                    raise TypeError(f"NumpyNetwork has no {type(layer).__name__} (layer {layer.name}): teach its "
                                    f"forward what build_model now builds")
        return cls(arrays)

    @property
    def n_features(self) -> int:
        return self.arrays[f"{self.members[0]}/stem/kernel"].shape[0]

    @property
    def n_classes(self) -> int:
        return self.arrays[f"{self.members[0]}/emotion/kernel"].shape[1]

    def forward(self, member: str, X: np.ndarray) -> np.ndarray:
        """(n, n_classes) softmax outputs of one member for scaled features X (n, n_features)."""
        a = lambda name: self.arrays[f"{member}/{name}"]  # noqa: E731
        dense = lambda x, name: x @ a(f"{name}/kernel") + a(f"{name}/bias")  # noqa: E731
        norm = lambda x, name: x * a(f"{name}/scale") + a(f"{name}/shift")  # noqa: E731
        x = np.maximum(norm(dense(X, "stem"), "stem_bn"), 0)
        for block in range(self.blocks):
            h = np.maximum(norm(dense(x, f"block{block}_dense1"), f"block{block}_bn1"), 0)
            x = np.maximum(x + norm(dense(h, f"block{block}_dense2"), f"block{block}_bn2"), 0)
        logits = dense(x, "emotion")
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: np.ndarray, batch_size: int = 0, verbose: int = 0) -> np.ndarray:
        """(n, n_classes) the members' softmax outputs averaged: keras.Model.predict's signature and result."""
        X = np.asarray(X, dtype=np.float32)
        return np.mean([self.forward(member, X) for member in self.members], axis=0)


@functools.lru_cache(maxsize=2)
def _trainer(n_features: int, n_classes: int, config: ModelConfig):
    """A compiled build_model network kept for the process: train_network trains every network of this shape
    in it, so that Keras traces its training step once (~4 s a network) instead of once per network."""
    return build_model(n_features, n_classes, config)


def train_network(X_train, y_train, X_val, y_val, config: ModelConfig, epochs: int, batch_size: int,
                  patience: int, lr_patience: int, seed: int, verbose: int = 2, n_classes: int = len(LABELS)):
    """(trained model, history dict) with early stopping and LR schedule on the validation set.

    X_* are scaled features (n, n_features), y_* labels 0..n_classes-1 (n,). The network is built from
    seed and trained in _trainer's compiled copy, started from its weights, dropout seeds and a fresh
    optimiser state: the same results as training the new network itself (tests/test_network.py)."""
    keras = load_keras()

    trainer = _trainer(X_train.shape[1], n_classes, config)
    keras.utils.set_random_seed(seed)
    model = build_model(X_train.shape[1], n_classes, config)
    _copy_variables(model.variables, trainer.variables)
    for variable in trainer.optimizer.variables:  # Adam's moments, its step count and the learning rate
        variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
    trainer.optimizer.learning_rate.assign(config.learning_rate)
    one_hot = lambda y: keras.utils.to_categorical(y, n_classes)  # noqa: E731
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=lr_patience, min_lr=1e-5),
        keras.callbacks.TerminateOnNaN(),
    ]
    history = trainer.fit(X_train, one_hot(y_train), validation_data=(X_val, one_hot(y_val)), epochs=epochs,
                          batch_size=batch_size, shuffle=True, callbacks=callbacks, verbose=verbose)
    _copy_variables(trainer.variables, model.variables)
    losses = history.history.get("loss", [])
    if not np.isfinite(losses).all():
        raise UserError(f"training diverged: the loss became NaN or infinite in epoch {len(losses)} (learning rate "
                        f"{config.learning_rate}); lower --learning-rate")
    return model, {k: [float(v) for v in values] for k, values in history.history.items()}


def train_networks(tasks, count: int, jobs: int, verbose: int = 2):
    """(model, history) of train_network(**task, verbose=verbose) for each of count tasks (dicts of its other
    arguments; an iterable, made as they are needed), yielded in order. With jobs and count above 1 they train
    in min(jobs, count) worker processes at once, the cores shared out as TensorFlow threads: the same networks
    bit for bit (its kernels sum alike on 1 thread or 2; tests/test_network.py), sooner, because one network
    runs little faster on 2 threads than on 1 (2 cores: two networks at once in ~1.3x the time of one)."""
    workers = min(worker_count(jobs), count)
    if workers <= 1:
        trained = (train_network(**task, verbose=verbose) for task in tasks)
    else:
        log.info("training %d networks, %d at once", count, workers)
        trained = _trained_in_workers(tasks, workers)
    for number, (model, history) in enumerate(trained, 1):
        best = int(np.argmin(history["val_loss"]))
        log.info("network %d/%d: %d epochs, the best validation loss %.4f after %d", number, count,
                 len(history["val_loss"]), history["val_loss"][best], best + 1)
        yield model, history


def _trained_in_workers(tasks, workers: int):
    """train_networks' worker processes: each of workers uses its share of the cores as TensorFlow's threads and
    sends back the network's variables, from which it is built here."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    worker = _NetworkWorker(threads, _op_determinism())
    for (n_features, n_classes, config), values, history in imap_in_workers(worker, tasks, workers):
        model = build_model(n_features, n_classes, config)
        _copy_variables(values, model.variables)
        yield model, history


def _op_determinism() -> bool:
    """Whether TensorFlow's op determinism is on here (model_training.py turns it on): a worker does the same."""
    from tensorflow.python.framework.config import is_op_determinism_enabled  # no public getter

    return is_op_determinism_enabled()


@dataclasses.dataclass(frozen=True)
class _NetworkWorker:
    """train_network in a worker process on `threads` TensorFlow threads, with op determinism as the main process
    has it; returns the network's shape, its variables as arrays and its history (picklable)."""

    threads: int
    deterministic: bool

    def __call__(self, task: dict):
        _configure_tensorflow(self.threads, self.deterministic)
        model, history = train_network(**task, verbose=0)
        shape = (task["X_train"].shape[1], task.get("n_classes", len(LABELS)), task["config"])
        return shape, [variable.numpy() for variable in model.variables], history


@functools.lru_cache(maxsize=1)
def _configure_tensorflow(threads: int, deterministic: bool) -> None:
    """Once in a process, before TensorFlow's first operation: its thread pools, and op determinism if asked."""
    load_keras()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def _copy_variables(sources, targets) -> None:
    """Assign each of sources (Keras variables: weights, batch-norm statistics, dropout seed states) to the
    target in the same place of another network of the same shape."""
    require([tuple(v.shape) for v in sources] == [tuple(v.shape) for v in targets],
            "the networks to copy between differ in shape")
    for source, target in zip(sources, targets):
        target.assign(source)


# ---------------------------------------------------------------------------------- prior and prediction
def class_prior(y_train: np.ndarray, n_classes: int = len(LABELS)) -> np.ndarray:
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
    with_uniform_prior(prior): how both the evaluation and predict.py turn features into probabilities.
    model: a keras.Model or a NumpyNetwork."""
    n_views, n_rows, n_features = views.shape
    probabilities = model.predict(views.reshape(-1, n_features), batch_size=256, verbose=0)
    return with_uniform_prior(probabilities.reshape(n_views, n_rows, -1).mean(axis=0), prior)

