"""ser.adaptation: each speaker with enough files is centred on their own mean; the others keep the training scaler;
where a file's speaker comes from."""

from pathlib import Path

import numpy as np

from ser.adaptation import speaker_scaler, speakers_of
from ser.corpus import LabelledFile


def features_of(speakers: list[str], offsets: dict[str, float], n_features: int = 5, seed: int = 0) -> np.ndarray:
    """(n, n_features) random rows, each speaker's shifted by their offset (a voice or a microphone)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((len(speakers), n_features)) * 2 + np.array([offsets[s] for s in speakers])[:, None]


def test_a_speaker_with_enough_files_is_centred_on_their_own_mean_and_the_offset_is_gone():
    speakers = np.array(["a"] * 6 + ["b"] * 6, dtype=object)
    X = features_of(list(speakers), {"a": 0.0, "b": 0.0})
    shifted = X + np.where(speakers == "b", 7.0, 0.0)[:, None]  # speaker b recorded through another channel
    train_mean, train_scale = np.zeros(5, np.float32), np.full(5, 2.0, np.float32)
    mean, scale, too_few = speaker_scaler(shifted, speakers, train_mean, train_scale, min_files=6)
    assert too_few == [] and mean.shape == scale.shape == X.shape
    scaled = (shifted - mean) / scale
    np.testing.assert_allclose(scaled[speakers == "b"].mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(scale, 2.0)  # only centred: the training scale
    np.testing.assert_allclose(scaled, (X - speaker_scaler(X, speakers, train_mean, train_scale, 6)[0]) / 2, atol=1e-5)


def test_a_speaker_with_too_few_files_keeps_the_training_scaler_and_is_named():
    speakers = np.array(["a"] * 5 + ["b"] * 4, dtype=object)
    X = features_of(list(speakers), {"a": 3.0, "b": -3.0})
    train_mean, train_scale = np.arange(5, dtype=np.float32), np.full(5, 0.5, np.float32)
    mean, scale, too_few = speaker_scaler(X, speakers, train_mean, train_scale, min_files=5)
    assert too_few == ["b"]
    np.testing.assert_allclose(mean[speakers == "b"], np.broadcast_to(train_mean, (4, 5)))
    np.testing.assert_allclose(mean[speakers == "a"], np.broadcast_to(X[:5].mean(axis=0), (5, 5)), rtol=1e-6)
    np.testing.assert_allclose(scale, 0.5)


def test_standardised_speakers_get_their_own_spread_or_the_training_scale_where_a_feature_is_constant():
    speakers = np.array(["a"] * 8, dtype=object)
    X = features_of(list(speakers), {"a": 1.0})
    X[:, 2] = 4.0  # a feature that does not vary for this speaker
    train_scale = np.full(5, 3.0, np.float32)
    _, scale, _ = speaker_scaler(X, speakers, np.zeros(5, np.float32), train_scale, min_files=8, standardise=True)
    np.testing.assert_allclose(scale[0], np.where(np.arange(5) == 2, 3.0, X.std(axis=0)), rtol=1e-6)


def test_the_speaker_of_a_file_comes_from_the_manifest_then_a_ravdess_name_then_all_files_are_one():
    ravdess, other, listed, unnamed = (Path("a/03-01-05-01-01-01-12.wav"), Path("b/me.wav"), Path("c/x.wav"),
                                       Path("d/y.wav"))
    rows = [LabelledFile(listed, "happy", "anna"), LabelledFile(unnamed, "sad", "")]  # a manifest without a speaker column
    assert speakers_of([ravdess, other, listed, unnamed], rows).tolist() == ["RAVDESS actor 12", "", "anna", ""]
