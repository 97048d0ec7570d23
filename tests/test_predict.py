"""predict.py on a model trained on the mini subset: output formats, robustness, bad input, start-up."""

import io
import json
import queue
import shutil
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import predict
from conftest import ROOT, assert_one_line_error, interrupt_when, loky_workers, rewrite_folder, speech_like, write_wav
from ser import adaptation, audio, augment, corpus, features, inference, model_folder, network


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


def test_test_time_copies_are_the_grid_of_training_whatever_the_name_and_can_be_turned_off(trained_mini, clips,
                                                                                          tmp_path):
    preprocessing = model_folder.load_preprocessing(trained_mini)
    settings, config, path = preprocessing.test_time_augment, preprocessing.feature_config, clips["original"]
    with_copies = inference.prediction_features(path, config, settings).rows
    alone = inference.prediction_features(path, config).rows
    assert with_copies.shape == (1, 1 + settings.copies, alone.shape[-1])
    np.testing.assert_array_equal(with_copies[0, 0], alone[0, 0])
    grid = augment.cached_test_time_copies(path, config, settings, tmp_path / "cache")  # training's evaluation
    np.testing.assert_array_equal(with_copies[0, 1:], grid)
    renamed = tmp_path / "renamed.wav"
    shutil.copy(path, renamed)
    code, out, err = run(path, renamed, "--json", model_dir=trained_mini)
    assert code == 0, err
    original, again = (r["probabilities"] for r in json.loads(out))
    assert original == again  # the same sound under another name: the same answer
    code, out, err = run(path, "--json", "--no-test-time-augment", model_dir=trained_mini)
    assert code == 0, err
    assert json.loads(out)[0]["probabilities"] != original


def test_a_recording_cut_to_its_speech_is_warned_about_with_the_way_out(trained_mini, clips, tmp_path):
    signal = audio.load_audio(clips["original"], 16000)
    start, end = features.speech_span(signal, model_folder.load_preprocessing(trained_mini).feature_config)
    cut = write_wav(tmp_path / "cut.wav", signal[start:end], 16000)
    code, out, err = run(clips["original"], cut, "--json", model_dir=trained_mini)
    assert code == 0, err
    fractions = {Path(r["file"]).name: r["pause_fraction"] for r in json.loads(out)}
    assert fractions["cut.wav"] < inference.MIN_PAUSE_FRACTION <= fractions[clips["original"].name]
    warnings = [line for line in err.splitlines() if "hardly any quiet" in line]
    assert len(warnings) == 1 and str(cut) in warnings[0] and "leave half a second of quiet" in warnings[0]


def test_more_than_three_cut_recordings_are_counted_not_each_named(caplog):
    cut = [inference.FileFeatures(Path(f"clip{i}.wav"), pause_fraction=0.05) for i in range(5)]
    predict.warn_cut_recordings(inference.cut_recordings(cut + [inference.FileFeatures(Path("whole.wav"),
                                                                                        pause_fraction=0.4)]))
    lines = [r.getMessage() for r in caplog.records]
    assert [any(f"clip{i}.wav" in line for line in lines) for i in range(5)] == [True, True, True, False, False]
    assert "and 2 more files" in lines[-1] and not any("whole.wav" in line for line in lines)


def test_adapt_speakers_centres_each_speaker_with_enough_files_on_their_own_mean(trained_mini, mini_dir, tmp_path):
    many = sorted((mini_dir / "Actor_01").glob("*.wav")) + sorted((mini_dir / "Actor_02").glob("*.wav"))
    few = sorted((mini_dir / "Actor_03").glob("*.wav"))[:3]
    assert len(many) >= adaptation.MIN_FILES > len(few)
    listed = [(path, "many") for path in many] + [(path, "few") for path in few]
    sheet = tmp_path / "theirs.csv"
    sheet.write_text("path,emotion,speaker\n" + "".join(f"{p},{corpus.true_emotion(p)},{s}\n" for p, s in listed))
    code, out, err = run("--manifest", sheet, "--adapt-speakers", "--json", model_dir=trained_mini)
    assert code == 0, err
    assert "1 of 2 speaker(s) centred on their own mean" in err
    assert "fewer than 20 files of few: classified without adaptation; give 20 or more recordings" in err
    adapted = {r["file"]: np.array(list(r["probabilities"].values())) for r in json.loads(out)}
    assert {r["file"]: r["adapted_to_speaker"] for r in json.loads(out)} == {
        **{str(path): "many" for path in many}, **{str(path): None for path in few}}
    code, out, err = run("--manifest", sheet, "--json", model_dir=trained_mini)
    plain = {r["file"]: np.array(list(r["probabilities"].values())) for r in json.loads(out)}
    for path in few:  # too few files: as without the flag
        np.testing.assert_allclose(adapted[str(path)], plain[str(path)], atol=1e-6)
    # the many files by hand: their views scaled with their own mean of the files' own features
    preprocessing = model_folder.load_preprocessing(trained_mini)
    views = np.stack([inference.prediction_features(path, preprocessing.feature_config,
                                                    preprocessing.test_time_augment).rows[0] for path in many], axis=1)
    model = model_folder.load_network(trained_mini, len(preprocessing.mean), len(preprocessing.labels), "numpy")
    expected = network.predict_views(model, (views - views[0].mean(axis=0)) / preprocessing.scale,
                                     preprocessing.class_prior)
    np.testing.assert_allclose(np.stack([adapted[str(path)] for path in many]), expected, atol=1e-5)
    assert max(np.abs(adapted[str(path)] - plain[str(path)]).max() for path in many) > 0.01


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


