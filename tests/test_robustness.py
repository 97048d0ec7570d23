"""bench/robustness.py: every condition and another corpus give predict.py's views, deterministically; rejected files
count as wrong."""

import importlib.util

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
    tta = AUGMENT_CONFIG
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
                                  inference.feature_views(signal[start:end], FEATURE_CONFIG, tta))


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


def test_other_corpus_views_are_predict_pys_for_the_labels_the_model_knows(tmp_path, caplog):
    listed = {"a.wav": "happy", "b.wav": "bored", "c.wav": "angry", "d.wav": "Sad"}
    for i, name in enumerate(listed):
        write_wav(tmp_path / "clips" / name, speech_like(seconds=1.2, f0=150 + 40 * i, seed=i) if i < 3
                  else np.zeros(48000))  # d.wav: silence
    (tmp_path / "theirs.csv").write_text("path,emotion,speaker\n" + "".join(
        f"clips/{name},{emotion},s{i}\n" for i, (name, emotion) in enumerate(listed.items())))
    labels = ("neutral", "happy", "sad", "angry")
    tta = AUGMENT_CONFIG
    with caplog.at_level("INFO"):
        name, views, y, speakers = robustness.other_corpus_views(tmp_path / "theirs.csv", labels, FEATURE_CONFIG, tta,
                                                                 jobs=1)
    assert name == "theirs" and y.tolist() == [1, 3, 2]  # happy, angry, sad; bored left out
    assert speakers.tolist() == ["s0", "s2", "s3"]
    assert "3 files with the model's labels, 1 left out (bored)" in caplog.text
    from ser import inference

    np.testing.assert_array_equal(views[0], inference.prediction_features(tmp_path / "clips" / "a.wav",
                                                                          FEATURE_CONFIG, tta).rows[0])
    assert views[1].shape == views[0].shape and views[2] is None  # silence: no speech, counted as wrong when scored
    with pytest.raises(UserError, match=r"none of the 4 usable files of .*theirs.csv has one of the labels the model "
                                        r"knows \(calm, surprised\)"):
        robustness.other_corpus_views(tmp_path / "theirs.csv", ("calm", "surprised"), FEATURE_CONFIG, tta, jobs=1)


class _FirstFeatureVotes:
    """A stand-in model: the class named by each view's first feature, with all the probability."""

    def predict(self, X, batch_size=0, verbose=0):
        return np.eye(3)[X[:, 0].astype(int)]


def test_score_views_classifies_each_file_by_its_views_and_counts_rejected_as_wrong():
    from ser.training import TrainResult

    result = TrainResult(_FirstFeatureVotes(), np.zeros(2, np.float32), np.ones(2, np.float32), None, [], {}, None)
    view = lambda *votes: np.array([[v, 0.0] for v in votes])  # noqa: E731  (views, n_features)
    views = [view(0, 0, 1), view(1, 2, 2), None, view(2, 2, 0)]  # the majority of each file's views wins
    uar, rejected = robustness.score_views(views, np.array([0, 2, 1, 1]), result)
    assert rejected == 1 and uar == (1 + 1 + 0) / 3  # class 1: one file rejected, one called 2


class _SignVotes:
    """A stand-in model: class 1 where a view's first scaled feature is positive, else class 0."""

    def predict(self, X, batch_size=0, verbose=0):
        return np.eye(2)[(X[:, 0] > 0).astype(int)]


def test_score_views_adapted_to_speakers_takes_a_speaker_s_offset_out():
    from ser.adaptation import MIN_FILES
    from ser.training import TrainResult

    result = TrainResult(_SignVotes(), np.zeros(2, np.float32), np.ones(2, np.float32), None, [], {}, None)
    y = np.arange(MIN_FILES) % 2
    views = [np.array([[5.0 + (1 if label else -1), 0.0]]) for label in y]  # the speaker sits 5 above the training mean
    assert robustness.score_views(views, y, result) == (0.5, 0)  # every file called class 1
    assert robustness.score_views(views, y, result, np.array(["a"] * MIN_FILES)) == (1.0, 0)
    fewer = MIN_FILES - 1  # too few files to adapt to: as without speakers
    assert robustness.score_views(views[:fewer], y[:fewer], result, np.array(["a"] * fewer))[0] == 0.5
