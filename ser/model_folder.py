"""The model folder that model_training.py writes and predict.py reads.

    model.keras          the averaged networks (Keras 3 format, no Lambda layers): the model of record
    model.npz            the same weights as plain arrays (ser.network.NumpyNetwork), which predict.py
                         runs without importing TensorFlow
    preprocessing.json   PREPROCESSING_VERSION, labels, feature config and names, scaler mean and
                         scale, class prior, test-time augmentation config: plain numbers

(model_training.py adds metrics.json, reports and plots beside them, and ser.atomic's complete.json
vouches for all of them.) The writer and the reader are both here; the reader refuses a folder
that is incomplete or mixed, another version, or values that do not fit each other.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Callable

import numpy as np

from ser.atomic import bytes_saver, listed_files, verify_folder, write_folder
from ser.augment import AugmentConfig
from ser.errors import UserError
from ser.features import FeatureConfig
from ser.network import NumpyNetwork, load_keras

log = logging.getLogger(__name__)

PREPROCESSING_VERSION = 4  # bump when preprocessing.json changes (4: test-time copies on a grid, no seed)


class ModelDirError(UserError):
    """The model folder cannot be used (predict.py exits with 2)."""


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """What model_training.py saved besides the network."""

    labels: tuple[str, ...]
    feature_config: FeatureConfig
    feature_names: tuple[str, ...]
    mean: np.ndarray  # (n_features,) scaler
    scale: np.ndarray  # (n_features,)
    test_time_augment: AugmentConfig | None  # what the test-time copies are made with (ser.augment.test_time_grid)
    class_prior: np.ndarray | None  # (n_labels,) training share of each emotion, divided out of the probabilities


def remake_hint(model_dir: Path) -> str:
    return f"train one with: python model_training.py --out-dir {model_dir}"


def preprocessing_record(preprocessing: Preprocessing) -> dict:
    """preprocessing.json: everything besides the network that predict.py needs, as plain numbers (no pickle)."""
    tta = preprocessing.test_time_augment
    return {
        "version": PREPROCESSING_VERSION, "labels": list(preprocessing.labels),
        "feature_config": preprocessing.feature_config.to_dict(), "feature_names": list(preprocessing.feature_names),
        "scaler_mean": preprocessing.mean.tolist(), "scaler_scale": preprocessing.scale.tolist(),
        "test_time_augment": None if tta is None else dataclasses.asdict(tta),
        "class_prior": None if preprocessing.class_prior is None else preprocessing.class_prior.tolist()}


def write_model_folder(model_dir: Path, model, preprocessing: Preprocessing,
                       reports: dict[str, Callable[[Path], None]]) -> None:
    """model.keras, preprocessing.json and the run's reports (name -> save(path)), replacing the previous
    ones as a whole (ser.atomic.write_folder), so that predict.py never pairs a model with another's scaler."""
    record = json.dumps(preprocessing_record(preprocessing), indent=2).encode()
    arrays = NumpyNetwork.from_keras(model).arrays
    write_folder(model_dir, {"model.keras": model.save, "model.npz": bytes_saver(lambda f: np.savez(f, **arrays)),
                             "preprocessing.json": bytes_saver(lambda f: f.write(record)), **reports})


def _parse(record: dict, source: str) -> Preprocessing:
    """Preprocessing from the JSON record; KeyError, TypeError, ValueError or UserError if it does not fit."""
    tta = record["test_time_augment"]
    if tta is not None:
        tta = AugmentConfig.from_dict(tta)
    prior = record["class_prior"]
    return Preprocessing(tuple(record["labels"]), FeatureConfig.from_dict(record["feature_config"], source),
                         tuple(record.get("feature_names", ())),
                         np.asarray(record["scaler_mean"], dtype=np.float32),
                         np.asarray(record["scaler_scale"], dtype=np.float32), tta,
                         None if prior is None else np.asarray(prior, dtype=np.float64))


def load_preprocessing(model_dir: Path) -> Preprocessing:
    """preprocessing.json of a model folder, checked; ModelDirError saying how to make a good one."""
    hint, source = remake_hint(model_dir), f"{model_dir}/preprocessing.json"
    if not model_dir.is_dir():
        raise ModelDirError(f"model folder {model_dir} does not exist; {hint}")
    missing = [name for name in ("model.keras", "preprocessing.json") if not (model_dir / name).is_file()]
    if missing:
        raise ModelDirError(f"model folder {model_dir} lacks {', '.join(missing)}; {hint}")
    try:
        verify_folder(model_dir, ("model.keras", "preprocessing.json"), hint)
    except UserError as err:
        raise ModelDirError(str(err)) from None
    try:
        record = json.loads((model_dir / "preprocessing.json").read_text())
        if record.get("version") != PREPROCESSING_VERSION:
            raise ModelDirError(f"{source} is version {record.get('version')}, this predict.py reads version "
                                f"{PREPROCESSING_VERSION}; {hint}")
        preprocessing = _parse(record, source)
    except ModelDirError:
        raise
    except (ValueError, KeyError, TypeError, UserError) as err:
        raise ModelDirError(f"{source} is unreadable or from another version ({err}); {hint}") from None
    mean, prior, labels = preprocessing.mean, preprocessing.class_prior, preprocessing.labels
    if not (len(mean) == len(preprocessing.scale) == len(preprocessing.feature_names or mean)):
        raise ModelDirError(f"{source}: scaler and feature names disagree; {hint}")
    if not (np.isfinite(mean).all() and np.isfinite(preprocessing.scale).all() and (preprocessing.scale > 0).all()):
        raise ModelDirError(f"{source}: the scaler holds NaN, infinite or non-positive values; {hint}")
    if prior is not None and (prior.shape != (len(labels),) or not (prior > 0).all() or not np.isfinite(prior).all()):
        raise ModelDirError(f"{source}: class_prior does not fit the {len(labels)} labels; {hint}")
    return preprocessing


RUNTIMES = ("numpy", "keras")


def load_network(model_dir: Path, n_features: int, n_labels: int, runtime: str = "keras"):
    """The network of a model folder, checked against the feature and label counts: runtime "keras" loads
    model.keras (a keras.Model), "numpy" model.npz (a NumpyNetwork, no TensorFlow import; a folder written
    before model.npz existed falls back to model.keras, with a warning)."""
    hint = remake_hint(model_dir)
    if runtime not in RUNTIMES:
        raise UserError(f"runtime {runtime!r} is not one of {', '.join(RUNTIMES)} (--runtime)")
    if runtime == "numpy" and "model.npz" not in listed_files(model_dir):
        log.warning("%s has no model.npz (trained before it was written): using model.keras, which starts "
                    "seconds slower; %s to get it", model_dir, hint)
        runtime = "keras"
    name = f"model.{'npz' if runtime == 'numpy' else 'keras'}"
    try:
        if runtime == "numpy":
            with np.load(model_dir / name) as arrays:
                model = NumpyNetwork(dict(arrays))
            shape = (model.n_features,), model.n_classes
        else:
            model = load_keras().models.load_model(model_dir / name)
            shape = tuple(model.input_shape[1:]), model.output_shape[-1]
    except Exception as err:  # Keras and numpy raise many kinds for a damaged or foreign file
        raise ModelDirError(f"{model_dir}/{name} cannot be loaded ({type(err).__name__}); {hint}") from None
    if shape != ((n_features,), n_labels):
        raise ModelDirError(f"{model_dir}/{name} takes {shape[0]} features and gives {shape[1]} classes, "
                            f"preprocessing.json says {n_features} and {n_labels}; {hint}")
    return model
