"""ser.model_folder: preprocessing.json written and read back; another version or misfit values refused."""

import json
import os
import shutil
import dataclasses

import numpy as np
import pytest

from conftest import AUGMENT_CONFIG, FEATURE_CONFIG, TRAIN_CONFIG, rewrite_folder
from ser import atomic, corpus, model_folder, network



def test_preprocessing_round_trip(tmp_path):
    original = model_folder.Preprocessing(corpus.LABELS, FEATURE_CONFIG, ("a", "b"), np.array([1.0, 2.0], np.float32),
                                          np.array([0.5, 4.0], np.float32), AUGMENT_CONFIG, np.full(8, 1 / 8))
    tiny = network.build_model(2, 8, dataclasses.replace(TRAIN_CONFIG.model_config, width=4, blocks=1))
    model_folder.write_model_folder(tmp_path, tiny, original, {})
    loaded = model_folder.load_preprocessing(tmp_path)
    assert (loaded.labels, loaded.feature_config, loaded.feature_names) == (corpus.LABELS, FEATURE_CONFIG, ("a", "b"))
    np.testing.assert_array_equal(loaded.mean, original.mean)
    np.testing.assert_array_equal(loaded.scale, original.scale)
    assert loaded.test_time_augment == AUGMENT_CONFIG  # tuples come back as tuples
    np.testing.assert_array_equal(loaded.class_prior, original.class_prior)


def test_model_folder_from_another_version_is_refused(trained_mini, tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(trained_mini, folder)
    record = json.loads((folder / "preprocessing.json").read_text())

    def write(values):
        rewrite_folder(folder, {"preprocessing.json": json.dumps(values).encode()})

    write(record | {"version": 0})
    with pytest.raises(model_folder.ModelDirError, match="version"):
        model_folder.load_preprocessing(folder)
    write(record | {"feature_config": {"n_mfcc": 13}})
    with pytest.raises(model_folder.ModelDirError, match="another feature config"):
        model_folder.load_preprocessing(folder)
    for prior in ([0.5, 0.5], [0.0] + [1 / 7] * 7, [float("nan")] * 8):
        write(record | {"class_prior": prior})
        with pytest.raises(model_folder.ModelDirError, match="class_prior does not fit the 8 labels"):
            model_folder.load_preprocessing(folder)
    for scale in (0.0, float("nan"), float("inf")):
        write(record | {"scaler_scale": [scale] + record["scaler_scale"][1:]})
        with pytest.raises(model_folder.ModelDirError, match="scaler holds NaN, infinite or non-positive"):
            model_folder.load_preprocessing(folder)
    write(record)
    n_features = len(record["scaler_mean"])
    model_folder.load_network(folder, n_features, 8, "numpy")
    with pytest.raises(model_folder.ModelDirError, match=r"model.npz takes \(\d+,\) features and gives 8 classes, "
                                                         r"preprocessing.json says 7 and 8"):
        model_folder.load_network(folder, 7, 8, "numpy")
    rewrite_folder(folder, {"model.keras": b"garbage", "model.npz": b"garbage too"})
    for runtime in model_folder.RUNTIMES:
        with pytest.raises(model_folder.ModelDirError, match=f"model.{'npz' if runtime == 'numpy' else 'keras'} "
                                                             f"cannot be loaded"):
            model_folder.load_network(folder, n_features, 8, runtime)


def test_a_folder_mixed_by_hand_or_left_incomplete_is_refused(trained_mini, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(trained_mini, folder)
    model_folder.load_preprocessing(folder)
    (folder / "model.keras").write_bytes((folder / "model.keras").read_bytes() + b"\0")  # another run's, say
    with pytest.raises(model_folder.ModelDirError, match="model.keras is not the file complete.json vouches for"):
        model_folder.load_preprocessing(folder)
    (folder / atomic.RECORD).unlink()
    with pytest.raises(model_folder.ModelDirError, match="incomplete: it has no readable complete.json"):
        model_folder.load_preprocessing(folder)


def test_every_output_of_the_model_folder_has_the_usual_permissions(trained_mini):
    umask = os.umask(0)
    os.umask(umask)
    modes = {path.name: path.stat().st_mode & 0o777 for path in trained_mini.iterdir()}
    assert modes == dict.fromkeys(modes, 0o666 & ~umask)  # model.keras was 0600: others could not read it
