"""ser.augment: copies deterministic per seed and file, cached per setting, config checked."""

import dataclasses

import numpy as np
import pytest

from conftest import AUGMENT_CONFIG, ravdess_name, speech_like, write_wav
from conftest import FEATURE_CONFIG as CONFIG
from ser import augment, features
from ser.errors import ConfigError


def test_augmentation_is_deterministic_per_seed_and_changes_the_features(tmp_path):
    path = write_wav(tmp_path / ravdess_name(3, 1), speech_like(seconds=2.0))
    config, settings = CONFIG, dataclasses.replace(AUGMENT_CONFIG, copies=2, probability=1.0)
    first = augment.augmented_copies(path, config, settings, seed=1)
    assert first.shape == (2, len(features.feature_names(config)))
    np.testing.assert_array_equal(first, augment.augmented_copies(path, config, settings, seed=1))
    assert not np.allclose(first, augment.augmented_copies(path, config, settings, seed=2))
    assert not np.allclose(first[0], features.file_features(path, config))
    assert not np.allclose(first[0], first[1])


def test_augmented_features_are_cached_per_file_and_setting(tmp_path, monkeypatch):
    path = write_wav(tmp_path / ravdess_name(3, 1), speech_like(seconds=1.0))
    config, settings = CONFIG, dataclasses.replace(AUGMENT_CONFIG, copies=1)
    made = augment.cached_augmented_copies(path, config, settings, 1, tmp_path / "cache")
    monkeypatch.setattr(augment, "augmented_copies", lambda *a: pytest.fail("recomputed a cached file"))
    np.testing.assert_array_equal(made, augment.cached_augmented_copies(path, config, settings, 1, tmp_path / "cache"))
    with pytest.raises(pytest.fail.Exception):  # another setting is another cache entry
        other = dataclasses.replace(settings, probability=1.0)
        augment.cached_augmented_copies(path, config, other, 1, tmp_path / "cache")


def test_augmented_rows_say_which_file_each_copy_is_of(tmp_path):
    paths = [str(write_wav(tmp_path / ravdess_name(e, 1), speech_like(seconds=1.0, f0=120 + 20 * e))) for e in (1, 2)]
    two = dataclasses.replace(AUGMENT_CONFIG, copies=2)
    rows = augment.augmented_rows(paths, np.array([0, 1]), CONFIG, two, 1, tmp_path / "cache", jobs=1)
    assert rows.X.shape[0] == 4 and rows.y.tolist() == [0, 0, 1, 1] and rows.owner.tolist() == [0, 0, 1, 1]
    np.testing.assert_array_equal(rows.X[2:], augment.augmented_copies(paths[1], CONFIG, two, 1))


@pytest.mark.parametrize("change,message", [
    ({"copies": 0}, "copies 0"), ({"speed_range": (1.2, 0.8)}, "speed_range"),
    ({"probability": 2.0}, "probability 2.0"), ({"shift_fraction": 1.0}, "shift_fraction")])
def test_augment_config_names_the_bad_value(change, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(AUGMENT_CONFIG, **change)
