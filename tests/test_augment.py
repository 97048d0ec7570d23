"""ser.augment: copies deterministic per seed and file, cached per setting, config checked."""

import dataclasses
import random

import numpy as np
import pytest

from conftest import AUGMENT_CONFIG, ravdess_name, speech_like, write_wav
from conftest import FEATURE_CONFIG as CONFIG
from ser import audio, augment, features
from ser.errors import ConfigError, UserError


def test_augmentation_is_deterministic_per_seed_and_changes_the_features(tmp_path):
    path = write_wav(tmp_path / ravdess_name(3, 1), speech_like(seconds=2.0))
    config, settings = CONFIG, dataclasses.replace(AUGMENT_CONFIG, copies=2, probability=1.0,
                                                   channel_probability=1.0, noise_probability=1.0)
    first = augment.augmented_copies(path, config, settings, seed=1)
    assert first.shape == (4, len(features.feature_names(config)))  # 2 voice copies, then their degraded versions
    np.testing.assert_array_equal(first, augment.augmented_copies(path, config, settings, seed=1))
    assert not np.allclose(first, augment.augmented_copies(path, config, settings, seed=2))
    assert not np.allclose(first[0], features.file_features(path, config))
    assert not np.allclose(first[0], first[1]) and not np.allclose(first[:2], first[2:])


def test_the_test_time_grid_splits_the_training_ranges_evenly():
    grid = augment.test_time_grid(dataclasses.replace(AUGMENT_CONFIG, copies=4, pitch_semitones=(-4.0, 4.0),
                                                      speed_range=(0.9, 1.1)))
    np.testing.assert_allclose(grid, [(-3, 0.95), (-1, 1.05), (1, 0.95), (3, 1.05)])
    one = augment.test_time_grid(dataclasses.replace(AUGMENT_CONFIG, copies=1, pitch_semitones=(0.0, 2.0),
                                                     speed_range=(1.0, 1.0)))
    np.testing.assert_allclose(one, [(1, 1.0)])


def test_each_test_time_copy_is_its_signal_stretched_then_pitch_shifted_by_its_grid_point():
    """The copies that share a tempo share one stretch: each is still the one its (semitones, tempo) makes."""
    from audiomentations import PitchShift, TimeStretch

    signal = speech_like(seconds=1.5, sr=CONFIG.sample_rate)
    settings = dataclasses.replace(AUGMENT_CONFIG, copies=4, pitch_semitones=(-4.0, 4.0), speed_range=(0.9, 1.1))
    reference = augment.at_reference_level(signal)
    copies = augment.test_time_signals(signal, CONFIG.sample_rate, settings)
    assert len(copies) == 4
    for copy, (semitones, tempo) in zip(copies, augment.test_time_grid(settings)):
        stretched = TimeStretch(min_rate=tempo, max_rate=tempo, leave_length_unchanged=False, p=1.0)(
            samples=reference, sample_rate=CONFIG.sample_rate)
        np.testing.assert_array_equal(copy, PitchShift(min_semitones=semitones, max_semitones=semitones, p=1.0)(
            samples=stretched, sample_rate=CONFIG.sample_rate))


def test_test_time_copies_hang_on_the_sound_alone_and_are_cached(tmp_path, monkeypatch):
    """Two names, the same sound: the same copies, whatever the name (predict.py's and training's alike)."""
    signal = speech_like(seconds=1.5, sr=CONFIG.sample_rate)
    first, second = (write_wav(tmp_path / name, signal, CONFIG.sample_rate) for name in ("a.wav", "other name.wav"))
    settings = dataclasses.replace(AUGMENT_CONFIG, copies=2)
    views = augment.test_time_features(signal, CONFIG, settings)
    assert views.shape == (1 + 2, len(features.feature_names(CONFIG)))
    np.testing.assert_allclose(views[0], features.extract_features(signal, CONFIG.sample_rate, CONFIG))
    assert not np.allclose(views[1], views[0]) and not np.allclose(views[1], views[2])
    cached = augment.cached_test_time_copies(first, CONFIG, settings, tmp_path / "cache")
    np.testing.assert_allclose(cached, augment.test_time_features(audio.load_audio(first, CONFIG.sample_rate),
                                                                  CONFIG, settings)[1:])
    monkeypatch.setattr(augment, "test_time_signals", lambda *a: pytest.fail("recomputed a cached file"))
    np.testing.assert_array_equal(cached, augment.cached_test_time_copies(first, CONFIG, settings, tmp_path / "cache"))
    with pytest.raises(pytest.fail.Exception):  # another file is another entry, even with the same sound
        augment.cached_test_time_copies(second, CONFIG, settings, tmp_path / "cache")
    monkeypatch.undo()
    np.testing.assert_array_equal(cached, augment.cached_test_time_copies(second, CONFIG, settings, tmp_path / "cache"))


