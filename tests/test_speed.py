"""bench/speed.py: its predict rows on the mini corpus, each a whole process; the table; bad --skip."""

import json
import subprocess
import sys

from conftest import ROOT, assert_one_line_error


def speed(*argv):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "speed.py"), *map(str, argv)], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    return done.returncode, done.stdout, done.stderr


def test_the_predict_rows_run_predict_py_as_processes_and_print_the_table(mini_dir, trained_mini, tmp_path):
    code, out, err = speed("--data-dir", mini_dir, "--skip", "make_run,folds", "--model-dir", trained_mini,
                           "--work-dir", tmp_path, "--repeats", 1, "--folder-files", 6)
    assert code == 0, err
    figures = json.loads((tmp_path / "speed.json").read_text())["predict"]
    assert set(figures) == {"one", "one_no_tta", "one_keras", "one_floor", "folder", "folder_no_tta"}
    assert all(value > 0 for value in figures.values())  # measured, not compared: speed is reported, not tested
    assert len(list((tmp_path / "folder").iterdir())) == 6  # the folder row's files, linked
    assert "predict.py, one file, cold start" in out and "predict.py, folder of 6 files" in out
    assert "make run" not in out  # skipped rows are not printed


def test_an_unknown_row_to_skip_is_one_line(mini_dir, tmp_path):
    code, out, err = speed("--data-dir", mini_dir, "--skip", "predict,everything", "--work-dir", tmp_path)
    assert code == 1
    assert_one_line_error(err, "--skip everything: not a row; the rows are make_run, folds, predict")


def test_without_model_dir_the_predict_rows_use_the_make_run_model_and_say_when_it_is_missing(mini_dir, tmp_path):
    code, out, err = speed("--data-dir", mini_dir, "--skip", "make_run,folds", "--work-dir", tmp_path)
    assert code == 1
    assert_one_line_error(err, f"{tmp_path / 'results'} holds no model: run this benchmark without --skip make_run")
    assert not (tmp_path / "speed.json").exists()  # refused before any row ran