def test_plot_draws_each_file_s_timeline_with_its_silent_windows_grey(trained_mini, clips, tmp_path):
    from PIL import Image

    from ser import plots

    code, out, err = run(clips["long"], "--segment", "2", "--plot", tmp_path / "talk.png", "--json",
                         model_dir=trained_mini)
    assert code == 0, err
    [result] = json.loads(out)
    image = np.asarray(Image.open(tmp_path / "talk.png").convert("RGB"), dtype=float) / 255
    assert image.shape[:2] == (600, 1600)
    # the same layout, drawn again here, tells where each window is in the picture
    level = inference.level_db(audio.load_audio(clips["long"], 16000), 16000)
    top = plots.timeline_figure(result, level, inference.LEVEL_HOP_SECONDS, corpus.LABELS).axes[0]
    segments = result["segments"]
    silent = [s for s in segments if s["silent"]]
    assert silent and len(silent) < len(segments)  # the silence after the joined clips
    for segment, following in zip(segments, segments[1:]):
        column, row = top.transData.transform(((segment["start"] + following["start"]) / 2, 0.5))
        colour = image[int(round(600 - row)), int(round(column))]
        assert np.allclose(colour, plots.SILENT_GREY, atol=0.02) == segment["silent"], segment
    assert all(sum(s["probabilities"].values()) == pytest.approx(1, abs=1e-5) for s in segments if not s["silent"])
    code, _, err = run(clips["long"], clips["original"], "--segment", "2", "--plot", tmp_path / "many" / "t.png",
                       model_dir=trained_mini)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == sorted(
        ["t-long.png", f"t-{clips['original'].stem}.png"])


def stream_run(*argv, model_dir, data: bytes = b""):
    """predict.py --stream - fed data on standard input: (exit code, stdout, stderr)."""
    done = subprocess.run([sys.executable, str(ROOT / "predict.py"), "--stream", "-", *map(str, argv), "--model-dir",
                           str(model_dir)], input=data, capture_output=True, cwd=ROOT, timeout=300)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def pcm_of(path) -> bytes:
    """The raw 16-bit little-endian mono PCM of a 16 kHz file, as `ffmpeg -f s16le -ac 1 -ar 16000 -` sends it."""
    samples, rate = sf.read(path, dtype="int16")
    assert rate == 16000 and samples.ndim == 1
    return samples.astype("<i2").tobytes()


def same_windows(streamed: list[dict], segments: list[dict]) -> None:
    assert [(w["start"], w["end"], w["silent"], w.get("emotion")) for w in streamed] == [
        (s["start"], s["end"], s["silent"], s.get("emotion")) for s in segments]
    for w, s in zip(streamed, segments):
        if not s["silent"]:
            assert w["probabilities"] == pytest.approx(s["probabilities"], abs=1e-6)


def test_a_stream_of_a_file_gives_its_segment_results_raw_or_wav(trained_mini, clips):
    code, out, err = run(clips["long"], "--segment", "4", "--json", model_dir=trained_mini)
    assert code == 0, err
    segments = json.loads(out)[0]["segments"]
    assert any(s["silent"] for s in segments) and not all(s["silent"] for s in segments)
    raw = pcm_of(clips["long"])
    code, out, err = stream_run("--segment", "4", "--json", model_dir=trained_mini, data=raw)
    assert code == 0, err
    same_windows([json.loads(line) for line in out.splitlines()], segments)
    wav = io.BytesIO()
    sf.write(wav, np.frombuffer(raw, "<i2"), 16000, format="WAV", subtype="PCM_16")
    code, out, err = stream_run("--segment", "4", "--rate", "8000", model_dir=trained_mini, data=wav.getvalue())
    assert code == 0, err  # the header's 16000 Hz, not --rate's, and text lines
    assert out.splitlines() == [predict.window_line(s) for s in segments]


