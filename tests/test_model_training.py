"""model_training.py: bad prepared folders, and end-to-end runs on the mini subset (single split and folds)."""

import csv
import io
import json
import logging
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import model_training
import predict
from conftest import (FEATURE_CONFIG, ROOT, assert_one_line_error, interrupt_when, loky_workers, rewrite_folder,
                      run_script)
from ser import atomic, cli, corpus, features, prepared_data, training

cli.quiet_tensorflow()


def test_missing_data_folder_is_a_one_line_error(tmp_path, capsys):
    assert model_training.main(["--data-dir", str(tmp_path / "nothing"), "--out-dir", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "data_preparation.py" in err and "\n" not in err


def test_missing_array_and_mismatched_shapes_are_one_line_errors(prepared_mini, tmp_path, capsys):
    data = tmp_path / "processed"
    shutil.copytree(prepared_mini, data)
    (data / "y_val.npy").unlink()
    assert model_training.main(["--data-dir", str(data), "--out-dir", str(tmp_path / "r")]) == 1
    assert "lacks y_val.npy" in capsys.readouterr().err
    shutil.copy(prepared_mini / "y_val.npy", data / "y_val.npy")
    X = np.load(data / "X_test.npy")
    rewrite_folder(data, {"X_test.npy": npy(X[:, :-3])})  # as if made with another feature config
    assert model_training.main(["--data-dir", str(data), "--out-dir", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert "X_test.npy has shape" in err and "\n" not in err
    rewrite_folder(data, {"X_test.npy": npy(X[:-1])})
    assert model_training.main(["--data-dir", str(data), "--out-dir", str(tmp_path / "r")]) == 1
    assert "rows" in capsys.readouterr().err


def test_end_to_end_outputs_are_complete_consistent_and_reloadable(trained_mini, prepared_mini, capsys):
    import keras
    import matplotlib.image

    expected = ["model.keras", "model.npz", "preprocessing.json", "metrics.json", "classification_report.txt",
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
    assert [metrics["per_class"][name]["support"] for name in corpus.LABELS] == matrix.sum(axis=1).tolist()
    meta = json.loads((prepared_mini / "meta.json").read_text())
    assert metrics["test_speakers"] == meta["split"]["speakers"]["test"]
    assert set(metrics["accuracy_by_gender"]) == {"male", "female"}
    assert metrics["augment_copies"] == 1 and metrics["test_time_augment"] is True
    assert 0 <= metrics["balanced_accuracy_without_tta"] <= 1 and metrics["augment_seconds"] > 0
    assert len(metrics["member_epochs"]) == model_training.ENSEMBLE
    with open(trained_mini / "history.csv") as f:
        history = list(csv.DictReader(f))
    epochs_per_network = [sum(row["network"] == str(n) for row in history) for n in range(model_training.ENSEMBLE)]
    assert epochs_per_network == metrics["member_epochs"]
    assert {"epoch", "loss", "val_loss", "accuracy", "val_accuracy"} <= set(history[0])

    preprocessing = json.loads((trained_mini / "preprocessing.json").read_text())
    assert preprocessing["labels"] == list(corpus.LABELS)
    assert features.FeatureConfig.from_dict(preprocessing["feature_config"]) == FEATURE_CONFIG
    assert preprocessing["test_time_augment"]["copies"] == 1
    trained_labels = np.concatenate([np.load(prepared_mini / "y_train.npy"), np.load(prepared_mini / "y_val.npy")])
    np.testing.assert_allclose(preprocessing["class_prior"],
                               np.bincount(trained_labels, minlength=8) / len(trained_labels))
    assert preprocessing["class_prior"][0] < min(preprocessing["class_prior"][1:])  # neutral: normal intensity only
    model = keras.models.load_model(trained_mini / "model.keras")
    assert len(model.layers) == 1 + model_training.ENSEMBLE + 1  # input, the members, their average

    # predict.py, one file at a time with its own test-time copies, reproduces the test figures
    with open(prepared_mini / "manifest.csv", newline="") as f:
        test_paths = [row["path"] for row in csv.DictReader(f) if row["split"] == "test"]
    assert predict.main([*test_paths, "--model-dir", str(trained_mini), "--json", "--jobs", "2"]) == 0
    results = json.loads(capsys.readouterr().out)
    predicted = [corpus.LABELS.index(r["emotion"]) for r in results]
    truth = [corpus.LABELS.index(r["true_emotion"]) for r in results]
    from sklearn.metrics import confusion_matrix

    assert truth == y_test.tolist()
    np.testing.assert_array_equal(confusion_matrix(truth, predicted, labels=range(8)), matrix)


def test_second_run_reuses_cached_augmentation_and_reproduces_metrics(trained_mini, prepared_mini, tmp_path, caplog):
    cache = next(trained_mini.parent.glob("cache*"))  # the trained_mini fixture's --cache-dir
    out = tmp_path / "again"
    with caplog.at_level("INFO", logger="ser"):
        assert model_training.main(["--data-dir", str(prepared_mini), "--out-dir", str(out), "--cache-dir", str(cache),
                        "--epochs", "4", "--augment-copies", "1", "--jobs", "1"]) == 0
    metrics = json.loads((trained_mini / "metrics.json").read_text())
    trained, tested = metrics["train_size"] + metrics["val_size"], metrics["test_size"]
    assert f"augmenting {trained} files x 1 copies and their degraded versions: {trained} already in" in caplog.text
    assert f"test-time copies of {tested} files on a grid of 1 (pitch, tempo): {tested} already in" in caplog.text
    entries = list((cache / "augment").glob("*.npy"))  # one per file: training copies, or the test files' grid
    assert len(entries) == trained + tested and sum("-grid-" in e.name for e in entries) == tested
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (trained_mini, out))
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "confusion_matrix"):
        assert first[key] == second[key]


def test_cross_validation_by_actor_on_the_mini_subset(prepared_mini, tmp_path, capsys, caplog, monkeypatch):
    command = ["--data-dir", str(prepared_mini), "--out-dir", str(tmp_path), "--folds", "4", "--epochs", "2",
               "--no-augment"]
    assert model_training.main(command) == 0
    summary = json.loads((tmp_path / "cv_metrics.json").read_text())
    assert [fold["test_speakers"] for fold in summary["folds"]] == [["1", "2"], ["3", "4"], ["5", "6"], ["7", "8"]]
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        values = [fold[key] for fold in summary["folds"]]
        assert summary["mean"][key] == pytest.approx(np.mean(values))
        assert summary["std"][key] == pytest.approx(np.std(values))
    assert "mean ± std" in capsys.readouterr().out
    settings = summary["settings"]  # what was measured travels with the figures
    assert settings["folds"] == 4 and settings["epochs"] == 2 and settings["augment"] is False
    assert settings["learning_rate"] == model_training.LEARNING_RATE and "out_dir" not in settings
    meta = json.loads((prepared_mini / "meta.json").read_text())
    assert settings["feature_config"] == meta["feature_config"] and settings["data_fingerprint"] == meta["fingerprint"]

    written = (tmp_path / "cv_metrics.json").read_text()  # the same run again is reused, not retrained
    monkeypatch.setattr(training, "train_splits", lambda *a, **k: pytest.fail("retrained a finished run"))
    with caplog.at_level("INFO", logger="ser"):
        assert model_training.main(command) == 0
    assert "already holds this cross-validation" in caplog.text
    assert (tmp_path / "cv_metrics.json").read_text() == written
    for changed in (["--force"], ["--epochs", "3"]):  # asked to, or another setting: trained again
        with pytest.raises(pytest.fail.Exception, match="retrained"):
            model_training.main(command + changed)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_run_killed_after_the_model_is_renamed_leaves_a_folder_predict_refuses(trained_mini, prepared_mini, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(trained_mini, out)
    code, _, err = run_script("model_training.py", "--data-dir", prepared_mini, "--out-dir", out, "--epochs", "1",
                              "--ensemble", "1", "--no-augment", env={atomic.KILL_AFTER_RENAMES: "1"})
    assert code == -signal.SIGKILL, err
    assert (out / "model.keras").read_bytes() != (trained_mini / "model.keras").read_bytes()  # a new model, old rest
    clip = prepared_data.load_prepared(prepared_mini).rows["test"][0].path
    code, _, err = run_script("predict.py", clip, "--model-dir", out)
    assert code == 2
    assert_one_line_error(err, f"{out} is incomplete", f"python model_training.py --out-dir {out}")


def test_outputs_that_cannot_be_written_are_refused_before_training(prepared_mini, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for argv, words in ((["--out-dir", a_file], [f"--out-dir {a_file} is a file"]),
                        (["--out-dir", "/dev/null/results"], ["cannot write in --out-dir /dev/null/results"]),
                        (["--cache-dir", a_file], [f"--cache-dir {a_file / 'augment'}", "Not a directory"]),
                        (["--jobs", "0"], ["jobs 0: use -1 for all cores"])):
        code, _, err = run_script("model_training.py", "--data-dir", prepared_mini, *argv)
        assert code == 1
        assert_one_line_error(err, *words)
        assert "augmenting" not in err and "training" not in err


def test_a_diverging_training_is_stopped_and_named(prepared_mini, tmp_path, capsys):
    argv = ["--data-dir", str(prepared_mini), "--out-dir", str(tmp_path / "r"), "--epochs", "5", "--ensemble", "1",
            "--no-augment", "--learning-rate", "1e12"]
    assert model_training.main(argv) == 1
    assert "training diverged: the loss became NaN or infinite" in capsys.readouterr().err
    assert not (tmp_path / "r" / "model.keras").exists()


def test_damaged_cache_entries_are_named_removed_and_recomputed(trained_mini, prepared_mini, tmp_path, caplog):
    cache = tmp_path / "cache"
    shutil.copytree(next(trained_mini.parent.glob("cache*")), cache)
    entries = sorted((cache / "augment").glob("*.npy"))
    entries[0].write_bytes(b"")  # zero bytes
    entries[1].write_bytes(entries[1].read_bytes()[:200])  # truncated
    good = np.load(entries[2])
    entries[2].write_bytes(npy(np.full_like(good, np.nan)))  # not finite
    with caplog.at_level(logging.WARNING, logger="ser"):
        assert model_training.main(["--data-dir", str(prepared_mini), "--out-dir", str(tmp_path / "r"),
                                    "--cache-dir", str(cache), "--epochs", "1", "--ensemble", "1",
                                    "--augment-copies", "1", "--jobs", "1"]) == 0
    damaged = [m for m in caplog.messages if "damaged cache entry" in m]
    assert sorted(m.split(":")[0] for m in damaged) == [str(e) for e in entries[:3]]
    np.testing.assert_allclose(np.load(entries[2]), good, rtol=1e-5, atol=1e-5)  # recomputed: the same copies
    assert all(np.load(e).shape == good.shape for e in entries[:2])


def test_ctrl_c_during_augmentation_prints_one_line(prepared_mini, tmp_path):
    process = subprocess.Popen([sys.executable, str(ROOT / "model_training.py"), "--data-dir", str(prepared_mini),
                                "--out-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "cache"),
                                "--jobs", "2"], cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True)
    code, err = interrupt_when(process, lambda: len(loky_workers(process.pid)) == 2)
    assert code == 130
    assert_one_line_error(err, "interrupted", str(tmp_path / "r"))
