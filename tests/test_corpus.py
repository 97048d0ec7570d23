"""ser.corpus: RAVDESS names, finding files, actor and random splits, actor folds."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import as_unprivileged, ravdess_name, speech_like, write_wav
from ser import audio, corpus
from ser.errors import UserError


def test_parse_name_reads_every_field():
    r = corpus.parse_name(Path("Actor_12/03-01-06-02-01-02-12.wav"))
    assert (r.modality, r.channel, r.emotion, r.intensity, r.statement, r.repetition, r.actor) == \
        (3, 1, 5, "strong", 1, 2, 12)
    assert corpus.LABELS[r.emotion] == "fearful"
    assert r.gender == "female"
    assert corpus.parse_name(Path("03-01-01-01-01-01-07.wav")).gender == "male"


@pytest.mark.parametrize("name", ["03-01-06-01-02-01.wav", "03-01-09-01-01-01-01.wav",
                                  "03-01-01-01-01-01-00.wav", "03-03-01-01-01-01-01.wav",
                                  "3-1-6-1-2-1-12.wav", "recording.wav", "03-01-06-01-02-01-12.mp3"])
def test_parse_name_rejects_names_off_the_convention(name):
    with pytest.raises(UserError, match=name.replace(".", r"\.")):
        corpus.parse_name(Path(name))


def test_find_recordings_counts_kaggle_duplicates_once_and_warns_on_bad_names(tmp_path, caplog):
    tone = speech_like(seconds=0.5, pad=0.1)
    for top in ("Actor_01", "audio_speech_actors_01-24/Actor_01"):
        write_wav(tmp_path / top / ravdess_name(3, 1), tone)
    write_wav(tmp_path / "Actor_01" / ravdess_name(3, 1, channel=2), tone)  # song
    write_wav(tmp_path / "Actor_01" / "my-recording.wav", tone)
    with caplog.at_level(logging.WARNING, logger="ser"):
        speech, skipped = corpus.find_recordings(tmp_path, "speech")
    assert [r.path.name for r in speech] == [ravdess_name(3, 1)]
    assert [Path(s["path"]).name for s in skipped] == ["my-recording.wav"]
    assert "my-recording.wav" in caplog.text
    both, _ = corpus.find_recordings(tmp_path, "both")
    assert len(both) == 2


def test_find_recordings_follows_linked_actor_folders_without_looping(tmp_path):
    write_wav(tmp_path / "store" / "Actor_02" / ravdess_name(5, 2), speech_like(seconds=0.5, pad=0.1))
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "Actor_02").symlink_to(tmp_path / "store" / "Actor_02", target_is_directory=True)
    (raw / "Actor_02" / "loop").symlink_to(raw, target_is_directory=True)  # a link back up the tree
    recordings, skipped = corpus.find_recordings(raw, "speech")
    assert [(r.actor, r.path.name) for r in recordings] == [(2, ravdess_name(5, 2))] and skipped == []


def test_find_recordings_on_a_missing_folder_says_where_and_what_to_do(tmp_path):
    with pytest.raises(UserError, match=r"does not exist.*--download"):
        corpus.find_recordings(tmp_path / "nowhere", "speech")


def test_find_audio_takes_files_and_folders_and_names_missing_paths(tmp_path):
    clip = write_wav(tmp_path / "a" / "clip.flac", speech_like(seconds=0.5, pad=0.1))
    (tmp_path / "a" / "notes.txt").write_text("not audio")
    other = write_wav(tmp_path / "b.wav", speech_like(seconds=0.5, pad=0.1))
    files, errors = corpus.find_audio([tmp_path / "a", other, other, tmp_path / "gone.wav"])
    assert files == [clip, other] and errors == [f"{tmp_path / 'gone.wav'}: no such file or folder"]


def test_a_folder_s_voice_memos_are_listed_to_be_named_not_passed_over(tmp_path):
    memo = tmp_path / "memos" / "monday.m4a"
    memo.parent.mkdir()
    memo.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(64))
    opus = tmp_path / "memos" / "voice.opus"
    sf.write(opus, speech_like(seconds=0.5, pad=0.1), 48000, format="OGG", subtype="OPUS")
    files, errors = corpus.find_audio([tmp_path / "memos"])
    assert files == [memo, opus] and errors == []
    with pytest.raises(audio.AudioError, match=r"monday.m4a: unreadable \(.*\.m4a is not read here: convert it first, "
                                               r"ffmpeg -i '.*monday.m4a' '.*monday.wav'"):
        audio.load_audio(memo, 16000)
    assert len(audio.load_audio(opus, 16000)) > 0.5 * 16000


def recordings(n_actors: int = 24) -> list:
    return [corpus.parse_name(Path(ravdess_name(emotion, actor)))
            for actor in range(1, n_actors + 1) for emotion in range(1, 9)]


def actors_of(n_actors: int = 24) -> list[str]:
    return [r.labelled().speaker for r in recordings(n_actors)]


def genders_of(n_actors: int = 24) -> list[str]:
    return [r.gender for r in recordings(n_actors)]


def emotions_of(n_actors: int = 24) -> np.ndarray:
    return np.array([r.emotion for r in recordings(n_actors)])


def test_actor_split_is_disjoint_has_both_sexes_and_is_deterministic():
    assignment = corpus.split_by_speaker(actors_of(), genders_of(), 0.15, 0.15, np.random.default_rng(7))
    groups = {s: {int(a) for a, g in assignment.items() if g == s} for s in corpus.SPLITS}
    assert set().union(*groups.values()) == set(range(1, 25))
    assert sum(len(g) for g in groups.values()) == 24  # each actor in exactly one set
    for actors in groups.values():
        assert {a % 2 for a in actors} == {0, 1}
    assert len(groups["test"]) == 4 and len(groups["val"]) == 4
    assert assignment == corpus.split_by_speaker(actors_of(), genders_of(), 0.15, 0.15, np.random.default_rng(7))
    assert assignment != corpus.split_by_speaker(actors_of(), genders_of(), 0.15, 0.15, np.random.default_rng(8))


def test_actor_split_with_too_few_actors_says_so():
    with pytest.raises(UserError, match="--split random"):
        corpus.split_by_speaker(actors_of(4), genders_of(4), 0.15, 0.15, np.random.default_rng(0))


def test_random_split_is_stratified_by_emotion():
    splits = corpus.split_random(emotions_of(), 0.15, 0.15, np.random.default_rng(0))
    emotions = np.array([r.emotion for r in recordings()])
    test_counts = np.bincount(emotions[np.array(splits) == "test"], minlength=8)
    assert test_counts.min() >= 3 and test_counts.max() - test_counts.min() <= 1  # 15% of 24 per emotion


def test_random_split_with_too_few_files_per_emotion_is_a_clear_error():
    with pytest.raises(UserError, match="cannot split 8 files at random"):
        corpus.split_random(emotions_of(1), 0.15, 0.15, np.random.default_rng(0))


def test_split_fractions_out_of_range_are_refused():
    with pytest.raises(UserError, match="val_fraction 0.6 and test_fraction 0.5"):
        corpus.split_by_speaker(actors_of(), genders_of(), 0.6, 0.5, np.random.default_rng(0))
    with pytest.raises(UserError, match="val_fraction 0"):
        corpus.split_random(emotions_of(), 0.0, 0.15, np.random.default_rng(0))


def test_actor_folds_follow_the_published_groups_and_never_share_actors():
    file_actors = np.repeat(np.arange(1, 25), 8)
    splits = corpus.speaker_folds(file_actors.astype(str), np.where(file_actors % 2, "male", "female"), 6, 0.15,
                                  np.random.default_rng(0))
    assert [sorted(set(file_actors[s.test])) for s in splits] == [list(range(i, i + 4)) for i in range(1, 25, 4)]
    for s in splits:
        train, val, test = (set(file_actors[part]) for part in (s.train, s.val, s.test))
        assert not (train & val or train & test or val & test)
        assert len(train | val | test) == 24
        assert {a % 2 for a in val} == {0, 1}


def test_too_many_folds_is_a_clear_error():
    with pytest.raises(UserError, match="--folds 9"):
        corpus.speaker_folds(np.arange(1, 9).astype(str), ["male", "female"] * 4, 9, 0.15, np.random.default_rng(0))


def test_a_folder_that_cannot_be_read_is_named_and_listed_as_skipped(tmp_path):
    for actor in (1, 2):
        write_wav(tmp_path / f"Actor_{actor:02d}" / ravdess_name(5, actor), speech_like(seconds=0.3))
    (tmp_path / "Actor_02").chmod(0)
    code, err = as_unprivileged(
        "import json, sys, logging; from ser import corpus; logging.basicConfig();"
        f"found, skipped = corpus.find_recordings({str(tmp_path)!r}, 'speech');"
        "print(json.dumps([[r.actor for r in found], skipped]), file=sys.stderr)")
    (tmp_path / "Actor_02").chmod(0o755)
    assert code == 0, err
    actors, skipped = json.loads(err.splitlines()[-1])
    assert actors == [1]
    assert skipped == [{"path": str(tmp_path / "Actor_02"), "reason": "folder cannot be read (Permission denied)"}]
    assert f"skipped {tmp_path / 'Actor_02'}: folder cannot be read (Permission denied)" in err
