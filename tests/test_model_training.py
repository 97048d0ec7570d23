"""model_training.py: model, scaler, augmentation, folds, bad inputs, and an end-to-end run."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import data_preparation as dp
import model_training as mt
import predict
from conftest import ravdess_name, speech_like, write_wav

mt.quiet_tensorflow()


# ------------------------------------------------------------------------------ model
def test_model_gives_a_distribution_over_the_8_emotions():
    model = mt.build_model(20, 8, mt.ModelConfig(width=16, blocks=2))
    probabilities = model.predict(np.random.default_rng(0).standard_normal((5, 20)).astype(np.float32), verbose=0)
    assert probabilities.shape == (5, 8)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_residual_blocks_add_their_input_to_the_block_output():
    import keras

    model = mt.build_model(12, 8, mt.ModelConfig(width=16, blocks=3))
    for block in range(3):
        skip = model.get_layer(f"block{block}_skip")
        assert isinstance(skip, keras.layers.Add)
        block_input, branch = skip.input
        probe = keras.Model(model.input, [block_input, branch, skip.output])
        x = np.random.default_rng(block).standard_normal((4, 12)).astype(np.float32)
        a, b, total = probe.predict(x, verbose=0)
        np.testing.assert_allclose(total, a + b, rtol=1e-5, atol=1e-6)
        assert np.abs(a).sum() > 0 and np.abs(b).sum() > 0  # both paths carry signal
        dense1 = model.get_layer(f"block{block}_dense1")
        assert dense1.input is block_input  # the skip starts where the block's first Dense does


def test_training_with_the_same_seed_gives_the_same_model():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 10)).astype(np.float32), rng.integers(0, 8, 64)
    config = mt.ModelConfig(width=16, blocks=1)
    runs = [mt.train_network(X, y, X[:16], y[:16], config, 3, 16, 5, 2, seed=3, verbose=0)[0] for _ in range(2)]
    other = mt.train_network(X, y, X[:16], y[:16], config, 3, 16, 5, 2, seed=4, verbose=0)[0]
    predictions = [m.predict(X, verbose=0) for m in runs + [other]]
    np.testing.assert_array_equal(predictions[0], predictions[1])
    assert not np.allclose(predictions[0], predictions[2])


def test_average_models_averages_the_members():
    members = [mt.build_model(6, 8, mt.ModelConfig(width=8, blocks=1)) for _ in range(3)]
    ensemble = mt.average_models(members)
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, rtol=1e-5)


# ------------------------------------------------------------------------------ scaler and data flow
class FakeModel:
    """'Probabilities' that are the first feature repeated, so averaging over views can be seen."""

    def predict(self, X, batch_size=None, verbose=0):
        return np.repeat(X[:, :1], 8, axis=1)


def flow_args(**overrides):
    args = mt.parse_args(["--epochs", "1"])
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


def tagged_data():
    """12 rows, one per actor (odd male); X tags the split of each row, augmented copies add 0.5 and 0.25."""
    tag = {"train": 1.0, "val": 2.0, "test": 3.0}
    split = mt.Split(np.arange(0, 6), np.arange(6, 8), np.arange(8, 12))
    X = np.zeros((12, 4), np.float32)
    for name in tag:
        X[getattr(split, name)] = tag[name]
    y = np.arange(12) % 8
    owner = np.repeat(np.arange(12), 2)  # two augmented copies of every row, train or not
    X_aug = X[owner] + np.tile([0.5, 0.25], 12)[:, None].astype(np.float32)
    rows = [{"actor": i + 1, "gender": "male" if i % 2 == 0 else "female", "intensity": "normal"} for i in range(12)]
    return X, y, rows, split, X_aug, owner


@pytest.mark.parametrize("ensemble", [1, 3])
def test_scaler_members_and_test_time_views_never_touch_test_rows(monkeypatch, ensemble):
    X, y, rows, split, X_aug, owner = tagged_data()
    seen = {"train": [], "val": []}

    def fake_scaler(X_train):
        seen["scaler"] = X_train.copy()
        return np.zeros(4, np.float32), np.ones(4, np.float32)

    def fake_train(X_train, y_train, X_val, y_val, *args, **kwargs):
        seen["train"].append(X_train.copy())
        seen["val"].append(X_val.copy())
        return FakeModel(), {"loss": [1.0]}

    def keep_probabilities(probabilities, prior):  # FakeModel's outputs are not probabilities
        seen["prior"] = prior
        return probabilities

    monkeypatch.setattr(mt, "fit_scaler", fake_scaler)
    monkeypatch.setattr(mt, "train_network", fake_train)
    monkeypatch.setattr(mt, "average_models", lambda models: models[0])
    monkeypatch.setattr(mt, "with_uniform_prior", keep_probabilities)
    *_, metrics, probabilities = mt.train_and_evaluate(X, y, rows, split, X_aug, y[owner], owner,
                                                       flow_args(ensemble=ensemble), np.random.default_rng(0))
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
    assert metrics["class_prior"] == pytest.approx([1 / 8] * 8) and seen["prior"].tolist() == metrics["class_prior"]
    np.testing.assert_allclose(probabilities, (3.0 + 3.5 + 3.25) / 3)  # test file and its 2 copies, averaged


def test_without_test_time_augmentation_only_the_test_files_are_classified(monkeypatch):
    X, y, rows, split, X_aug, owner = tagged_data()
    monkeypatch.setattr(mt, "fit_scaler", lambda X_train: (np.zeros(4, np.float32), np.ones(4, np.float32)))
    monkeypatch.setattr(mt, "train_network", lambda *args, **kwargs: (FakeModel(), {"loss": [1.0]}))
    *_, probabilities = mt.train_and_evaluate(X, y, rows, split, X_aug, y[owner], owner,
                                             flow_args(ensemble=1, test_time_augment=False, uniform_prior=False),
                                             np.random.default_rng(0))
    np.testing.assert_allclose(probabilities, 3.0)


def test_uniform_prior_divides_out_the_training_shares():
    y_train = np.array([0] * 2 + [1] * 4 + [2] * 4)  # neutral half as frequent; classes 3-7 absent
    prior = mt.class_prior(y_train, 8)
    assert prior.sum() == pytest.approx(1) and prior[0] == pytest.approx(prior[1] / 2) and prior[3] == prior[0] / 2
    probabilities = np.array([[0.30, 0.40, 0.30, 0, 0, 0, 0, 0], [0.1, 0.1, 0.8, 0, 0, 0, 0, 0]])
    adjusted = mt.with_uniform_prior(probabilities, prior)
    np.testing.assert_allclose(adjusted.sum(axis=1), 1)
    assert adjusted[0].argmax() == 0  # 0.30 / 2 beats 0.40 / 4: neutral wins once the shares are divided out
    np.testing.assert_allclose(adjusted[1, :3], [0.2, 0.1, 0.8] / np.float64(1.1))
    assert mt.with_uniform_prior(probabilities, None) is probabilities


def test_evaluation_views_pair_each_row_with_its_own_copies():
    X = np.arange(5, dtype=np.float32)[:, None] * 10
    owner = np.array([4, 0, 2, 4, 0, 2])  # copies in any order
    X_aug = X[owner] + np.array([1, 1, 1, 2, 2, 2], np.float32)[:, None]
    views = mt.evaluation_views(X, np.array([4, 2]), X_aug, owner, True)
    np.testing.assert_array_equal(views[:, :, 0], [[40, 20], [41, 21], [42, 22]])
    assert mt.evaluation_views(X, np.array([4, 2]), X_aug, owner, False).shape == (1, 2, 1)


def test_member_splits_rotate_validation_actors_through_every_non_test_actor():
    rows = [{"actor": a, "path": ravdess_name(e, a)} for a in range(1, 25) for e in range(1, 9)]
    actors = np.array([r["actor"] for r in rows])
    rng = np.random.default_rng(0)
    for split in mt.actor_folds(rows, 6, 0.15, rng):
        members = mt.member_splits(rows, split, 3, rng)
        assert members[0].train.tolist() == split.train.tolist() and members[0].val.tolist() == split.val.tolist()
        pool = set(actors[np.concatenate([split.train, split.val])])
        val_sets = [set(actors[m.val]) for m in members]
        for member, val in zip(members, val_sets):
            assert member.test is split.test
            assert set(actors[member.train]) | val == pool and not set(actors[member.train]) & val
            assert len(val) == len(val_sets[0]) and {a % 2 for a in val} == {0, 1}
        assert not (val_sets[0] & val_sets[1] or val_sets[0] & val_sets[2] or val_sets[1] & val_sets[2])
        assert set().union(*(set(actors[m.train]) for m in members)) == pool
    shared = mt.Split(np.arange(0, 150), np.arange(150, 192), np.arange(192, 240))  # actors in train and val
    assert all(m is shared for m in mt.member_splits(rows, shared, 3, rng))


def test_scaler_standardises_training_rows():
    X = np.random.default_rng(0).normal(5, 3, (200, 4)).astype(np.float32)
    X[:, 3] = 7.0  # constant feature
    mean, scale = mt.fit_scaler(X)
    scaled = mt.apply_scaler(X, mean, scale)
    np.testing.assert_allclose(scaled[:, :3].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled[:, :3].std(axis=0), 1, atol=1e-4)
    assert np.all(scaled[:, 3] == 0)


# ------------------------------------------------------------------------------ augmentation
def test_augmentation_is_deterministic_per_seed_and_changes_the_features(tmp_path):
    path = write_wav(tmp_path / ravdess_name(3, 1), speech_like(seconds=2.0))
    config, augment = dp.FeatureConfig(), mt.AugmentConfig(copies=2, probability=1.0)
    first = mt.augmented_copies(path, config, augment, seed=1)
    assert first.shape == (2, len(dp.feature_names(config)))
    np.testing.assert_array_equal(first, mt.augmented_copies(path, config, augment, seed=1))
    assert not np.allclose(first, mt.augmented_copies(path, config, augment, seed=2))
    assert not np.allclose(first[0], dp.file_features(path, config))
    assert not np.allclose(first[0], first[1])


def test_augmented_features_are_cached_per_file_and_setting(tmp_path, monkeypatch):
    path = write_wav(tmp_path / ravdess_name(3, 1), speech_like(seconds=1.0))
    config, augment = dp.FeatureConfig(), mt.AugmentConfig(copies=1)
    made = mt.cached_augmented_copies(path, config, augment, 1, tmp_path / "cache")
    monkeypatch.setattr(mt, "augmented_copies", lambda *a: pytest.fail("recomputed a cached file"))
    np.testing.assert_array_equal(made, mt.cached_augmented_copies(path, config, augment, 1, tmp_path / "cache"))
    with pytest.raises(pytest.fail.Exception):  # another setting is another cache entry
        mt.cached_augmented_copies(path, config, mt.AugmentConfig(copies=1, probability=1.0), 1, tmp_path / "cache")


# ------------------------------------------------------------------------------ folds
def test_actor_folds_follow_the_published_groups_and_never_share_actors():
    rows = [{"actor": a, "path": ravdess_name(e, a)} for a in range(1, 25) for e in range(1, 9)]
    splits = mt.actor_folds(rows, 6, 0.15, np.random.default_rng(0))
    actors = np.array([r["actor"] for r in rows])
    assert [sorted(set(actors[s.test])) for s in splits] == [list(range(i, i + 4)) for i in range(1, 25, 4)]
    for s in splits:
        train, val, test = (set(actors[part]) for part in (s.train, s.val, s.test))
        assert not (train & val or train & test or val & test)
        assert len(train | val | test) == 24
        assert {a % 2 for a in val} == {0, 1}


def test_too_many_folds_is_a_clear_error():
    rows = [{"actor": a, "path": ravdess_name(1, a)} for a in range(1, 9)]
    with pytest.raises(dp.UserError, match="--folds 9"):
        mt.actor_folds(rows, 9, 0.15, np.random.default_rng(0))


# ------------------------------------------------------------------------------ bad inputs
def test_missing_data_folder_is_a_one_line_error(tmp_path, capsys):
    assert mt.main(["--data-dir", str(tmp_path / "nothing"), "--out-dir", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "data_preparation.py" in err and "\n" not in err


def test_missing_array_and_mismatched_shapes_are_one_line_errors(prepared_mini, tmp_path, capsys):
    data = tmp_path / "processed"
    shutil.copytree(prepared_mini, data)
    (data / "y_val.npy").unlink()
    assert mt.main(["--data-dir", str(data), "--out-dir", str(tmp_path / "r")]) == 1
    assert "lacks y_val.npy" in capsys.readouterr().err
    shutil.copy(prepared_mini / "y_val.npy", data / "y_val.npy")
    X = np.load(data / "X_test.npy")
    np.save(data / "X_test.npy", X[:, :-3])  # as if made with another feature config
    assert mt.main(["--data-dir", str(data), "--out-dir", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert "X_test.npy has shape" in err and "\n" not in err
    np.save(data / "X_test.npy", X[:-1])
    assert mt.main(["--data-dir", str(data), "--out-dir", str(tmp_path / "r")]) == 1
    assert "rows" in capsys.readouterr().err


# ------------------------------------------------------------------------------ end to end
def test_end_to_end_outputs_are_complete_consistent_and_reloadable(trained_mini, prepared_mini, capsys):
    import keras
    import matplotlib.image

    expected = ["model.keras", "preprocessing.json", "metrics.json", "classification_report.txt",
                "history.csv", "confusion_matrix.png", "training_curves.png"]
    assert all((trained_mini / name).is_file() for name in expected)
    for picture in ("confusion_matrix.png", "training_curves.png"):
        image = matplotlib.image.imread(trained_mini / picture)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 400
    metrics = json.loads((trained_mini / "metrics.json").read_text())
    matrix = np.array(metrics["confusion_matrix"])
    y_test = np.load(prepared_mini / "y_test.npy")
    assert matrix.sum() == len(y_test) == metrics["test_size"]
    assert metrics["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    recalls = np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)
    assert metrics["balanced_accuracy"] == pytest.approx(recalls[matrix.sum(axis=1) > 0].mean())
    assert [metrics["per_class"][name]["support"] for name in dp.LABELS] == matrix.sum(axis=1).tolist()
    assert metrics["test_actors"] == json.loads((prepared_mini / "meta.json").read_text())["split"]["actors"]["test"]
    assert set(metrics["accuracy_by_gender"]) == {"male", "female"}
    assert metrics["augment_copies"] == 1 and metrics["test_time_augment"] is True
    assert len(metrics["member_epochs"]) == mt.ENSEMBLE
    with open(trained_mini / "history.csv") as f:
        history = list(csv.DictReader(f))
    epochs_per_network = [sum(row["network"] == str(n) for row in history) for n in range(mt.ENSEMBLE)]
    assert epochs_per_network == metrics["member_epochs"]
    assert {"epoch", "loss", "val_loss", "accuracy", "val_accuracy"} <= set(history[0])

    preprocessing = json.loads((trained_mini / "preprocessing.json").read_text())
    assert preprocessing["labels"] == list(dp.LABELS)
    assert dp.FeatureConfig.from_dict(preprocessing["feature_config"]) == dp.FeatureConfig()
    assert preprocessing["test_time_augment"]["augment"]["copies"] == 1
    trained_labels = np.concatenate([np.load(prepared_mini / "y_train.npy"), np.load(prepared_mini / "y_val.npy")])
    np.testing.assert_allclose(preprocessing["class_prior"],
                               np.bincount(trained_labels, minlength=8) / len(trained_labels))
    assert preprocessing["class_prior"][0] < min(preprocessing["class_prior"][1:])  # neutral: normal intensity only
    model = keras.models.load_model(trained_mini / "model.keras")
    assert len(model.layers) == 1 + mt.ENSEMBLE + 1  # input, the members, their average

    # predict.py, one file at a time with its own test-time copies, reproduces the test figures
    with open(prepared_mini / "manifest.csv", newline="") as f:
        test_paths = [row["path"] for row in csv.DictReader(f) if row["split"] == "test"]
    assert predict.main([*test_paths, "--model-dir", str(trained_mini), "--json", "--jobs", "2"]) == 0
    results = json.loads(capsys.readouterr().out)
    predicted = [dp.LABELS.index(r["emotion"]) for r in results]
    truth = [dp.LABELS.index(r["true_emotion"]) for r in results]
    from sklearn.metrics import confusion_matrix

    assert truth == y_test.tolist()
    np.testing.assert_array_equal(confusion_matrix(truth, predicted, labels=range(8)), matrix)


def test_second_run_reuses_cached_augmentation_and_reproduces_metrics(trained_mini, prepared_mini, tmp_path, caplog):
    cache = next(trained_mini.parent.glob("cache*"))  # the trained_mini fixture's --cache-dir
    out = tmp_path / "again"
    with caplog.at_level("INFO", logger="ser"):
        assert mt.main(["--data-dir", str(prepared_mini), "--out-dir", str(out), "--cache-dir", str(cache),
                        "--epochs", "4", "--augment-copies", "1", "--jobs", "1"]) == 0
    metrics = json.loads((trained_mini / "metrics.json").read_text())
    files = metrics["train_size"] + metrics["val_size"] + metrics["test_size"]
    assert f"augmenting {files} files x 1 copies: {files} already in" in caplog.text
    assert len(list((cache / "augment").glob("*.npy"))) == files  # one cache entry per file
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (trained_mini, out))
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "confusion_matrix"):
        assert first[key] == second[key]


def test_cross_validation_by_actor_on_the_mini_subset(prepared_mini, tmp_path, capsys, caplog, monkeypatch):
    command = ["--data-dir", str(prepared_mini), "--out-dir", str(tmp_path), "--folds", "4", "--epochs", "2",
               "--no-augment"]
    assert mt.main(command) == 0
    summary = json.loads((tmp_path / "cv_metrics.json").read_text())
    assert [fold["test_actors"] for fold in summary["folds"]] == [[1, 2], [3, 4], [5, 6], [7, 8]]
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        values = [fold[key] for fold in summary["folds"]]
        assert summary["mean"][key] == pytest.approx(np.mean(values))
        assert summary["std"][key] == pytest.approx(np.std(values))
    assert "mean ± std" in capsys.readouterr().out
    settings = summary["settings"]  # what was measured travels with the figures
    assert settings["folds"] == 4 and settings["epochs"] == 2 and settings["augment"] is False
    assert settings["learning_rate"] == mt.LEARNING_RATE and "out_dir" not in settings
    meta = json.loads((prepared_mini / "meta.json").read_text())
    assert settings["feature_config"] == meta["feature_config"] and settings["data_fingerprint"] == meta["fingerprint"]

    written = (tmp_path / "cv_metrics.json").read_text()  # the same run again is reused, not retrained
    monkeypatch.setattr(mt, "train_and_evaluate", lambda *a, **k: pytest.fail("retrained a finished run"))
    with caplog.at_level("INFO", logger="ser"):
        assert mt.main(command) == 0
    assert "already holds this cross-validation" in caplog.text
    assert (tmp_path / "cv_metrics.json").read_text() == written
    for changed in (["--force"], ["--epochs", "3"]):  # asked to, or another setting: trained again
        with pytest.raises(pytest.fail.Exception, match="retrained"):
            mt.main(command + changed)
