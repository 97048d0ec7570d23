"""Your own corpus (ser.manifest, and the scripts with --manifest): reading the CSV, every bad input, and
the mini corpus under other names prepared, trained, evaluated and pooled with RAVDESS."""

import csv
import json
import logging
import shutil

import numpy as np
import pytest

import data_preparation
import model_training
from ser import corpus, prepared_data
from ser.errors import UserError
from ser.manifest import EXAMPLE, read_manifest
from tests.conftest import assert_one_line_error, run_script, speech_like, write_wav

# RAVDESS emotion -> the label of the made-up corpus: calm merged into neutral, disgust dropped, spelt unevenly
RELABEL = {"neutral": "Neutral", "calm": "neutral ", "happy": "HAPPY", "sad": "sad", "angry": "Angry ",
           "fearful": "fearful", "surprised": "Surprised"}
SIX_LABELS = ("neutral", "happy", "sad", "angry", "fearful", "surprised")
NAMES = {1: "tom", 2: "ann", 3: "raj", 4: "eva", 5: "li", 6: "mia", 7: "joe", 8: "zoe"}  # made-up speakers


def write_csv(path, rows: list[dict], header: list[str] | None = None):
    header = header or list(rows[0])
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def renamed_mini(mini_dir, folder, actors=range(1, 9), corpus_name="") -> tuple:
    """The mini-corpus files of actors copied to folder/<speaker>/clip_NNN.wav (no RAVDESS name left), and
    the manifest listing them: (path of manifest.csv, its rows)."""
    recordings, _ = corpus.find_recordings(mini_dir, "speech")
    rows = []
    for number, r in enumerate(recordings):
        emotion = corpus.LABELS[r.emotion]
        if r.actor not in actors or emotion not in RELABEL:
            continue
        target = folder / NAMES[r.actor] / f"clip_{number:03d}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(r.path, target)
        rows.append({"path": str(target.relative_to(folder)), "emotion": RELABEL[emotion],
                     "speaker": NAMES[r.actor], "gender": "m" if r.actor % 2 else "Female",
                     **({"corpus": corpus_name} if corpus_name else {})})
    return write_csv(folder / "mine.csv", rows), rows


# ---------------------------------------------------------------------------------- reading the CSV
def test_rows_become_labelled_files_with_one_spelling_per_label(tmp_path):
    clip = write_wav(tmp_path / "clips" / "a.wav", speech_like())
    elsewhere = write_wav(tmp_path / "other" / "b.flac", speech_like())
    path = write_csv(tmp_path / "lab.csv", [
        {"Path": "clips/a.wav", " Emotion": " Very  Angry ", "speaker": "s1", "gender": "F", "corpus": ""},
        {"Path": str(elsewhere), " Emotion": "very angry", "speaker": "s2", "gender": "", "corpus": "x"}])
    files, skipped = read_manifest(path)
    assert skipped == []
    assert [f.path for f in files] == [clip, elsewhere]
    assert [f.emotion for f in files] == ["very angry", "very angry"]
    assert [(f.speaker, f.gender, f.corpus) for f in files] == [("s1", "female", "lab"), ("s2", "", "x")]


def test_a_manifest_written_on_windows_finds_its_files(tmp_path):
    """clips\\anna_01.wav names clips/anna_01.wav here, unless a file has that backslash in its name (legal here)."""
    clip = write_wav(tmp_path / "clips" / "anna_01.wav", speech_like())
    odd = write_wav(tmp_path / "odd\\name.wav", speech_like())
    path = write_csv(tmp_path / "lab.csv", [{"path": "clips\\anna_01.wav", "emotion": "happy", "speaker": "anna"},
                                            {"path": "odd\\name.wav", "emotion": "sad", "speaker": "anna"},
                                            {"path": "clips\\gone.wav", "emotion": "sad", "speaker": "anna"}])
    files, skipped = read_manifest(path)
    assert [f.path for f in files] == [clip, odd]
    assert [s["path"] for s in skipped] == [str(tmp_path / "clips\\gone.wav")]  # named as listed