def test_copies_do_not_depend_on_the_level():
    """The same sound 30 dB quieter or 3 dB louder: the same copies (the stretch and pitch shift alone differ by
    as much as two copies of the grid do), in training and at test time alike."""
    signal = speech_like(seconds=1.5, sr=CONFIG.sample_rate)
    settings = dataclasses.replace(AUGMENT_CONFIG, copies=2, probability=1.0, channel_probability=1.0,
                                   noise_probability=1.0)
    assert np.max(np.abs(augment.at_reference_level(signal))) == pytest.approx(10 ** (augment.REFERENCE_PEAK_DBFS / 20))
    for make in (lambda s: augment.test_time_features(s, CONFIG, settings)[1:],
                 lambda s: augment.augmented_features(s, CONFIG, settings, seed=4)):
        copies = make(signal)
        apart = np.abs(copies[0] - copies[1]).mean()  # two different copies of the sound
        for gain_db in (-30, 3):
            moved = np.abs(make(signal * np.float32(10 ** (gain_db / 20))) - copies).mean(axis=1)
            assert moved.max() < 0.02 * apart, (gain_db, moved, apart)


def test_a_copy_no_transform_touched_is_not_computed_again(monkeypatch):
    """Copies equal to their source (nothing applied) reuse its features: the same rows, fewer passes."""
    signal = speech_like(seconds=2.0, sr=CONFIG.sample_rate)
    passes = []
    extract = augment.extract_features
    monkeypatch.setattr(augment, "extract_features", lambda *args: passes.append(1) or extract(*args))
    untouched = dataclasses.replace(AUGMENT_CONFIG, copies=3, probability=0.0, channel_probability=0.0,
                                    noise_probability=0.0)
    rows = augment.augmented_features(signal, CONFIG, untouched, seed=5)
    assert rows.shape[0] == 3 and len(passes) == 1
    at_reference = extract(augment.at_reference_level(signal), CONFIG.sample_rate, CONFIG)
    np.testing.assert_array_equal(rows, np.repeat(at_reference[None], 3, axis=0))
    passes.clear()
    # 3 different voice copies; their degraded versions (a chance of 1e-12 each) come out as they went in
    touched = dataclasses.replace(untouched, probability=1.0, channel_probability=1e-12, noise_probability=1e-12)
    rows = augment.augmented_features(signal, CONFIG, touched, seed=5)
    assert rows.shape[0] == 2 * 3 and len(passes) == 3
    np.testing.assert_array_equal(rows[:3], rows[3:])
    assert not np.allclose(rows[0], rows[1])


def test_augmented_features_are_cached_per_file_and_setting(tmp_path, monkeypatch):
    path = write_wav(tmp_path / ravdess_name(3, 1), speech_like(seconds=1.0))
    config, settings = CONFIG, dataclasses.replace(AUGMENT_CONFIG, copies=1)
    made = augment.cached_augmented_copies(path, config, settings, 1, tmp_path / "cache")
    monkeypatch.setattr(augment, "augmented_copies", lambda *a: pytest.fail("recomputed a cached file"))
    np.testing.assert_array_equal(made, augment.cached_augmented_copies(path, config, settings, 1, tmp_path / "cache"))
    with pytest.raises(pytest.fail.Exception):  # another setting is another cache entry
        other = dataclasses.replace(settings, probability=1.0)
        augment.cached_augmented_copies(path, config, other, 1, tmp_path / "cache")


