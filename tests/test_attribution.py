"""bench/attribution.py: groups from feature names; putting every group back gives the clean score."""

import importlib.util
import shutil
import subprocess
import sys

import numpy as np

from conftest import ROOT, assert_one_line_error, rewrite_folder

spec = importlib.util.spec_from_file_location("attribution", ROOT / "bench" / "attribution.py")
attribution = importlib.util.module_from_spec(spec)
spec.loader.exec_module(attribution)


def attribute(*argv):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "attribution.py"), *map(str, argv)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    return done.returncode, done.stdout, done.stderr


def test_a_group_is_a_name_without_its_index():
    groups = attribution.feature_groups(("mfcc_mean0", "mfcc_mean1", "f0_p10", "f0_p90", "voiced_fraction"))
    assert list(groups) == ["mfcc_mean", "f0_p", "voiced_fraction"]
    np.testing.assert_array_equal(groups["mfcc_mean"], [0, 1])
    np.testing.assert_array_equal(groups["f0_p"], [2, 3])


def test_putting_a_group_back_restores_exactly_its_columns():
    rng = np.random.default_rng(0)
    clean = rng.standard_normal((2, 5, 4))  # (views, files, n_features)
    degraded = clean + 1.0
    groups = {"a": np.array([0, 1]), "b": np.array([2, 3])}
    seen = {}

    def score(views):
        seen[len(seen)] = views
        return float(np.abs(views - clean).sum())

    scores = attribution.recovered(clean, degraded, groups, score)
    assert scores == {"a": 20.0, "b": 20.0}  # 2 views x 5 files x the 2 columns left shifted by 1
    np.testing.assert_array_equal(seen[0][..., :2], clean[..., :2])
    np.testing.assert_array_equal(seen[0][..., 2:], degraded[..., 2:])
    assert np.array_equal(degraded, clean + 1.0)  # the degraded views themselves are untouched
    moved = attribution.shifts(clean, degraded, groups, scale=np.array([1.0, 1.0, 2.0, 2.0]))
    assert moved == {"a": (1.0, 0.8), "b": (0.5, 0.2)}  # squared shifts 1 and 1/4 per entry


def test_the_table_on_the_mini_model(trained_mini, prepared_mini):
    code, out, err = attribute("--model-dir", trained_mini, "--data-dir", prepared_mini, "--conditions", "telephone",
                               "--top", 3, "--no-test-time-augment", "--jobs", 2)
    assert code == 0, err
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("telephone: clean"))
    rows = lines[header + 2:header + 5]
    gains = [float(row.split()[-1]) for row in rows]
    assert len(rows) == 3 and gains == sorted(gains, reverse=True)  # most recovered first


def test_a_model_of_other_features_is_one_line(trained_mini, prepared_mini, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(trained_mini, other)
    record = (other / "preprocessing.json").read_text().replace('"n_mfcc": 40', '"n_mfcc": 20')
    rewrite_folder(other, {"preprocessing.json": record.encode()})
    code, out, err = attribute("--model-dir", other, "--data-dir", prepared_mini)
    assert code == 1
    assert_one_line_error(err, f"{other} was not trained on {prepared_mini}", "give the --data-dir")
