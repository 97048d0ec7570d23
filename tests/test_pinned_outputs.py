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
SIGNATURE_TOLERANCE = 1e-3  # relative noise of 1e-5 moves a projection 2e-5; one feature of 1934 moved by 10%
#                             moves one by 3.6e-3 (median; 92% of such single-feature changes are caught)
MINI_SPLITS = {'test': {'manifest': 'f4aa63634daadd51', 'n': 30, 'y': 'c8869b82210cd345'},
               'train': {'manifest': '3a81e90432abb909', 'n': 62, 'y': '882738610cd58ff1'},
               'val': {'manifest': '598bfda292e3408d', 'n': 30, 'y': 'c8869b82210cd345'}}
# signatures of the same outputs as the hashes pinned before (re-expressed at af46296, whose features are those)
MINI_X = {'test': [-1.98356, -0.55914, -3.06793, -1.05944, 5.14952, -1.11542, -4.04389, 2.65706, 1.17568, -1.52705,
                   2.96473, 3.67731, 0.92787, -3.21686, -0.41539, 0.69866],
          'train': [-2.91896, -1.51136, -1.95667, 0.63347, -1.16132, 5.59399, -2.21077, 2.74853, -0.6775, -1.97552,
                    1.56616, 3.88852, -0.56048, -1.4707, 3.11641, 2.34409],
          'val': [-2.7962, -1.86083, -4.19163, -1.93481, 5.97193, -2.56559, -5.45499, 1.97228, 1.96901, -0.94233,
                  3.20356, 3.32626, 1.91724, -3.49564, -0.41667, 0.03875]}
MINI_FILES = {'03-01-02-01-01-02-01.wav': [2.91591, -4.2036, 0.5708, -4.104, 1.47163, -1.05428, 2.30151, -0.88302,
                                           -4.40078, 0.06404, -1.23795, 1.58116, 1.61428, -0.74516, 1.97305, -1.4037],
              '03-01-05-02-01-01-08.wav': [0.97156, -4.1683, -0.06923, 0.22538, 3.91399, -0.09147, 2.86972, 1.26237,
                                           -6.33947, -0.27913, -5.4936, 1.88776, 1.80415, -3.6452, 2.24032, -1.58807]}
SYNTHETIC_ROWS = [-2.56651, -4.45417, 3.89905, -1.70465, -0.76518, 2.17495, -3.87427, 1.79528, -3.14171, 2.10275,
                  1.55489, -3.78778, -2.89807, -0.70805, 0.3184, 3.18658]
SYNTHETIC_FILE = ("03-01-05-01-01-01-03.wav", [3.53485, -1.95099, -2.53771, -1.92415, -3.29427, 0.88738, 2.70182,
                                              -3.29293, -5.8545, -0.5648, 0.25074, -0.15666, 2.08405, -3.49246,
                                              -1.28339, -0.74712])
TRAINED = {'accuracy': 0.3,  # augmentation version 2 (degraded copies); was 0.233333 before it
           'balanced_accuracy': 0.3125,
           'class_prior': 'dc7caa20146c951a',
           'confusion_matrix': [[1, 1, 0, 0, 0, 0, 0, 0], [0, 3, 0, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0],
                                [2, 0, 0, 2, 0, 0, 0, 0], [0, 2, 2, 0, 0, 0, 0, 0], [0, 0, 2, 1, 0, 1, 0, 0],
                                [1, 0, 1, 1, 0, 0, 1, 0], [2, 0, 0, 1, 0, 0, 1, 0]],
           'member_epochs': [4, 4, 4],
           'test_actors': [7, 8]}


def signature(values) -> list[float]:
    """16 fixed random projections of the values, each compressed by arcsinh so that small and large
    features count alike: moved by any real change of the features, not by the floating-point noise
    between machines (a hash of rounded values was: the same commit hashed differently on another CPU)."""
    flat = np.arcsinh(np.asarray(values, dtype=np.float64)).ravel()
    basis = np.random.default_rng(0).standard_normal((16, flat.size)) / np.sqrt(flat.size)
    return [round(float(v), 5) for v in basis @ flat]


def assert_same_signature(values, pinned: list[float]) -> None:
    np.testing.assert_allclose(signature(values), pinned, rtol=0, atol=SIGNATURE_TOLERANCE)


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
        found[split] = {"n": len(rows), "y": text_digest(arrays[f"y_{split}"].tolist()),
                        "manifest": text_digest(rows)}
        assert_same_signature(arrays[f"X_{split}"], MINI_X[split])
    assert found == MINI_SPLITS


@pytest.mark.parametrize("name", sorted(MINI_FILES))
def test_feature_vector_of_a_mini_file_is_unchanged(prepared_mini, name):
    _, arrays, manifest = prepared(prepared_mini)
    assert_same_signature(vector_of(name, arrays, manifest), MINI_FILES[name])


def test_feature_vectors_of_the_synthetic_corpus_are_unchanged(synthetic_corpus, tmp_path):
    out = tmp_path / "processed"
    assert data_preparation.main(["--data-dir", str(synthetic_corpus), "--out-dir", str(out), "--jobs", "1"]) == 0
    _, arrays, manifest = prepared(out)
    names = sorted(Path(row["path"]).name for row in manifest)
    assert len(names) == 48
    assert_same_signature([vector_of(name, arrays, manifest) for name in names], SYNTHETIC_ROWS)
    assert_same_signature(vector_of(SYNTHETIC_FILE[0], arrays, manifest), SYNTHETIC_FILE[1])


def test_metrics_of_a_short_seeded_training_run_are_unchanged(trained_mini):
    metrics = json.loads((trained_mini / "metrics.json").read_text())
    found = {"confusion_matrix": metrics["confusion_matrix"], "member_epochs": metrics["member_epochs"],
             "balanced_accuracy": round(metrics["balanced_accuracy"], 6), "accuracy": round(metrics["accuracy"], 6),
             "class_prior": digest(metrics["class_prior"], 6), "test_actors": metrics["test_actors"]}
    assert found == TRAINED
