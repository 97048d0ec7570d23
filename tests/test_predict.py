"""predict.py on a model trained on the mini subset: output formats, robustness, bad input, start-up."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, speech_like, write_wav
from ser import audio, augment, corpus, inference, model_folder


def run(*argv, model_dir):
    """predict.py in a fresh process, as a user runs it: (exit code, stdout, stderr)."""
    done = subprocess.run([sys.executable, str(ROOT / "predict.py"), *map(str, argv), "--model-dir", str(model_dir)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def clips(mini_dir, tmp_path_factory):
    """A test-actor file as given, as stereo and at 16 kHz; 20 s made by joining clips; bad files."""
    folder = tmp_path_factory.mktemp("clips")
    original = next((mini_dir / "Actor_08").glob("03-01-05-02-*.wav"))  # angry, strong
    signal, sr = sf.read(original, dtype="float32")
    paths = {"original": folder / original.name}
    shutil.copy(original, paths["original"])
    paths["stereo"] = write_wav(folder / "stereo" / original.name, np.stack([signal, signal], axis=1), sr)
    paths["16k"] = write_wav(folder / "16k" / original.name, audio.load_audio(original, 16000), 16000)
    joined = np.concatenate([audio.load_audio(p, 16000) for p in sorted((mini_dir / "Actor_07").glob("*.wav"))[:3]])
    assert len(joined) < 14 * 16000  # three 3-4 s clips, then silence up to 20 s
    paths["long"] = write_wav(folder / "long.flac", np.pad(joined, (0, 20 * 16000 - len(joined))), 16000)
    paths["silent"] = write_wav(folder / "bad" / "silent.wav", np.zeros(16000, np.float32), 16000)
    paths["corrupt"] = folder / "bad" / "corrupt.wav"
    paths["corrupt"].write_bytes(b"not audio at all" * 10)
    paths["good_neighbour"] = write_wav(folder / "bad" / "speech.wav", speech_like(), 48000)
    return paths


def test_table_names_file_emotion_confidence_runner_up_and_truth(trained_mini, clips):
    code, out, err = run(clips["original"], model_dir=trained_mini)
    assert code == 0, err
    line = out.strip()
    assert line.startswith(str(clips["original"])) and "runner-up" in line and "true angry" in line
    assert "accuracy on 1 files with RAVDESS names" in err
    assert "oneDNN" not in err and "tensorflow" not in err.lower()


def test_json_probabilities_sum_to_one_and_copies_agree(trained_mini, clips):
    code, out, err = run(clips["original"], clips["stereo"], clips["16k"], "--json", model_dir=trained_mini)
    assert code == 0, err
    results = json.loads(out)  # stdout holds only the JSON
    assert [r["file"] for r in results] == [str(clips[k]) for k in ("original", "stereo", "16k")]
    for r in results:
        assert set(r["probabilities"]) == set(corpus.LABELS)
        assert sum(r["probabilities"].values()) == pytest.approx(1, abs=1e-5)
        assert r["confidence"] == pytest.approx(max(r["probabilities"].values()))
        assert r["emotion"] == max(r["probabilities"], key=r["probabilities"].get)
        assert r["true_emotion"] == "angry"
    reference = np.array(list(results[0]["probabilities"].values()))
    for other in results[1:]:
        assert np.abs(np.array(list(other["probabilities"].values())) - reference).max() < 0.05


def test_test_time_copies_are_the_files_own_and_can_be_turned_off(trained_mini, clips):
    preprocessing = model_folder.load_preprocessing(trained_mini)
    settings, seed = preprocessing.test_time_augment
    config, path = preprocessing.feature_config, clips["original"]
    with_copies = inference.prediction_features(path, config, 0.0, 0.5, (settings, seed)).rows
    alone = inference.prediction_features(path, config, 0.0, 0.5).rows
    assert with_copies.shape == (1, 1 + settings.copies, alone.shape[-1])
    np.testing.assert_array_equal(with_copies[0, 0], alone[0, 0])
    voice_copies = augment.augmented_copies(path, config, settings, seed)[:settings.copies]  # not the degraded
    np.testing.assert_array_equal(with_copies[0, 1:], voice_copies)
    code, out, err = run(path, "--json", "--no-test-time-augment", model_dir=trained_mini)
    assert code == 0, err
    code, out_tta, err = run(path, "--json", model_dir=trained_mini)
    assert code == 0, err
    assert json.loads(out)[0]["probabilities"] != json.loads(out_tta)[0]["probabilities"]


def test_segments_of_a_long_recording(trained_mini, clips):
    code, out, err = run(clips["long"], "--segment", "4", "--json", model_dir=trained_mini)
    assert code == 0, err
    [result] = json.loads(out)
    segments = result["segments"]
    starts = [s["start"] for s in segments]
    assert starts == sorted(starts) and len(set(starts)) == len(starts) and len(segments) >= 8
    assert segments[-1]["end"] == pytest.approx(20.0, abs=0.01)
    assert all(s["end"] - s["start"] == pytest.approx(4.0, abs=0.01) for s in segments)
    assert segments[-1]["silent"] and "emotion" not in segments[-1]  # the trailing silence
    speech = [s for s in segments if not s["silent"]]
    assert speech and all(s["emotion"] in corpus.LABELS for s in speech)
    assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    code, out, _ = run(clips["long"], "--segment", "4", model_dir=trained_mini)
    assert code == 0 and "silence" in out and out.count(" s  ") == len(segments)


def test_bad_files_are_named_and_the_rest_still_predicted(trained_mini, clips):
    code, out, err = run(clips["silent"].parent, model_dir=trained_mini)
    assert code == 1
    assert f"{clips['silent']}: silent" in err and f"{clips['corrupt']}: unreadable" in err
    assert "Traceback" not in err
    assert str(clips["good_neighbour"]) in out and str(clips["silent"]) not in out


def test_missing_or_incomplete_model_folder_exits_2(trained_mini, clips, tmp_path):
    code, _, err = run(clips["original"], model_dir=tmp_path / "nowhere")
    assert code == 2 and "does not exist" in err and "model_training.py" in err and err.count("\n") == 1
    incomplete = tmp_path / "incomplete"
    shutil.copytree(trained_mini, incomplete)
    (incomplete / "preprocessing.json").unlink()
    code, _, err = run(clips["original"], model_dir=incomplete)
    assert code == 2 and "lacks preprocessing.json" in err


def test_folder_without_audio_exits_2(trained_mini, tmp_path):
    (tmp_path / "notes.txt").write_text("no audio here")
    code, _, err = run(tmp_path, model_dir=trained_mini)
    assert code == 2 and "no audio files" in err


def test_predict_starts_without_training_libraries():
    """Importing predict.py (and so the library modules it uses) loads neither a script nor what only
    training needs; keras comes in only once a network is loaded."""
    probe = ("import sys, predict; heavy = {'data_preparation', 'model_training', 'keras', 'tensorflow', 'sklearn', "
             "'matplotlib', 'seaborn'}; print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
