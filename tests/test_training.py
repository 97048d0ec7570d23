"""ser.training: no test file reaches the scaler or a network, each member sees only its own copies,
test-time views pair each file with its own copies, validation actors rotate."""

import dataclasses

import numpy as np
import pytest

from conftest import TRAIN_CONFIG
from ser import corpus, network, training
from ser.augment import AugmentedRows
from ser.errors import ConfigError
from ser.prepared_data import Dataset, ManifestRow


class FakeModel:
    """'Probabilities' that are the first feature repeated, so averaging over views can be seen."""

    def predict(self, X, batch_size=None, verbose=0):
        return np.repeat(X[:, :1], 8, axis=1)


def flow_config(**overrides) -> training.TrainConfig:
    return dataclasses.replace(TRAIN_CONFIG, epochs=1, **overrides)


def row(actor: int) -> ManifestRow:
    return ManifestRow(f"{actor}.wav", "train", "ravdess", str(actor), corpus.gender_of(actor), "neutral", "normal",
                       1, 1)


def tagged_data():
    """12 files, one per actor (odd male); X tags the split of each file, its training copy adds 0.5,
    the copy's degraded version 0.25, and its one test-time copy 0.75."""
    tag = {"train": 1.0, "val": 2.0, "test": 3.0}
    split = corpus.Split(np.arange(0, 6), np.arange(6, 8), np.arange(8, 12))
    X = np.zeros((12, 4), np.float32)
    for name in tag:
        X[getattr(split, name)] = tag[name]
    y = np.arange(12) % 8
    owner = np.repeat(np.arange(12), 2)  # two augmented copies of every file, train or not
    X_aug = X[owner] + np.tile([0.5, 0.25], 12)[:, None].astype(np.float32)
    degraded = np.tile([False, True], 12)
    test_time = {i: X[i][None] + 0.75 for i in range(12)}
    return Dataset(X, y, [row(i + 1) for i in range(12)]), split, AugmentedRows(X_aug, y[owner], owner, degraded,
                                                                                test_time)


@pytest.mark.parametrize("ensemble", [1, 3])
def test_scaler_members_and_test_time_views_never_touch_test_rows(monkeypatch, ensemble):
    data, split, augmented = tagged_data()
    seen = {"train": [], "val": []}

    def fake_scaler(X_train):
        seen["scaler"] = X_train.copy()
        return np.zeros(4, np.float32), np.ones(4, np.float32)

    def fake_train(X_train, y_train, X_val, y_val, *args, **kwargs):
        seen["train"].append(X_train.copy())
        seen["val"].append(X_val.copy())
        return FakeModel(), {"loss": [1.0], "val_loss": [1.0]}

    def keep_probabilities(probabilities, prior):  # FakeModel's outputs are not probabilities
        seen["prior"] = prior
        return probabilities

    monkeypatch.setattr(network, "fit_scaler", fake_scaler)
    monkeypatch.setattr(network, "train_network", fake_train)
    monkeypatch.setattr(network, "average_models", lambda models: models[0])
    monkeypatch.setattr(network, "with_uniform_prior", keep_probabilities)
    config = flow_config(ensemble=ensemble)
    result = training.train_and_evaluate(data, split, augmented, config, np.random.default_rng(0))
    assert len(seen["train"]) == ensemble
    for X_train, X_val in zip(seen["train"], seen["val"]):
        assert set(np.unique(X_train)) <= {1.0, 1.5, 1.25, 2.0, 2.5, 2.25}  # no test row, no test copy
        assert set(np.unique(X_val)) <= {1.0, 2.0} and len(X_val) == 2  # originals of 2 actors
        assert len(X_train) == 3 * 6  # the other 6 non-test rows and their 2 copies each
    if ensemble == 1:
        assert set(np.unique(seen["scaler"])) == {1.0} and len(seen["scaler"]) == 6
        assert set(np.unique(seen["train"][0])) == {1.0, 1.5, 1.25}
    else:  # the members train on every non-test actor, and the scaler sees those rows
        assert len(seen["scaler"]) == 8 and set(np.unique(seen["scaler"])) == {1.0, 2.0}
    # the prior comes from the trained rows' labels (0-5, or 0-7 with the val actors), not the test rows' (0-3)
    assert result.metrics["class_prior"] == pytest.approx([1 / 8] * 8)
    assert seen["prior"].tolist() == result.metrics["class_prior"] == result.prior.tolist()
    np.testing.assert_allclose(result.probabilities, (3.0 + 3.75) / 2)  # test file and its test-time copy, averaged
    assert result.metrics["test_speakers"] == ["9", "10", "11", "12"]
    assert result.metrics["member_epochs"] == [1] * ensemble