def test_label_order_puts_ravdess_emotions_first_then_the_rest_alphabetically():
    assert corpus.label_order(["bored", "Sad", "angry", "Amused", "neutral"]) == (
        "neutral", "sad", "angry", "amused", "bored")
    assert corpus.label_order(corpus.LABELS[::-1]) == corpus.LABELS


def test_rows_that_cannot_be_used_are_skipped_with_a_warning_naming_the_line(tmp_path, caplog):
    write_wav(tmp_path / "a.wav", speech_like())
    path = write_csv(tmp_path / "m.csv", [
        {"path": "a.wav", "emotion": "happy", "speaker": "s1"},
        {"path": "gone.wav", "emotion": "happy", "speaker": "s1"},
        {"path": "a.wav", "emotion": " ", "speaker": "s1"},
        {"path": "a.wav", "emotion": "sad", "speaker": ""}])
    with caplog.at_level(logging.WARNING):
        files, skipped = read_manifest(path)
    assert len(files) == 1
    assert [s["reason"].split(":")[0] for s in skipped] == ["line 3", "line 4", "line 5"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "line 3" in warnings[0] and "gone.wav does not exist" in warnings[0]
    assert "line 4" in warnings[1] and "emotion is empty" in warnings[1]
    assert "line 5" in warnings[2] and "speaker is empty" in warnings[2]


@pytest.mark.parametrize("content,words", [
    ("path,speaker\na.wav,s1\n", ["lacks the column(s) emotion", "header: path,speaker"]),
    ("path,emotion,speaker\na.wav,happy\n", ["line 2 has 2 fields", "the header 3"]),
    ("path,emotion,speaker,gender\na.wav,happy,s1,robot\n", ["line 2", "gender 'robot'"]),
    ("path,emotion,speaker,gender\na.wav,happy,s1,male\na.wav,sad,s1,female\n", ["line 3", "speaker 's1'", "line 2"]),
    (b"PK\x03\x04\x14\x00\x08\x08\x00\x00\xff\xfe\x9c binary", ["cannot be read as CSV"]),
])
def test_a_manifest_that_cannot_be_read_is_one_error_naming_what_to_fix(tmp_path, content, words):
    write_wav(tmp_path / "a.wav", speech_like())
    path = tmp_path / "m.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UserError) as err:
        read_manifest(path)
    assert str(path) in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_the_help_shows_the_manifest_format_with_an_example():
    code, out, _ = run_script("data_preparation.py", "--help")
    assert code == 0 and EXAMPLE in out and len(EXAMPLE.splitlines()) == 5
    assert EXAMPLE.splitlines()[0].split(",")[:3] == ["path", "emotion", "speaker"]


# ---------------------------------------------------------------------------------- bad input through the scripts
def test_bad_manifests_are_one_line_errors_and_leave_the_output_untouched(tmp_path):
    out = tmp_path / "out"
    for speaker in ("s1", "s2"):
        for emotion in ("happy", "sad"):
            for take in (1, 2):
                write_wav(tmp_path / f"{speaker}_{emotion}{take}.wav", speech_like(seed=take))
    one_speaker = write_csv(tmp_path / "one.csv", [{"path": f"s1_{e}{k}.wav", "emotion": e, "speaker": "s1"}
                                                     for e in ("happy", "sad") for k in (1, 2)])
    code, _, err = run_script("data_preparation.py", "--manifest", one_speaker, "--out-dir", out)
    assert code == 1
    assert_one_line_error(err, "one speaker (s1)", "--split random")
    not_csv = tmp_path / "notes.xlsx"
    not_csv.write_bytes(b"PK\x03\x04\xff\xfe\x00\x9c")
    code, _, err = run_script("data_preparation.py", "--manifest", not_csv, "--out-dir", out)
    assert code == 1
    assert_one_line_error(err, str(not_csv), "cannot be read as CSV")
    one_label = write_csv(tmp_path / "label.csv", [{"path": f"{s}_happy{k}.wav", "emotion": "happy", "speaker": s}
                                                     for s in ("s1", "s2") for k in (1, 2)] +
                          [{"path": "s1_sad1.wav", "emotion": "sad", "speaker": "s1"}])
    code, _, err = run_script("data_preparation.py", "--manifest", one_label, "--out-dir", out)
    assert code == 1
    assert "skipped label 'sad': only 1 file" in err and "s1_sad1.wav" in err
    assert_one_line_error(err, "1 label(s) ['happy']", "2 or more")
    assert list(out.iterdir()) == []  # checked writable, nothing written


def test_a_label_with_one_file_is_dropped_and_two_labels_train_and_predict(tmp_path):
    rows = []
    for s in range(6):
        for emotion in ("happy", "sad"):
            write_wav(tmp_path / f"s{s}_{emotion}.wav", speech_like(f0=120 + 20 * s + (emotion == "sad") * 40, seed=s))
            rows.append({"path": f"s{s}_{emotion}.wav", "emotion": emotion, "speaker": f"s{s}"})
    write_wav(tmp_path / "lonely.wav", speech_like(seed=9))
    rows.append({"path": "lonely.wav", "emotion": "bored", "speaker": "s1"})
    out = tmp_path / "out"
    code, _, err = run_script("data_preparation.py", "--manifest", write_csv(tmp_path / "m.csv", rows),
                              "--out-dir", out, "--jobs", "1")
    assert code == 0, err
    assert "skipped label 'bored': only 1 file" in err
    meta = json.loads((out / "meta.json").read_text())
    assert meta["labels"] == ["happy", "sad"] and meta["data_dir"] is None
    assert {"path": str(tmp_path / "lonely.wav"), "reason": "label 'bored' has fewer than 2 files"} in meta["skipped"]
    results = tmp_path / "results"
    assert model_training.main(["--data-dir", str(out), "--out-dir", str(results), "--no-augment", "--epochs", "1",
                                "--ensemble", "1", "--jobs", "1"]) == 0
    assert json.loads((results / "preprocessing.json").read_text())["labels"] == ["happy", "sad"]
    assert np.array(json.loads((results / "metrics.json").read_text())["confusion_matrix"]).shape == (2, 2)
    code, printed, err = run_script("predict.py", "--model-dir", results, "--json", tmp_path / "s0_sad.wav")
    assert code == 0, err
    assert set(json.loads(printed)[0]["probabilities"]) == {"happy", "sad"}


# ---------------------------------------------------------------------------------- the mini corpus under other names
@pytest.fixture(scope="module")
def renamed(mini_dir, tmp_path_factory):
    """The renamed mini corpus prepared (6 labels, made-up speakers) and trained for a few epochs."""
    folder = tmp_path_factory.mktemp("mine")
    listing, rows = renamed_mini(mini_dir, folder)
    prepared, results = folder / "processed", folder / "results"
    assert data_preparation.main(["--manifest", str(listing), "--out-dir", str(prepared), "--jobs", "2"]) == 0
    assert model_training.main(["--data-dir", str(prepared), "--out-dir", str(results), "--no-augment",
                                "--epochs", "3", "--jobs", "2"]) == 0
    return folder, listing, rows, prepared, results


def test_a_manifest_corpus_is_prepared_with_its_own_labels_and_a_speaker_independent_split(renamed):
    folder, _, rows, prepared, _ = renamed
    meta = json.loads((prepared / "meta.json").read_text())
    assert tuple(meta["labels"]) == SIX_LABELS
    assert meta["corpora"] == {"mine": len(rows)} and meta["data_dir"] is None
    data = prepared_data.load_prepared(prepared)
    assert data.labels == SIX_LABELS
    sizes = {s: len(data.y[s]) for s in corpus.SPLITS}
    assert sum(sizes.values()) == len(rows) == 122 - 8 * 2  # each speaker's 2 disgust files dropped
    for split in corpus.SPLITS:
        X, y = data.X[split], data.y[split]
        assert X.shape == (sizes[split], len(meta["feature_names"])) and X.dtype == np.float32
        assert set(y) <= set(range(6))
    with open(prepared / "manifest.csv") as f:
        listed = list(csv.DictReader(f))
    speakers = {s: {r["speaker"] for r in listed if r["split"] == s} for s in corpus.SPLITS}
    assert set().union(*speakers.values()) == set(NAMES.values())
    assert not (speakers["train"] & speakers["val"] or speakers["train"] & speakers["test"]
                or speakers["val"] & speakers["test"])
    assert {r["gender"] for r in listed if r["split"] == "test"} == {"male", "female"}
    by_path = {str(folder / r["path"]): r["emotion"] for r in rows}
    assert all(corpus.normalise_label(by_path[r["path"]]) == r["emotion"] for r in listed)
    assert {r["emotion"] for r in listed if "neutral" in r["emotion"]} == {"neutral"}  # calm merged in


def test_a_model_trained_on_a_manifest_keeps_its_labels_and_predicts_only_them(renamed, tmp_path):
    folder, _, rows, _, results = renamed
    preprocessing = json.loads((results / "preprocessing.json").read_text())
    assert tuple(preprocessing["labels"]) == SIX_LABELS
    summary = json.loads((results / "metrics.json").read_text())
    assert list(summary["per_class"]) == list(SIX_LABELS)
    assert np.array(summary["confusion_matrix"]).shape == (6, 6)
    assert set(summary["accuracy_by_speaker"]) == set(summary["test_speakers"]) <= set(NAMES.values())
    listing = write_csv(tmp_path / "theirs.csv", [{**r, "path": str(folder / r["path"])} for r in rows[:20]] +
                        [{"path": str(folder / rows[0]["path"]), "emotion": "Bored", "speaker": "x", "gender": ""},
                         {"path": str(folder / "gone.wav"), "emotion": "sad", "speaker": "x", "gender": ""}])
    code, out, err = run_script("predict.py", "--model-dir", results, "--manifest", listing, "--json",
                                "--no-test-time-augment", "--out-dir", tmp_path / "eval")
    assert code == 1, err  # the row of a missing file counts as failed, the others are predicted
    predicted = json.loads(out)
    assert len(predicted) == 20
    assert "gone.wav does not exist" in err and "predicted 20 files, 1 failed" in err
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["n_failed"] == 1
    assert "listed twice (kept the first)" in err  # the bored row is the first file again
    assert predicted[0]["true_emotion"] == corpus.normalise_label(rows[0]["emotion"])
    assert {p["emotion"] for p in predicted} <= set(SIX_LABELS)
    assert all(set(p["probabilities"]) == set(SIX_LABELS) for p in predicted)
    assert "Traceback" not in err


def test_predict_with_a_manifest_scores_the_shared_labels_and_names_the_unknown_ones(renamed, tmp_path):
    folder, _, rows, _, results = renamed
    extra = [{"path": str(folder / r["path"]), "emotion": "bored", "speaker": r["speaker"]} for r in rows[20:23]]
    listing = write_csv(tmp_path / "theirs.csv", [{"path": str(folder / r["path"]), "emotion": r["emotion"]}
                                                  for r in rows[:20]] + [{k: r[k] for k in ("path", "emotion")}
                                                                         for r in extra])
    code, out, err = run_script("predict.py", "--model-dir", results, "--manifest", listing,
                                "--no-test-time-augment", "--out-dir", tmp_path / "eval")
    assert code == 0, err
    assert "20 of 23 predicted files have labels the model knows" in err
    assert "labels the model does not know: bored (3)" in err
    figures = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert figures["n_files"] == 23 and figures["n_scored"] == 20 and figures["unknown_labels"] == {"bored": 3}
    assert figures["labels"] == list(SIX_LABELS)
    matrix = np.array(figures["confusion_matrix"])
    assert matrix.shape == (6, 6) and matrix.sum() == 20
    truth_counts = {label: sum(corpus.normalise_label(r["emotion"]) == label for r in rows[:20])
                    for label in SIX_LABELS}
    assert {k: v["support"] for k, v in figures["per_class"].items()} == {k: n for k, n in truth_counts.items() if n}
    recalls = [v["recall"] for v in figures["per_class"].values()]
    assert figures["balanced_accuracy"] == pytest.approx(np.mean(recalls))
    assert figures["accuracy"] == pytest.approx(np.trace(matrix) / 20)
    assert (tmp_path / "eval" / "confusion_matrix.png").stat().st_size > 1000
    code, _, err = run_script("predict.py", "--model-dir", results, "--out-dir", tmp_path / "e2", rows[0]["path"])
    assert code == 2
    assert_one_line_error(err, "--out-dir", "--manifest")


def test_pooling_ravdess_with_a_manifest_and_leaving_one_corpus_out(mini_dir, tmp_path, capsys):
    ravdess = tmp_path / "ravdess"
    for actor in range(1, 5):
        (ravdess / f"Actor_{actor:02d}").mkdir(parents=True)
        for wav in (mini_dir / f"Actor_{actor:02d}").glob("*.wav"):
            (ravdess / wav.parent.name / wav.name).symlink_to(wav)
    listing, rows = renamed_mini(mini_dir, tmp_path / "mine", actors=range(5, 9), corpus_name="studio2")
    prepared = tmp_path / "processed"
    assert data_preparation.main(["--data-dir", str(ravdess), "--manifest", str(listing), "--out-dir", str(prepared),
                                  "--test-fraction", "0.25", "--val-fraction", "0.25", "--jobs", "2"]) == 0
    meta = json.loads((prepared / "meta.json").read_text())
    n_ravdess = sum(1 for _ in ravdess.rglob("*.wav"))
    assert meta["corpora"] == {"ravdess": n_ravdess, "studio2": len(rows)}
    assert tuple(meta["labels"]) == corpus.LABELS  # disgust and calm come from the RAVDESS files
    with open(prepared / "manifest.csv") as f:
        listed = list(csv.DictReader(f))
    assert {r["speaker"] for r in listed if r["corpus"] == "ravdess"} == {"1", "2", "3", "4"}
    assert {r["speaker"] for r in listed if r["corpus"] == "studio2"} == {NAMES[a] for a in range(5, 9)}
    assert set(meta["split"]["speakers"]["test"]) <= {f"ravdess:{a}" for a in range(1, 5)} | {
        f"studio2:{NAMES[a]}" for a in range(5, 9)}
    out = tmp_path / "cv"
    capsys.readouterr()
    assert model_training.main(["--data-dir", str(prepared), "--out-dir", str(out), "--folds", "corpus",
                                "--no-augment", "--epochs", "2", "--ensemble", "1", "--jobs", "2"]) == 0
    summary = json.loads((out / "cv_metrics.json").read_text())
    assert [fold["test"] for fold in summary["folds"]] == ["ravdess", "studio2"]
    assert summary["folds"][0]["test_speakers"] == ["ravdess:1", "ravdess:2", "ravdess:3", "ravdess:4"]
    assert set(summary["folds"][1]["test_speakers"]) == {f"studio2:{NAMES[a]}" for a in range(5, 9)}
    table = capsys.readouterr().out
    assert "ravdess" in table and "studio2" in table
    single = tmp_path / "single"
    assert model_training.main(["--data-dir", str(prepared), "--out-dir", str(single), "--no-augment",
                                "--epochs", "2", "--ensemble", "1", "--jobs", "2"]) == 0
    figures = json.loads((single / "metrics.json").read_text())
    tested = {s.split(":")[0] for s in figures["test_speakers"]}
    assert ("by_corpus" in figures) == (len(tested) > 1)
    assert set(figures.get("by_corpus", tested)) == tested
    assert set(figures["accuracy_by_speaker"]) == set(figures["test_speakers"])


def test_folds_corpus_with_one_corpus_is_a_one_line_error(prepared_mini, tmp_path):
    code, _, err = run_script("model_training.py", "--data-dir", prepared_mini, "--out-dir", tmp_path / "r",
                              "--folds", "corpus", "--no-augment", "--epochs", "1")
    assert code == 1
    assert_one_line_error(err, "--folds corpus", "two or more corpora")
    assert not (tmp_path / "r" / "cv_metrics.json").exists()


def test_without_a_speaker_column_the_speaker_is_unknown_and_sexes_are_not_compared(tmp_path):
    for name in ("a.wav", "b.wav"):
        write_wav(tmp_path / name, np.zeros(800, np.float32), 16000)
    path = write_csv(tmp_path / "theirs.csv", [{"path": "a.wav", "emotion": "happy", "gender": "male"},
                                               {"path": "b.wav", "emotion": "sad", "gender": "female"}])
    files, skipped = read_manifest(path, required=("path", "emotion"))
    assert [(f.speaker, f.gender) for f in files] == [("", "male"), ("", "female")] and skipped == []
