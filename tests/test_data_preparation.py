"""data_preparation.py: the command on bad folders and files, reuse, download, and the real mini subset."""

import csv
import hashlib
import json
import logging
from pathlib import Path

import numpy as np

import data_preparation
from conftest import bad_files, corpus_zip, ravdess_name
from ser import corpus, prepared_data


def test_main_on_a_missing_folder_prints_one_line_and_fails(tmp_path, capsys):
    assert data_preparation.main(["--data-dir", str(tmp_path / "nope"), "--out-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err


def test_main_on_a_folder_without_wavs_suggests_download(tmp_path, capsys):
    assert data_preparation.main(["--data-dir", str(tmp_path), "--out-dir", str(tmp_path / "out")]) == 1
    assert "no RAVDESS WAVs" in capsys.readouterr().err


def test_main_skips_bad_files_counts_them_and_reuses_its_output(synthetic_corpus, tmp_path, caplog):
    for kind, (path, _) in bad_files(tmp_path / "bad").items():
        path.rename(synthetic_corpus / "Actor_01" / ravdess_name(8, 1, intensity=2, repetition=2
                                                                 if kind in ("empty", "short") else 1,
                                                                 statement=2 if kind in ("silent", "short") else 1))
    out = tmp_path / "out"
    argv = ["--data-dir", str(synthetic_corpus), "--out-dir", str(out), "--jobs", "1"]
    with caplog.at_level(logging.INFO, logger="ser"):
        assert data_preparation.main(argv) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert len(meta["skipped"]) == 4
    assert sum(meta["counts"].values()) == 48
    assert "skipped 4" in caplog.text
    caplog.clear()
    mtime = (out / "X_train.npy").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="ser"):
        assert data_preparation.main(argv) == 0
    assert "reusing" in caplog.text and (out / "X_train.npy").stat().st_mtime_ns == mtime


def test_end_to_end_on_the_real_mini_subset(prepared_mini):
    out = prepared_mini
    meta = json.loads((out / "meta.json").read_text())
    arrays = {f"{k}_{s}": np.load(out / f"{k}_{s}.npy") for k in "Xy" for s in corpus.SPLITS}
    with open(out / "manifest.csv") as f:
        manifest = list(csv.DictReader(f))
    n_features = len(meta["feature_names"])
    assert meta["labels"] == list(corpus.LABELS)
    assert sum(len(arrays[f"y_{s}"]) for s in corpus.SPLITS) == len(manifest) == 122
    assert meta["skipped"] == []
    for split in corpus.SPLITS:
        X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        rows = [row for row in manifest if row["split"] == split]
        assert X.shape == (len(rows), n_features) and X.dtype == np.float32 and np.isfinite(X).all()
        assert [corpus.LABELS.index(row["emotion"]) for row in rows] == y.tolist()
        assert {row["gender"] for row in rows} == {"male", "female"}
        assert meta["counts"][split] == len(rows)
    actors = {s: {int(row["actor"]) for row in manifest if row["split"] == s} for s in corpus.SPLITS}
    assert not (actors["train"] & actors["val"] or actors["train"] & actors["test"] or actors["val"] & actors["test"])
    assert {s: sorted(a) for s, a in actors.items()} == meta["split"]["actors"]
    assert set(np.concatenate([arrays[f"y_{s}"] for s in corpus.SPLITS])) == set(range(8))
    stereo = {"03-01-02-01-01-02-01.wav", "03-01-08-01-02-02-01.wav"}
    assert stereo <= {Path(row["path"]).name for row in manifest}
    assert list(manifest[0]) == list(prepared_data.MANIFEST_COLUMNS)


def test_main_with_download_fetches_the_corpus_when_no_wavs_are_found(synthetic_corpus, tmp_path, serve):
    payload = corpus_zip({str(p.relative_to(synthetic_corpus)): p.read_bytes()
                          for p in sorted(synthetic_corpus.rglob("*.wav"))})
    url, _ = serve(payload)
    raw, out = tmp_path / "fresh" / "raw", tmp_path / "fresh" / "processed"
    argv = ["--data-dir", str(raw), "--out-dir", str(out), "--jobs", "1", "--download", "--corpus-url", url,
            "--corpus-md5", hashlib.md5(payload).hexdigest()]
    assert data_preparation.main(argv) == 0
    assert sum(json.loads((out / "meta.json").read_text())["counts"].values()) == 48