def test_without_test_time_augmentation_only_the_test_files_are_classified(monkeypatch):
    data, split, augmented = tagged_data()
    monkeypatch.setattr(network, "fit_scaler", lambda X_train: (np.zeros(4, np.float32), np.ones(4, np.float32)))
    monkeypatch.setattr(network, "train_network",
                        lambda *args, **kwargs: (FakeModel(), {"loss": [1.0], "val_loss": [1.0]}))
    config = flow_config(ensemble=1, test_time_augment=False, uniform_prior=False)
    result = training.train_and_evaluate(data, split, augmented, config, np.random.default_rng(0))
    np.testing.assert_allclose(result.probabilities, 3.0)
    assert result.prior is None and result.metrics["class_prior"] is None


def test_the_figure_without_test_time_augmentation_is_the_files_alone(monkeypatch):
    """The original files vote class 1, their voice copies class 2 more strongly: with the copies every test file
    (all class 1) is wrong, alone every one is right; metrics keep both."""
    class VotingModel:
        def predict(self, X, batch_size=None, verbose=0):
            votes = np.zeros((len(X), 8))
            votes[:, 1], votes[:, 2] = X[:, 0] == 3.0, 2.0 * (X[:, 0] == 3.75)
            return votes

    data, split, augmented = tagged_data()
    data = dataclasses.replace(data, y=np.where(np.isin(np.arange(12), split.test), 1, data.y))
    monkeypatch.setattr(network, "fit_scaler", lambda X_train: (np.zeros(4, np.float32), np.ones(4, np.float32)))
    monkeypatch.setattr(network, "train_network",
                        lambda *args, **kwargs: (VotingModel(), {"loss": [1.0], "val_loss": [1.0]}))
    result = training.train_and_evaluate(data, split, augmented, flow_config(ensemble=1, uniform_prior=False),
                                         np.random.default_rng(0))
    assert result.metrics["balanced_accuracy"] == 0.0 and result.metrics["balanced_accuracy_without_tta"] == 1.0
    plain = training.train_and_evaluate(data, split, augmented, flow_config(ensemble=1, test_time_augment=False,
                                                                            uniform_prior=False),
                                        np.random.default_rng(0))
    assert plain.metrics["balanced_accuracy"] == 1.0 and "balanced_accuracy_without_tta" not in plain.metrics


def test_splits_trained_together_are_each_split_trained_alone(monkeypatch):
    """train_splits draws every split's members first and trains all their networks in one queue (as --folds
    does): each split must get back its own networks, and the same as train_and_evaluate gives it alone."""
    class TrainedOn:
        """Votes that depend on the rows it was trained on and on the input."""

        def __init__(self, X_train):
            self.level = float(X_train.mean())

        def predict(self, X, batch_size=None, verbose=0):
            return X[:, :1] + self.level * np.arange(1, 9)

    class Average:
        def __init__(self, models):
            self.models = models

        def predict(self, X, batch_size=None, verbose=0):
            return np.mean([m.predict(X) for m in self.models], axis=0)

    data, split, augmented = tagged_data()
    other = corpus.Split(np.arange(4, 10), np.arange(10, 12), np.arange(0, 4))
    monkeypatch.setattr(network, "train_network", lambda X_train, *a, **k: (TrainedOn(X_train),
                                                                            {"loss": [1.0] * len(X_train),
                                                                             "val_loss": [1.0]}))
    monkeypatch.setattr(network, "average_models", Average)
    config = flow_config(ensemble=3)
    together = list(training.train_splits(data, [split, other], augmented, config, np.random.default_rng(0)))
    rng = np.random.default_rng(0)
    alone = [training.train_and_evaluate(data, s, augmented, config, rng) for s in (split, other)]
    for mine, theirs in zip(together, alone):
        np.testing.assert_array_equal(mine.probabilities, theirs.probabilities)
        assert mine.metrics == theirs.metrics
    assert together[0].metrics["test_speakers"] != together[1].metrics["test_speakers"]


