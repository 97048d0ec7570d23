"""ser.inference: windows cover a recording, results per file and window."""

import numpy as np
import pytest

from conftest import FEATURE_CONFIG, coloured_noise, speech_like, write_wav
from ser import inference
from ser.errors import ConfigError


def test_windows_cover_the_signal_in_order():
    windows = inference.windows_of(n_samples=100, sample_rate=10, seconds=4, overlap=0.5)
    assert windows == [(0, 40), (20, 60), (40, 80), (60, 100)]
    assert inference.windows_of(25, 10, 4, 0.5) == [(0, 25)]  # shorter than one window
    assert inference.windows_of(105, 10, 4, 0.5)[-1] == (65, 105)  # the tail is covered


def test_predictions_average_the_speech_windows_and_mark_silence(tmp_path):
    labels = ("a", "b")
    whole = inference.FileFeatures(tmp_path / "03-01-02-01-01-01-01.wav", np.zeros((1, 1, 3)))
    windows = [{"start": 0.0, "end": 4.0, "silent": False}, {"start": 2.0, "end": 6.0, "silent": True},
               {"start": 4.0, "end": 8.0, "silent": False}]
    long = inference.FileFeatures(tmp_path / "talk.wav", np.zeros((2, 1, 3)), windows)
    probabilities = np.array([[0.2, 0.8], [0.9, 0.1], [0.5, 0.5]])
    first, second = inference.predictions([whole, long], probabilities, labels)
    assert first["emotion"] == "b" and first["confidence"] == 0.8 and first["true_emotion"] == "calm"
    assert "segments" not in first and "true_emotion" not in second
    assert second["probabilities"] == pytest.approx({"a": 0.7, "b": 0.3}) and second["emotion"] == "a"
    assert [s.get("emotion") for s in second["segments"]] == ["a", None, "a"]


@pytest.mark.parametrize("seconds,overlap,message", [
    (float("nan"), 0.5, "segment nan must be a number of seconds"), (float("inf"), 0.5, "segment inf must be"),
    (-1.0, 0.5, "segment -1.0 must be"), (0.1, 0.5, "segment 0.1 s is shorter than the 0.25 s of sound"),
    (4.0, 1.0, "segment_overlap 1.0 must be 0 to 0.9"), (4.0, -0.1, "segment_overlap -0.1 must be 0 to 0.9")])
def test_windows_that_cannot_be_classified_are_refused_before_any_work(seconds, overlap, message):
    with pytest.raises(ConfigError, match=message):
        inference.check_segment(seconds, overlap, min_speech_seconds=0.25)
    inference.check_segment(0.0, 0.5, 0.25)  # whole files
    inference.check_segment(0.25, 0.9, 0.25)


def test_the_level_of_a_signal_in_blocks_is_its_level_whole():
    signal = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * np.linspace(0, 1, 48000)
    meter = inference.LevelMeter(16000)
    for start in range(0, len(signal), 777):
        assert meter.add(signal[start:start + 777]) is not None
    np.testing.assert_array_equal(meter.db(), inference.level_db(signal, 16000))
    assert len(meter.db()) == 60 and meter.db().max() == 0.0


def test_a_window_of_steady_noise_alone_is_silent_with_its_reason():
    """A pause in a room with a fan: as loud as the speech before it, but no speech."""
    noise = coloured_noise(2, seconds=3.0)  # brown: its broadband level swings as speech does
    window, views, reason = inference.window_views(noise, 48000, peak_so_far=0.1, config=FEATURE_CONFIG, tta=None)
    assert window["silent"] and views is None and reason.startswith(("silent", "no speech found"))
    speech = speech_like(seconds=2.0, sr=16000, pad=0.5)
    window, views, reason = inference.window_views(speech + noise[:len(speech)] / 30, 0, 0.1, FEATURE_CONFIG, None)
    assert not window["silent"] and views.shape == (1, len(views[0])) and reason is None


def test_windows_are_classified_block_by_block_as_they_come_and_their_features_not_kept(tmp_path, monkeypatch):
    talk = [speech_like(seconds=2.0, sr=16000, seed=s) for s in range(4)] + [np.zeros(3 * 16000, np.float32)]
    path = write_wav(tmp_path / "talk.wav", np.concatenate(talk), sr=16000)  # speech, then a silent tail
    blocks = []

    def classify(views):  # (n, n_views, n_features) -> (n, 3): a stand-in network, and a record of the blocks
        blocks.append(len(views))
        return views[:, 0, :3]

    whole = inference.segment_features(path, FEATURE_CONFIG, 2.0, 0.5, None, classify)
    assert blocks == [len(whole.probabilities)] and whole.rows is None  # fewer windows than WINDOW_BLOCK: one block
    monkeypatch.setattr(inference, "WINDOW_BLOCK", 3)
    blocks.clear()
    bounded = inference.segment_features(path, FEATURE_CONFIG, 2.0, 0.5, None, classify)
    assert max(blocks) == 3 and sum(blocks) == len(whole.probabilities) > 3
    np.testing.assert_array_equal(bounded.probabilities, whole.probabilities)
    assert bounded.windows == whole.windows and any(w["silent"] for w in whole.windows)
