"""Outputs pinned before the code moved into the ser/ package (issue 15): the feature vectors of a
fixed synthetic corpus and of the real mini subset, the prepared arrays, and the metrics of a short
seeded training run. Reached only through the scripts' main() and what they write, so these tests
hold whatever the library's layout. A change that alters them must bump FEATURE_VERSION (features)
or say why the figures moved (training: AUGMENT_VERSION 2 added the degraded copies, issue 16)."""

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import data_preparation

FEATURE_NAMES_SHA = "75d12b99592488e5"
MINI_SPLITS = {'test': {'X': 'ff5d91126cb90d0e', 'manifest': 'f4aa63634daadd51', 'n': 30, 'y': 'c8869b82210cd345'},
               'train': {'X': '9327fad6f7a380c9', 'manifest': '3a81e90432abb909', 'n': 62, 'y': '882738610cd58ff1'},
               'val': {'X': '754dc8bff79768fd', 'manifest': '598bfda292e3408d', 'n': 30, 'y': 'c8869b82210cd345'}}
MINI_FILES = {'03-01-02-01-01-02-01.wav': 'd4e61fefcd3326aa', '03-01-05-02-01-01-08.wav': '1e866a9a26e286a7'}
SYNTHETIC_ROWS = "25f79828b189a730"
SYNTHETIC_FILE = ("03-01-05-01-01-01-03.wav", "76f27d4986b1428c")
TRAINED = {'accuracy': 0.3,  # augmentation version 2 (degraded copies); was 0.233333 before it
           'balanced_accuracy': 0.3125,
           'class_prior': 'dc7caa20146c951a',
           'confusion_matrix': [[1, 1, 0, 0, 0, 0, 0, 0], [0, 3, 0, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0],
                                [2, 0, 0, 2, 0, 0, 0, 0], [0, 2, 2, 0, 0, 0, 0, 0], [0, 0, 2, 1, 0, 1, 0, 0],
                                [1, 0, 1, 1, 0, 0, 1, 0], [2, 0, 0, 1, 0, 0, 1, 0]],
           'member_epochs': [4, 4, 4],
           'test_actors': [7, 8]}


def digest(values, decimals: int = 4) -> str:
    """Short hash of the values rounded to `decimals` (negative zero folded into zero)."""
    rounded = np.round(np.asarray(values, dtype=np.float64), decimals) + 0.0
    return hashlib.sha256(np.ascontiguousarray(rounded).tobytes()).hexdigest()[:16]


def text_digest(values) -> str:
    """Short hash of a JSON-able value (labels, manifest rows, names)."""
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()[:16]


def prepared(folder: Path) -> tuple[dict, dict, list[dict]]:
    meta = json.loads((folder / "meta.json").read_text())
    arrays = {f"{k}_{s}": np.load(folder / f"{k}_{s}.npy") for k in "Xy" for s in ("train", "val", "test")}
    with open(folder / "manifest.csv", newline="") as f:
        return meta, arrays, list(csv.DictReader(f))


def vector_of(name: str, arrays: dict, manifest: list[dict]) -> np.ndarray:
    """The feature row of the file called name, found through the manifest's array order."""
    split = next(row["split"] for row in manifest if Path(row["path"]).name == name)
    names = [Path(row["path"]).name for row in manifest if row["split"] == split]
    return arrays[f"X_{split}"][names.index(name)]


def test_feature_names_are_unchanged(prepared_mini):
    meta, _, _ = prepared(prepared_mini)
    assert len(meta["feature_names"]) == 1934
    assert hashlib.sha256("\n".join(meta["feature_names"]).encode()).hexdigest()[:16] == FEATURE_NAMES_SHA


def test_prepared_mini_arrays_are_unchanged(prepared_mini):
    _, arrays, manifest = prepared(prepared_mini)
    found = {}
    for split in ("train", "val", "test"):
        keys = ("actor", "gender", "emotion", "intensity", "statement", "repetition")
        rows = [[Path(row["path"]).name] + [row[k] for k in keys] for row in manifest if row["split"] == split]
        found[split] = {"n": len(rows), "X": digest(arrays[f"X_{split}"]),
                        "y": text_digest(arrays[f"y_{split}"].tolist()), "manifest": text_digest(rows)}
    assert found == MINI_SPLITS


@pytest.mark.parametrize("name", sorted(MINI_FILES))
def test_feature_vector_of_a_mini_file_is_unchanged(prepared_mini, name):
    _, arrays, manifest = prepared(prepared_mini)
    assert digest(vector_of(name, arrays, manifest)) == MINI_FILES[name]


def test_feature_vectors_of_the_synthetic_corpus_are_unchanged(synthetic_corpus, tmp_path):
    out = tmp_path / "processed"
    assert data_preparation.main(["--data-dir", str(synthetic_corpus), "--out-dir", str(out), "--jobs", "1"]) == 0
    _, arrays, manifest = prepared(out)
    names = sorted(Path(row["path"]).name for row in manifest)
    assert len(names) == 48
    assert digest([vector_of(name, arrays, manifest) for name in names]) == SYNTHETIC_ROWS
    assert digest(vector_of(SYNTHETIC_FILE[0], arrays, manifest)) == SYNTHETIC_FILE[1]


def test_metrics_of_a_short_seeded_training_run_are_unchanged(trained_mini):
    metrics = json.loads((trained_mini / "metrics.json").read_text())
    found = {"confusion_matrix": metrics["confusion_matrix"], "member_epochs": metrics["member_epochs"],
             "balanced_accuracy": round(metrics["balanced_accuracy"], 6), "accuracy": round(metrics["accuracy"], 6),
             "class_prior": digest(metrics["class_prior"], 6), "test_actors": metrics["test_actors"]}
    assert found == TRAINED
