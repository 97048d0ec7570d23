"""bench/robustness.py: every condition gives predict.py's views, deterministically; rejected files count as wrong."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import AUGMENT_CONFIG, FEATURE_CONFIG, ROOT, speech_like, write_wav
from ser import features
from ser.audio import load_audio
from ser.errors import UserError

spec = importlib.util.spec_from_file_location("robustness", ROOT / "bench" / "robustness.py")
robustness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(robustness)


def test_each_condition_gives_the_views_predict_computes(tmp_path):
    path = str(write_wav(tmp_path / "03-01-05-01-01-01-01.wav", speech_like(seconds=1.5)))
    talkers = [str(write_wav(tmp_path / f"t{i}.wav", speech_like(seconds=1.0, f0=200 + 30 * i, seed=i)))
               for i in range(2)]
    tta = (AUGMENT_CONFIG, 1)
    views = robustness.condition_views(path, talkers, FEATURE_CONFIG, tta, seed=1)
    assert list(views) == list(robustness.CONDITIONS)
    from ser import inference

    clean = inference.prediction_features(tmp_path / "03-01-05-01-01-01-01.wav", FEATURE_CONFIG, tta).rows[0]
    np.testing.assert_array_equal(views["clean"], clean)  # exactly predict.py's features of the file
    for name, value in views.items():
        assert value.shape == clean.shape and np.isfinite(value).all(), name
        if name not in ("clean", "level -30 dB"):
            assert not np.allclose(value, clean), name  # the condition changed the features
    again = robustness.condition_views(path, talkers, FEATURE_CONFIG, tta, seed=1)
    assert all(np.array_equal(views[k], again[k]) for k in views)
    signal = load_audio(path, FEATURE_CONFIG.sample_rate)  # a recording cut tightly around its speech span
    start, end = features.speech_span(signal, FEATURE_CONFIG)
    assert 0 < start and end < len(signal)
    np.testing.assert_array_equal(views["cut to the speech"],
                                  inference.feature_views(signal[start:end], FEATURE_CONFIG, tta, Path(path).name))


def test_a_rejected_file_counts_as_wrong():
    y_true = np.array([0, 0, 1, 1])
    assert robustness.balanced_accuracy(y_true, np.array([0, -1, 1, 1])) == 0.75
    assert robustness.balanced_accuracy(y_true, np.array([-1, -1, -1, -1])) == 0.0


def test_conditions_are_named_from_the_list_or_refused():
    assert robustness.condition_names("all") == tuple(robustness.CONDITIONS)
    assert robustness.condition_names(" telephone, babble 10 dB ") == ("telephone", "babble 10 dB")
    with pytest.raises(UserError, match=r"condition\(s\) \['phone'\] unknown; choose from clean, "):
        robustness.condition_names("telephone,phone")


def test_a_subset_of_conditions_gives_the_same_views_as_all(tmp_path):
    path = str(write_wav(tmp_path / "03-01-05-01-01-01-01.wav", speech_like(seconds=1.5)))
    talkers = [str(write_wav(tmp_path / "t.wav", speech_like(seconds=1.0, f0=220, seed=3)))]
    every = robustness.condition_views(path, talkers, FEATURE_CONFIG, None, seed=1)
    some = robustness.condition_views(path, talkers, FEATURE_CONFIG, None, seed=1, conditions=("telephone",))
    assert list(some) == ["telephone"]
    np.testing.assert_array_equal(some["telephone"], every["telephone"])