def test_files_of_one_name_in_two_folders_are_two_cache_entries(tmp_path):
    """Own corpora often name files alike (spk1/001.wav, spk2/001.wav), even of equal length."""
    first = write_wav(tmp_path / "spk1" / "001.wav", speech_like(seconds=1.0, f0=120))
    second = write_wav(tmp_path / "spk2" / "001.wav", speech_like(seconds=1.0, f0=220))
    assert first.stat().st_size == second.stat().st_size
    settings = dataclasses.replace(AUGMENT_CONFIG, copies=1)
    one = augment.cached_augmented_copies(first, CONFIG, settings, 1, tmp_path / "cache")
    two = augment.cached_augmented_copies(second, CONFIG, settings, 1, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2 and not np.allclose(one, two)


def test_augmented_rows_say_which_file_each_copy_is_of(tmp_path):
    paths = [str(write_wav(tmp_path / ravdess_name(e, 1), speech_like(seconds=1.0, f0=120 + 20 * e))) for e in (1, 2)]
    two = dataclasses.replace(AUGMENT_CONFIG, copies=2)
    rows = augment.augmented_rows(paths, np.array([0, 1]), np.array([1, 1]), CONFIG, two, 1, tmp_path / "cache",
                                  jobs=1)
    assert rows.y.tolist() == [0] * 4 + [1] * 4 and rows.owner.tolist() == [0] * 4 + [1] * 4
    assert rows.degraded.tolist() == [False, False, True, True] * 2
    np.testing.assert_array_equal(rows.X[4:], augment.augmented_copies(paths[1], CONFIG, two, 1, (paths[0],)))


def test_another_thread_drawing_from_random_does_not_shift_the_copies():
    """A Dask worker's event loop calls random.sample (dask.sizeof) while a task augments."""
    import threading

    signal = speech_like(seconds=1.0, sr=CONFIG.sample_rate)
    alone = augment.augmented_features(signal, CONFIG, AUGMENT_CONFIG, seed=7)
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    drawer = threading.Thread(target=draw)
    drawer.start()
    try:
        crowded = augment.augmented_features(signal, CONFIG, AUGMENT_CONFIG, seed=7)
    finally:
        stop.set()
        drawer.join()
    np.testing.assert_array_equal(crowded, alone)


def test_copies_made_on_a_dask_cluster_are_the_local_ones(tmp_path, dask_scheduler):
    paths = [str(write_wav(tmp_path / ravdess_name(e, a), speech_like(seconds=1.0, f0=100 + 20 * e + 7 * a, seed=a)))
             for a in (1, 2) for e in (1, 3)]
    labels, speakers = np.array([0, 2, 0, 2]), np.array(["a", "a", "b", "b"])
    local = augment.augmented_rows(paths, labels, speakers, CONFIG, AUGMENT_CONFIG, 3, tmp_path / "local", jobs=1)
    remote = augment.augmented_rows(paths, labels, speakers, CONFIG, AUGMENT_CONFIG, 3, tmp_path / "dask", jobs=1,
                                    scheduler=dask_scheduler)
    np.testing.assert_array_equal(remote.X, local.X)
    assert len(list((tmp_path / "dask" / "augment").glob("*.npy"))) == len(paths)  # the workers filled the cache


def test_babble_talkers_are_the_same_speakers_other_files_wherever_they_are_listed():
    paths = [f"/corpus/Actor_{a:02d}/{ravdess_name(e, a)}" for a in (1, 2) for e in range(1, 9)]
    speakers = np.array([1] * 8 + [2] * 8)
    talkers = augment.babble_talkers(paths, speakers, seed=3, count=4)
    for path, speaker, mine in zip(paths, speakers, talkers):
        assert len(mine) == 4 and path not in mine
        assert all(f"Actor_{speaker:02d}" in t for t in mine)  # never another speaker's voice
    reordered = augment.babble_talkers(paths[8:] + paths[:8][::-1], np.r_[speakers[8:], speakers[:8]], seed=3)
    assert dict(zip(paths[8:] + paths[:8][::-1], reordered)) == dict(zip(paths, talkers))
    assert augment.babble_talkers(paths, speakers, seed=4) != talkers
    assert augment.babble_talkers(paths[:1], speakers[:1], seed=3) == [()]  # alone: babble of itself


@pytest.mark.parametrize("change,message", [
    ({"copies": 0}, "copies 0"), ({"speed_range": (1.2, 0.8)}, "speed_range"),
    ({"probability": 2.0}, "probability 2.0"), ({"shift_fraction": 1.0}, "shift_fraction"),
    ({"channel_probability": -0.1}, "channel_probability -0.1 .*--channel-probability")])
def test_augment_config_names_the_bad_value(change, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(AUGMENT_CONFIG, **change)


def test_every_channel_and_noise_kind_is_drawn():
    """Over many copies the pipeline uses each channel of CHANNEL_RANGES and each kind of noise."""
    pipeline = augment.degrading_pipeline(dataclasses.replace(AUGMENT_CONFIG, channel_probability=0.5))
    channel, noise = pipeline.transforms
    random.seed(0)
    np.random.seed(0)
    drawn = {"channel": set(), "noise": set()}
    applied = 0
    for _ in range(200):
        for name, choice in (("channel", channel), ("noise", noise)):
            choice.randomize_parameters(np.zeros(1600, np.float32), 16000)
            if choice.should_apply:
                drawn[name].add(choice.transform_index)
                applied += name == "channel"
    assert drawn == {"channel": {0, 1, 2, 3, 4}, "noise": {0, 1, 2}} and 70 < applied < 130


def test_a_model_made_with_another_augmentation_is_refused():
    record = dataclasses.asdict(AUGMENT_CONFIG)
    assert augment.AugmentConfig.from_dict(record) == AUGMENT_CONFIG
    with pytest.raises(UserError, match="another augmentation .*retrain"):
        augment.AugmentConfig.from_dict({**record, "version": augment.AUGMENT_VERSION - 1})
    with pytest.raises(UserError, match="channel_probability"):
        augment.AugmentConfig.from_dict({k: v for k, v in record.items() if k != "channel_probability"})
