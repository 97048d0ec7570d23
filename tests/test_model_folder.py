"""ser.model_folder: preprocessing.json written and read back; another version or misfit values refused."""

import json
import shutil

import numpy as np
import pytest

from conftest import AUGMENT_CONFIG, FEATURE_CONFIG
from ser import corpus, model_folder


def test_preprocessing_round_trip(tmp_path):
    original = model_folder.Preprocessing(corpus.LABELS, FEATURE_CONFIG, ("a", "b"), np.array([1.0, 2.0], np.float32),
                                          np.array([0.5, 4.0], np.float32), (AUGMENT_CONFIG, 7), np.full(8, 1 / 8))
    model_folder.write_preprocessing(tmp_path, original)
    (tmp_path / "model.keras").write_bytes(b"")  # load_preprocessing wants both files
    loaded = model_folder.load_preprocessing(tmp_path)
    assert (loaded.labels, loaded.feature_config, loaded.feature_names) == (corpus.LABELS, FEATURE_CONFIG, ("a", "b"))
    np.testing.assert_array_equal(loaded.mean, original.mean)
    np.testing.assert_array_equal(loaded.scale, original.scale)
    assert loaded.test_time_augment == (AUGMENT_CONFIG, 7)  # tuples come back as tuples
    np.testing.assert_array_equal(loaded.class_prior, original.class_prior)


def test_model_folder_from_another_version_is_refused(trained_mini, tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(trained_mini, folder)
    record = json.loads((folder / "preprocessing.json").read_text())
    with pytest.raises(model_folder.ModelDirError, match="version"):
        (folder / "preprocessing.json").write_text(json.dumps(record | {"version": 0}))
        model_folder.load_preprocessing(folder)
    (folder / "preprocessing.json").write_text(json.dumps(record | {"feature_config": {"n_mfcc": 13}}))
    with pytest.raises(model_folder.ModelDirError, match="another feature config"):
        model_folder.load_preprocessing(folder)
    for prior in ([0.5, 0.5], [0.0] + [1 / 7] * 7):
        (folder / "preprocessing.json").write_text(json.dumps(record | {"class_prior": prior}))
        with pytest.raises(model_folder.ModelDirError, match="class_prior does not fit the 8 labels"):
            model_folder.load_preprocessing(folder)
    (folder / "preprocessing.json").write_text(json.dumps(record))
    (folder / "model.keras").write_bytes(b"garbage")
    with pytest.raises(model_folder.ModelDirError, match="cannot be loaded"):
        model_folder.load_network(folder, len(record["scaler_mean"]), 8)
