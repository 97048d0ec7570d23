"""data_preparation.py: the command on bad folders and files, reuse, download, and the real mini subset."""

import csv
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

import data_preparation
from conftest import (ROOT, assert_one_line_error, bad_files, corpus_zip, interrupt_when, is_gone, loky_workers,
                      ravdess_name, run_script, wait_for)
from ser import atomic, corpus, prepared_data


def test_main_on_a_missing_folder_prints_one_line_and_fails(tmp_path, capsys):
    assert data_preparation.main(["--data-dir", str(tmp_path / "nope"), "--out-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err


def test_main_on_a_folder_without_wavs_suggests_download(tmp_path, capsys):
    assert data_preparation.main(["--data-dir", str(tmp_path), "--out-dir", str(tmp_path / "out")]) == 1
    assert "no RAVDESS WAVs" in capsys.readouterr().err


def test_main_skips_bad_files_counts_them_and_reuses_its_output(synthetic_corpus, tmp_path, caplog):
    unused_names = [ravdess_name(emotion, 1, intensity=2, statement=statement, repetition=repetition)
                    for emotion in (8, 7) for statement in (1, 2) for repetition in (1, 2)]
    bad = bad_files(tmp_path / "bad")
    for (path, _), name in zip(bad.values(), unused_names):
        path.rename(synthetic_corpus / "Actor_01" / name)
    out = tmp_path / "out"
    argv = ["--data-dir", str(synthetic_corpus), "--out-dir", str(out), "--jobs", "1"]
    with caplog.at_level(logging.INFO, logger="ser"):
        assert data_preparation.main(argv) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert sorted(Path(s["path"]).name for s in meta["skipped"]) == sorted(unused_names[:len(bad)])
    assert all(any(reason in s["reason"] for _, reason in bad.values()) for s in meta["skipped"])
    assert sum(meta["counts"].values()) == 48
    assert f"skipped {len(bad)}" in caplog.text
    caplog.clear()
    mtime = (out / "X_train.npy").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="ser"):
        assert data_preparation.main(argv) == 0
    assert "reusing" in caplog.text and (out / "X_train.npy").stat().st_mtime_ns == mtime


def test_features_extracted_on_a_dask_cluster_are_the_local_ones(synthetic_corpus, tmp_path, dask_scheduler, caplog):
    local, remote = tmp_path / "local", tmp_path / "dask"
    assert data_preparation.main(["--data-dir", str(synthetic_corpus), "--out-dir", str(local), "--jobs", "1"]) == 0
    assert data_preparation.main(["--data-dir", str(synthetic_corpus), "--out-dir", str(remote),
                                  "--dask-scheduler", dask_scheduler]) == 0
    for name in prepared_data.PREPARED_FILES:
        if name.endswith(".npy") or name == "manifest.csv":
            assert (remote / name).read_bytes() == (local / name).read_bytes(), name
    code, _, err = run_script("data_preparation.py", "--data-dir", synthetic_corpus, "--out-dir", tmp_path / "x",
                              "--dask-scheduler", "tcp://127.0.0.1:9")
    assert code == 1
    assert_one_line_error(err, "cannot reach the Dask scheduler at tcp://127.0.0.1:9")


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
    actors = {s: {int(row["speaker"]) for row in manifest if row["split"] == s} for s in corpus.SPLITS}
    assert not (actors["train"] & actors["val"] or actors["train"] & actors["test"] or actors["val"] & actors["test"])
    assert {s: [str(a) for a in sorted(a)] for s, a in actors.items()} == meta["split"]["speakers"]
    assert {row["corpus"] for row in manifest} == {"ravdess"} and meta["corpora"] == {"ravdess": 122}
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


def test_a_run_killed_between_two_renames_is_refused_downstream_and_remade(synthetic_corpus, tmp_path, caplog):
    out = tmp_path / "out"
    argv = ["--data-dir", synthetic_corpus, "--out-dir", out, "--jobs", "1000"]
    with caplog.at_level(logging.INFO, logger="ser"):
        assert data_preparation.main(list(map(str, argv))) == 0
    assert f"--jobs 1000 is more than the {os.cpu_count()} cores" in caplog.text
    before = {p.name: atomic.file_digest(p) for p in out.iterdir()}
    code, _, err = run_script("data_preparation.py", *argv, "--force", "--seed", "7",
                              env={atomic.KILL_AFTER_RENAMES: "3"})
    assert code == -signal.SIGKILL, err
    assert {p.name: atomic.file_digest(p) for p in out.iterdir() if p.name in before} != before
    code, _, err = run_script("model_training.py", "--data-dir", out, "--out-dir", tmp_path / "results")
    assert code == 1
    assert_one_line_error(err, f"{out} is incomplete", f"run data_preparation.py --out-dir {out}")
    code, _, err = run_script("data_preparation.py", *argv)  # not "already made": it is remade
    assert code == 0, err
    assert "removed 5 temporary files that an interrupted run left" in err and "reusing" not in err
    assert {p.name: atomic.file_digest(p) for p in out.iterdir()} == before  # the same inputs and seed again
    assert len(prepared_data.load_prepared(out).dataset().y) == 48


def test_flags_and_output_folders_that_cannot_work_are_refused_before_any_extraction(synthetic_corpus, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for argv, words in ((["--out-dir", a_file], [f"--out-dir {a_file} is a file"]),
                        (["--out-dir", "/dev/null/out"], ["cannot write in --out-dir /dev/null/out"]),
                        (["--jobs", "0"], ["jobs 0: use -1 for all cores"])):
        code, _, err = run_script("data_preparation.py", "--data-dir", synthetic_corpus, *argv)
        assert code == 1
        assert_one_line_error(err, *words)
        assert "found" not in err  # refused before the files were even listed


def test_killing_the_main_process_ends_its_workers_and_ctrl_c_prints_one_line(mini_dir, tmp_path):
    command = [sys.executable, str(ROOT / "data_preparation.py"), "--data-dir", str(mini_dir), "--jobs", "2"]
    process = subprocess.Popen([*command, "--out-dir", str(tmp_path / "a")], cwd=ROOT, stderr=subprocess.PIPE)
    assert wait_for(lambda: len(loky_workers(process.pid)) == 2)
    workers = loky_workers(process.pid)
    process.kill()
    process.communicate()
    assert wait_for(lambda: all(is_gone(pid) for pid in workers), timeout=10), "workers outlived the main process"
    process = subprocess.Popen([*command, "--out-dir", str(tmp_path / "b")], cwd=ROOT, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    code, err = interrupt_when(process, lambda: len(loky_workers(process.pid)) == 2)
    assert code == 130
    assert_one_line_error(err, "interrupted", str(tmp_path / "b"))
    assert not (tmp_path / "b" / atomic.RECORD).exists()