def test_evaluation_views_pair_each_row_with_its_own_test_time_copies():
    X = np.arange(5, dtype=np.float32)[:, None] * 10
    test_time = {row: X[row][None] + np.array([[1], [2]], np.float32) for row in (2, 4)}
    augmented = AugmentedRows(X + 5, np.zeros(5), np.arange(5), np.zeros(5, bool), test_time)  # training copies: unused
    views = training.evaluation_views(X, np.array([4, 2]), augmented)
    np.testing.assert_array_equal(views[:, :, 0], [[40, 20], [41, 21], [42, 22]])
    assert training.evaluation_views(X, np.array([4, 2]), None).shape == (1, 2, 1)


def test_a_single_splits_test_files_get_test_time_copies_and_no_training_copies(monkeypatch):
    data, split, _ = tagged_data()
    asked = {}

    def fake_rows(paths, labels, speakers, *args):
        asked["train"] = list(paths)
        return AugmentedRows(np.zeros((len(paths), 4), np.float32), labels, np.arange(len(paths)),
                             np.zeros(len(paths), bool))

    def fake_test_time(paths, *args):
        asked["test"] = list(paths)
        return [np.full((1, 4), float(path.removesuffix(".wav")), np.float32) for path in paths]

    monkeypatch.setattr(training, "augmented_rows", fake_rows)
    monkeypatch.setattr(training, "test_time_rows", fake_test_time)
    augmented = training.augment_dataset(data, None, flow_config(), "cache", jobs=1, test_only=split.test)
    assert asked == {"train": [f"{i}.wav" for i in range(1, 9)], "test": [f"{i}.wav" for i in range(9, 13)]}
    assert augmented.owner.tolist() == list(range(8)) and sorted(augmented.test_time) == [8, 9, 10, 11]
    assert augmented.test_time[10][0, 0] == 11.0  # row 10 is 11.wav
    every = training.augment_dataset(data, None, flow_config(), "cache", jobs=1)  # folds: every file both
    assert len(asked["train"]) == len(asked["test"]) == 12 and sorted(every.test_time) == list(range(12))
    assert training.augment_dataset(data, None, flow_config(test_time_augment=False), "cache", jobs=1).test_time == {}
    assert training.augment_dataset(data, None, flow_config(augment=False), "cache", jobs=1) is None


def test_member_splits_rotate_validation_actors_through_every_non_test_actor():
    numbers = np.repeat(np.arange(1, 25), 8)
    actors, genders = numbers.astype(str).astype(object), np.where(numbers % 2, "male", "female").astype(object)
    rng = np.random.default_rng(0)
    for split in corpus.speaker_folds(actors, genders, 6, 0.15, rng):
        members = training.member_splits(actors, genders, split, 3, rng)
        assert members[0].train.tolist() == split.train.tolist() and members[0].val.tolist() == split.val.tolist()
        pool = set(actors[np.concatenate([split.train, split.val])])
        val_sets = [set(actors[m.val]) for m in members]
        for member, val in zip(members, val_sets):
            assert member.test is split.test
            assert set(actors[member.train]) | val == pool and not set(actors[member.train]) & val
            assert len(val) == len(val_sets[0]) and {int(a) % 2 for a in val} == {0, 1}
        assert not (val_sets[0] & val_sets[1] or val_sets[0] & val_sets[2] or val_sets[1] & val_sets[2])
        assert set().union(*(set(actors[m.train]) for m in members)) == pool
    shared = corpus.Split(np.arange(0, 150), np.arange(150, 192), np.arange(192, 240))  # actors in train and val
    assert all(m is shared for m in training.member_splits(actors, genders, shared, 3, rng))


@pytest.mark.parametrize("change,message", [({"ensemble": 0}, "ensemble 0"), ({"folds": 1}, "folds 1"),
                                            ({"learning_rate": 0.0}, "learning_rate 0.0"),
                                            ({"pitch_semitones": (4.0, -4.0)}, "pitch_semitones")])
def test_train_config_names_the_bad_value(change, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(TRAIN_CONFIG, **change)