def test_a_window_s_line_comes_as_soon_as_it_is_complete_not_at_the_end(trained_mini, clips):
    raw = pcm_of(clips["long"])
    process = subprocess.Popen([sys.executable, str(ROOT / "predict.py"), "--stream", "-", "--segment", "2", "--json",
                                "--model-dir", str(trained_mini)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    first_part = 5 * 16000 * 2  # 5 s: two 2 s windows complete (the clips start at once)
    for start in range(0, first_part, 8000):  # written slowly, 0.25 s of audio at a time
        process.stdin.write(raw[start:start + 8000])
        process.stdin.flush()
        time.sleep(0.05)
    first = json.loads(lines.get(timeout=120))  # arrives while the input is still open
    assert first["start"] == 0.0 and first["end"] == 2.0
    process.stdin.write(raw[first_part:])
    process.stdin.close()
    assert process.wait(timeout=300) == 0, process.stderr.read().decode()
    rest = []
    while not lines.empty():
        rest.append(json.loads(lines.get()))
    code, out, err = run(clips["long"], "--segment", "2", "--json", model_dir=trained_mini)
    same_windows([first] + rest, json.loads(out)[0]["segments"])


@pytest.mark.parametrize("data,words", [
    (b"RIFF\x10\x00\x00\x00WAVEjunk", ["ended inside its WAV header"]),
    (b"RIFF\x10\x00\x00\x00AVI LIST", ["starts with RIFF but is not a WAVE file"]),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
     + b"data\x00\x00\x00\x00", ["format 3, 32-bit", "only 16-bit PCM"])])
def test_a_broken_stream_header_is_one_line(trained_mini, data, words):
    code, out, err = stream_run(model_dir=trained_mini, data=data)
    assert code == 2 and out == ""
    assert_one_line_error(err, *words)


def test_a_stream_cut_inside_a_sample_keeps_the_lines_already_printed(trained_mini, clips):
    raw = pcm_of(clips["long"])[:7 * 16000 * 2]
    code, out, err = stream_run("--segment", "2", model_dir=trained_mini, data=raw + b"\x01")
    assert code == 2
    assert len(out.splitlines()) == 6  # windows 0-2 ... 5-7 s, all printed before the error
    assert_one_line_error(err, "ended 1 byte(s) into a 2-byte sample frame")


@pytest.mark.parametrize("files,expected", [
    (["a/talk.wav"], ["out/tl.png"]),
    (["a/talk.wav", "b/call.flac"], ["out/tl-talk.png", "out/tl-call.png"]),
    (["a/talk.wav", "b/talk.wav"], ["out/tl-talk.png", "out/tl-talk-2.png"])])
def test_plot_paths_name_one_png_per_file(files, expected):
    assert predict.plot_paths(Path("out/tl.png"), [Path(f) for f in files]) == [Path(e) for e in expected]


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
    shutil.copy(trained_mini / "preprocessing.json", incomplete / "preprocessing.json")
    (incomplete / "complete.json").unlink()  # its writer was killed mid-swap
    code, _, err = run(clips["original"], model_dir=incomplete)
    assert code == 2
    assert_one_line_error(err, f"{incomplete} is incomplete", "model_training.py --out-dir")


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


@pytest.mark.parametrize("argv,words", [
    (["--segment", "nan"], ["segment nan must be a number of seconds"]),
    (["--segment", "inf"], ["segment inf must be a number of seconds"]),
    (["--segment", "0.1"], ["segment 0.1 s is shorter than the 0.25 s", "--segment 0.25 or more"]),
    (["--segment", "4", "--segment-overlap", "1.0"], ["segment_overlap 1.0 must be 0 to 0.9"]),
    (["--jobs", "0"], ["jobs 0: use -1 for all cores"]),
    (["--plot", "t.png"], ["--plot draws a recording's windows over time", "--segment"]),
    (["--segment", "3", "--plot", "t.jpg"], ["--plot t.jpg is not a .png name"]),
    (["--segment", "3", "--adapt-speakers"], ["--adapt-speakers classifies whole files", "leave out --segment"])])
def test_flags_that_cannot_work_are_one_line_before_any_work(trained_mini, clips, argv, words):
    code, out, err = run(clips["original"], *argv, model_dir=trained_mini)
    assert code == 2 and out == ""
    assert_one_line_error(err, *words)


def test_a_very_short_clip_is_too_short_not_silent_with_or_without_windows(trained_mini, clips, tmp_path):
    clip = write_wav(tmp_path / "blip.wav", speech_like(seconds=0.05, pad=0.0, sr=16000) * 3, 16000)
    for argv in ([], ["--segment", "4"]):
        code, _, err = run(clip, *argv, model_dir=trained_mini)
        assert code == 1 and f"{clip}: too short (0.05 s, need 0.25 s of sound)" in err, err
        assert "Traceback" not in err


def test_bad_samples_and_truncated_files_are_named_and_the_rest_predicted(trained_mini, clips, tmp_path):
    signal, sr = sf.read(clips["original"], dtype="float32")
    nan = signal.copy()
    nan[1000] = np.nan
    nan_path = write_wav(tmp_path / "nan.wav", nan, sr, "FLOAT")  # 48 kHz: librosa's resampler was the traceback
    cut = tmp_path / "cut.wav"
    cut.write_bytes(clips["original"].read_bytes()[:150_000])
    code, out, err = run(nan_path, cut, clips["original"], "--json", model_dir=trained_mini)
    assert code == 1 and "Traceback" not in err
    assert f"{nan_path}: contains NaN or infinite samples" in err
    assert f"{cut}: truncated: it holds" in err and "using what is there" in err
    assert [r["file"] for r in json.loads(out)] == [str(cut), str(clips["original"])]


def test_a_model_whose_weights_are_broken_is_refused_not_printed_as_nan(trained_mini, clips, tmp_path):
    from ser import network

    keras = network.load_keras()
    model = keras.models.load_model(trained_mini / "model.keras")
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    broken = tmp_path / "broken"
    shutil.copytree(trained_mini, broken)
    model.save(tmp_path / "nan.keras")
    np.savez(tmp_path / "nan.npz", **network.NumpyNetwork.from_keras(model).arrays)
    rewrite_folder(broken, {"model.keras": (tmp_path / "nan.keras").read_bytes(),
                            "model.npz": (tmp_path / "nan.npz").read_bytes()})
    for runtime in model_folder.RUNTIMES:
        code, out, err = run(clips["original"], "--json", "--runtime", runtime, model_dir=broken)
        assert code == 2 and out == ""
        assert_one_line_error(err, "network gives NaN or infinite probabilities")


def test_the_numpy_runtime_gives_the_keras_model_s_probabilities_without_loading_tensorflow(trained_mini, mini_dir):
    """model.npz (the default runtime) and model.keras (the model of record) agree to 1e-5 on every mini-corpus
    file, and a prediction with the numpy runtime never imports TensorFlow or Keras. Each file alone: the test-time
    copies are more rows through the same two networks (the keras runtime with them: the test below)."""
    files = sorted(mini_dir.rglob("*.wav"))
    results = {}
    for runtime in model_folder.RUNTIMES:
        code, out, err = run(mini_dir, "--json", "--runtime", runtime, "--no-test-time-augment", model_dir=trained_mini)
        assert code == 0, err
        results[runtime] = {r["file"]: r for r in json.loads(out)}
    assert len(results["numpy"]) == len(files)
    for name, result in results["numpy"].items():
        other = results["keras"][name]
        np.testing.assert_allclose(list(result["probabilities"].values()), list(other["probabilities"].values()),
                                   atol=1e-5)
    probe = ("import sys, predict; code = predict.main([sys.argv[1], '--model-dir', sys.argv[2]]); "
             "print(code, sorted({'tensorflow', 'keras'} & {name.split('.')[0] for name in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", probe, str(files[0]), str(trained_mini)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stderr


def test_a_model_folder_from_before_model_npz_predicts_with_keras_and_says_so(trained_mini, clips, tmp_path):
    older = tmp_path / "older"
    shutil.copytree(trained_mini, older)
    rewrite_folder(older, {"model.npz": None})
    code, out, err = run(clips["original"], "--json", model_dir=older)
    assert code == 0, err
    assert f"{older} has no model.npz (trained before it was written): using model.keras" in err
    _, reference, _ = run(clips["original"], "--json", model_dir=trained_mini)
    np.testing.assert_allclose(list(json.loads(out)[0]["probabilities"].values()),
                               list(json.loads(reference)[0]["probabilities"].values()), atol=1e-5)


def test_ctrl_c_during_prediction_prints_one_line(trained_mini, mini_dir):
    process = subprocess.Popen([sys.executable, str(ROOT / "predict.py"), str(mini_dir), "--model-dir",
                                str(trained_mini), "--jobs", "2"], cwd=ROOT, stderr=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, start_new_session=True)
    code, err = interrupt_when(process, lambda: len(loky_workers(process.pid)) == 2)
    assert code == 130
    assert_one_line_error(err, "interrupted")
