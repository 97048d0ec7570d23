"""data_preparation.py: names, loading, bad files, features, splits, atomic output, download, CLI."""

import csv
import hashlib
import http.server
import io
import json
import logging
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import data_preparation as dp
from conftest import ravdess_name, speech_like, write_wav

CONFIG = dp.FeatureConfig()


# ------------------------------------------------------------------------------ names and files
def test_parse_name_reads_every_field():
    r = dp.parse_name(Path("Actor_12/03-01-06-02-01-02-12.wav"))
    assert (r.modality, r.channel, r.emotion, r.intensity, r.statement, r.repetition, r.actor) == \
        (3, 1, 5, "strong", 1, 2, 12)
    assert dp.LABELS[r.emotion] == "fearful"
    assert r.gender == "female"
    assert dp.parse_name(Path("03-01-01-01-01-01-07.wav")).gender == "male"


@pytest.mark.parametrize("name", ["03-01-06-01-02-01.wav", "03-01-09-01-01-01-01.wav",
                                  "03-01-01-01-01-01-00.wav", "03-03-01-01-01-01-01.wav",
                                  "3-1-6-1-2-1-12.wav", "recording.wav", "03-01-06-01-02-01-12.mp3"])
def test_parse_name_rejects_names_off_the_convention(name):
    with pytest.raises(dp.UserError, match=name.replace(".", r"\.")):
        dp.parse_name(Path(name))


def test_find_recordings_counts_kaggle_duplicates_once_and_warns_on_bad_names(tmp_path, caplog):
    tone = speech_like(seconds=0.5, pad=0.1)
    for top in ("Actor_01", "audio_speech_actors_01-24/Actor_01"):
        write_wav(tmp_path / top / ravdess_name(3, 1), tone)
    write_wav(tmp_path / "Actor_01" / ravdess_name(3, 1, channel=2), tone)  # song
    write_wav(tmp_path / "Actor_01" / "my-recording.wav", tone)
    with caplog.at_level(logging.WARNING, logger="ser"):
        speech, skipped = dp.find_recordings(tmp_path, "speech")
    assert [r.path.name for r in speech] == [ravdess_name(3, 1)]
    assert [Path(s["path"]).name for s in skipped] == ["my-recording.wav"]
    assert "my-recording.wav" in caplog.text
    both, _ = dp.find_recordings(tmp_path, "both")
    assert len(both) == 2


def test_find_recordings_follows_linked_actor_folders_without_looping(tmp_path):
    write_wav(tmp_path / "store" / "Actor_02" / ravdess_name(5, 2), speech_like(seconds=0.5, pad=0.1))
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "Actor_02").symlink_to(tmp_path / "store" / "Actor_02", target_is_directory=True)
    (raw / "Actor_02" / "loop").symlink_to(raw, target_is_directory=True)  # a link back up the tree
    recordings, skipped = dp.find_recordings(raw)
    assert [(r.actor, r.path.name) for r in recordings] == [(2, ravdess_name(5, 2))] and skipped == []


def test_find_recordings_on_a_missing_folder_says_where_and_what_to_do(tmp_path):
    with pytest.raises(dp.UserError, match=r"does not exist.*--download"):
        dp.find_recordings(tmp_path / "nowhere")


# ------------------------------------------------------------------------------ loading
@pytest.mark.parametrize("sr,subtype,channels", [(48000, "PCM_16", 1), (16000, "PCM_16", 1),
                                                 (48000, "PCM_24", 1), (44100, "FLOAT", 1),
                                                 (48000, "PCM_16", 2), (22050, "PCM_32", 2)])
def test_load_audio_gives_mono_at_the_configured_rate(tmp_path, sr, subtype, channels):
    signal = speech_like(seconds=1.0, sr=sr, pad=0.2)
    data = np.stack([signal, signal], axis=1) if channels == 2 else signal
    path = write_wav(tmp_path / "x.wav", data, sr, subtype)
    loaded = dp.load_audio(path, 16000)
    assert loaded.ndim == 1 and loaded.dtype == np.float32
    assert abs(len(loaded) - round(len(signal) * 16000 / sr)) <= 1
    reference = dp.load_audio(write_wav(tmp_path / "ref.wav", signal, sr, "FLOAT"), 16000)
    assert np.abs(loaded - reference).max() < 1e-3


def test_stereo_downmix_gives_the_same_features_as_mono(tmp_path):
    signal = speech_like()
    mono = dp.file_features(write_wav(tmp_path / "m.wav", signal), CONFIG)
    stereo = dp.file_features(write_wav(tmp_path / "s.wav", np.stack([signal, signal], 1)), CONFIG)
    np.testing.assert_allclose(mono, stereo, rtol=1e-4, atol=1e-4)


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, expected reason) for each kind of unusable file."""
    folder.mkdir(parents=True, exist_ok=True)
    corrupt = folder / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" + bytes(range(256)))
    empty = write_wav(folder / "empty.wav", np.zeros(0, dtype=np.float32))
    silent = write_wav(folder / "silent.wav", np.zeros(48000, dtype=np.float32))
    short = write_wav(folder / "short.wav", speech_like(seconds=0.1, pad=0.3))
    return {"corrupt": (corrupt, "unreadable"), "empty": (empty, "empty"),
            "silent": (silent, "silent"), "short": (short, "too short")}


@pytest.mark.parametrize("kind", ["corrupt", "empty", "silent", "short"])
def test_unusable_files_give_a_reason_that_names_the_file(tmp_path, kind):
    path, reason = bad_files(tmp_path)[kind]
    vector, message = dp.try_file_features(path, CONFIG)
    assert vector is None
    assert str(path) in message and reason in message


def test_noise_without_speech_is_silent_but_quiet_speech_is_not(tmp_path):
    noise = np.random.default_rng(0).standard_normal(48000).astype(np.float32) * 0.01
    assert "silent" in dp.try_file_features(write_wav(tmp_path / "n.wav", noise), CONFIG)[1]
    quiet = write_wav(tmp_path / "q.wav", speech_like() * 0.01)
    assert dp.try_file_features(quiet, CONFIG)[0] is not None


# ------------------------------------------------------------------------------ features
def test_features_have_one_name_each_and_are_deterministic():
    signal = speech_like(sr=16000)
    first = dp.extract_features(signal, 16000, CONFIG)
    names = dp.feature_names(CONFIG)
    assert first.shape == (len(names),) and len(set(names)) == len(names)
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, dp.extract_features(signal, 16000, CONFIG))


def test_features_ignore_recording_level_and_silence_padding():
    signal = speech_like(sr=16000, pad=0.3)
    base = dp.extract_features(signal, 16000, CONFIG)
    quieter = dp.extract_features(signal * 0.05, 16000, CONFIG)
    padded = dp.extract_features(np.concatenate([np.zeros(32000, np.float32), signal,
                                                 np.zeros(16000, np.float32)]), 16000, CONFIG)
    scale = np.abs(base) + 1
    assert np.max(np.abs(quieter - base) / scale) < 0.05
    assert np.max(np.abs(padded - base) / scale) < 0.05


def test_features_follow_the_config():
    signal = speech_like(sr=16000)
    baseline = dp.FeatureConfig(features="mfcc_mean", n_mfcc=20)
    assert dp.extract_features(signal, 16000, baseline).shape == (20,)
    assert dp.feature_names(baseline) == [f"mfcc_mean{i}" for i in range(20)]
    at_48k = dp.extract_features(speech_like(sr=48000), 48000, CONFIG)  # resampled to 16 kHz inside
    at_16k = dp.extract_features(signal, 16000, CONFIG)
    mfcc_means = [i for i, name in enumerate(dp.feature_names(CONFIG)) if name.startswith("mfcc_mean")]
    assert np.max(np.abs(at_48k - at_16k)[mfcc_means] / (np.abs(at_16k[mfcc_means]) + 1)) < 0.1


def test_pooled_statistics_match_their_definitions():
    rng = np.random.default_rng(0)
    rows = rng.gamma(2.0, size=(3, 500))
    stats = dict(dp._pooled("x", rows, ("mean", "std", "p10", "p90", "slope", "skew", "kurtosis", "range", "iqr")))
    np.testing.assert_allclose(stats["x_mean"], rows.mean(axis=1))
    np.testing.assert_allclose(stats["x_p90"], np.percentile(rows, 90, axis=1))
    np.testing.assert_allclose(stats["x_range"], np.ptp(np.percentile(rows, [1, 99], axis=1), axis=0))
    np.testing.assert_allclose(stats["x_iqr"], np.ptp(np.percentile(rows, [25, 75], axis=1), axis=0))
    centred = (rows - rows.mean(axis=1, keepdims=True)) / rows.std(axis=1, keepdims=True)
    np.testing.assert_allclose(stats["x_skew"], (centred ** 3).mean(axis=1))  # gamma(2): skew ~1.4 > 0
    assert (stats["x_skew"] > 1).all() and (stats["x_kurtosis"] > 1).all()
    ramp = dict(dp._pooled("r", np.linspace(-3, 3, 50), ("slope",)))
    np.testing.assert_allclose(ramp["r_slope"], [3.0])
    empty = dict(dp._pooled("e", np.zeros((2, 0)), ("mean", "std", "p50", "skew")))  # e.g. no voiced frame
    assert all(np.isfinite(v).all() and v.shape == (2,) for v in empty.values())


def test_contour_shape_matches_its_definitions():
    frames_per_second = 100.0
    t = np.arange(300) / frames_per_second  # 3 s
    contours = np.stack([np.linspace(0, 1, 300),  # rising ramp
                         np.sin(2 * np.pi * 2.0 * t),  # 2 peaks per second, 0.5 s apart
                         (t - 1.5) ** 2])  # valley in the middle: positive curvature
    shape = dict(dp._contour_shape("c", contours, frames_per_second))
    assert set(shape) == {f"c_{stat}" for stat in dp.CONTOUR_SHAPE}
    ramp, sine, valley = (dict(zip(dp.CONTOUR_SHAPE, row))
                          for row in np.stack([shape[f"c_{stat}"] for stat in dp.CONTOUR_SHAPE], axis=1))
    assert ramp["max_position"] > 0.99 and ramp["min_position"] == 0 and ramp["rising"] > 0.99
    np.testing.assert_allclose([ramp[f"up{q}"] for q in (25, 50, 75, 90)], [0.75, 0.5, 0.25, 0.1], atol=0.02)
    assert abs(ramp["curvature"]) < 1e-9 and ramp["fit_error"] < 1e-9 and ramp["peaks_per_second"] == 0
    np.testing.assert_allclose(ramp["rise_slope"], 1 / 299)
    np.testing.assert_allclose([sine["peaks_per_second"], sine["peak_seconds"]], [2.0, 0.5], rtol=0.02)
    assert sine["peak_height"] > 0.4 and sine["fit_error"] > 0.5
    assert valley["curvature"] > 0 and 0.45 < valley["min_position"] < 0.55 and valley["fit_error"] < 1e-9
    too_short = dict(dp._contour_shape("v", np.zeros((1, 3)), frames_per_second))  # e.g. hardly any voicing
    assert all(np.array_equal(value, [0.0]) for value in too_short.values())


def test_thirds_and_modulation_follow_the_contour():
    ramp = np.linspace(0, 3, 300)
    thirds = dict(dp._thirds("r", ramp))
    np.testing.assert_allclose([thirds[f"r_third{k}"][0] for k in (1, 2, 3)], [-1, 0, 1], atol=0.01)
    frames_per_second = 100.0
    t = np.arange(200) / frames_per_second
    syllables = np.exp(np.stack([np.sin(2 * np.pi * 5 * t), np.sin(2 * np.pi * 1 * t)]))  # 5 Hz and 1 Hz envelopes
    share = dict(dp._modulation_db("m", syllables, frames_per_second))
    ranges = [f"m_{low:g}_{high:g}hz_db" for low, high in dp.MODULATION_HZ]
    assert ranges == list(share) and all(share[r].shape == (2,) for r in ranges)
    by_range = np.stack([share[r] for r in ranges], axis=1)  # (bands, ranges)
    assert ranges[by_range[0].argmax()] == "m_4_8hz_db" and ranges[by_range[1].argmax()] == "m_0.5_2hz_db"
    assert by_range.max(axis=1).min() > -1  # the dominant range holds most of the energy


def test_harmonicity_is_high_for_a_steady_vowel_and_low_for_noise():
    sr, hop, frame_length = 16000, 320, 1024
    t = np.arange(sr) / sr
    vowel = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8))
    noise = np.random.default_rng(0).normal(size=sr)
    frames = np.arange(5, 40)
    f0 = np.full(50, 150.0)
    assert dp._harmonicity_db(vowel, f0, frames, frame_length, hop, sr).min() > 15
    assert dp._harmonicity_db(noise, f0, frames, frame_length, hop, sr).max() < 0


def test_feature_config_from_another_version_is_rejected():
    values = CONFIG.to_dict() | {"n_chroma": 12}
    with pytest.raises(dp.UserError, match="another feature config"):
        dp.FeatureConfig.from_dict(values)
    assert dp.FeatureConfig.from_dict(CONFIG.to_dict()) == CONFIG
    with pytest.raises(dp.UserError, match="version"):  # made by older feature code
        dp.FeatureConfig.from_dict(CONFIG.to_dict() | {"version": dp.FEATURE_VERSION - 1})


# ------------------------------------------------------------------------------ splits
def recordings(n_actors: int = 24) -> list:
    return [dp.parse_name(Path(ravdess_name(emotion, actor)))
            for actor in range(1, n_actors + 1) for emotion in range(1, 9)]


def test_actor_split_is_disjoint_has_both_sexes_and_is_deterministic():
    assignment = dp.split_by_actor(recordings(), 0.15, 0.15, np.random.default_rng(7))
    groups = {s: {a for a, g in assignment.items() if g == s} for s in dp.SPLITS}
    assert set().union(*groups.values()) == set(range(1, 25))
    assert sum(len(g) for g in groups.values()) == 24  # each actor in exactly one set
    for actors in groups.values():
        assert {a % 2 for a in actors} == {0, 1}
    assert len(groups["test"]) == 4 and len(groups["val"]) == 4
    assert assignment == dp.split_by_actor(recordings(), 0.15, 0.15, np.random.default_rng(7))
    assert assignment != dp.split_by_actor(recordings(), 0.15, 0.15, np.random.default_rng(8))


def test_actor_split_with_too_few_actors_says_so():
    with pytest.raises(dp.UserError, match="--split random"):
        dp.split_by_actor(recordings(4), 0.15, 0.15, np.random.default_rng(0))


def test_random_split_is_stratified_by_emotion():
    splits = dp.split_random(recordings(), 0.15, 0.15, np.random.default_rng(0))
    emotions = np.array([r.emotion for r in recordings()])
    test_counts = np.bincount(emotions[np.array(splits) == "test"], minlength=8)
    assert test_counts.min() >= 3 and test_counts.max() - test_counts.min() <= 1  # 15% of 24 per emotion


# ------------------------------------------------------------------------------ output
def test_write_outputs_leaves_the_previous_output_intact_when_interrupted(tmp_path, monkeypatch):
    arrays = {"X_train": np.ones((2, 3), np.float32), "y_train": np.zeros(2, np.int64)}
    dp.write_outputs(tmp_path, arrays, [], {"run": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dp.json, "dumps", interrupted)  # dies after the arrays were staged
    with pytest.raises(KeyboardInterrupt):
        dp.write_outputs(tmp_path, {k: v * 2 for k, v in arrays.items()}, [], {"run": 2})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temp files either


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "a.json"
    dp.write_json(target, {"old": True})

    def failing(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        dp.atomic_write(target, failing)
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


# ------------------------------------------------------------------------------ download
class CorpusServer(http.server.BaseHTTPRequestHandler):
    """Serves one in-memory file at any path, honouring 'Range: bytes=N-' like Zenodo does."""

    payload = b""
    ranges: list = []

    def do_GET(self):
        start = 0
        if header := self.headers.get("Range"):
            start = int(header.split("=")[1].rstrip("-"))
            type(self).ranges.append(start)
        body = self.payload[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(payload: bytes) -> str:
        handler = type("Handler", (CorpusServer,), {"payload": payload, "ranges": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/Audio_Speech_Actors_01-24.zip", handler

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def corpus_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, speech_like(seconds=0.6, pad=0.2), 48000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_download_verifies_extracts_and_finds_the_files(tmp_path, serve):
    payload = corpus_zip({f"Actor_01/{ravdess_name(5, 1)}": wav_bytes(),
                          f"Actor_02/{ravdess_name(4, 2)}": wav_bytes()})
    url, _ = serve(payload)
    added = dp.download_corpus(tmp_path / "raw", url, hashlib.md5(payload).hexdigest())
    assert added == 2
    found, _ = dp.find_recordings(tmp_path / "raw")
    assert sorted(r.actor for r in found) == [1, 2]
    assert not list((tmp_path / "raw").glob("*.zip*"))  # archive removed after extraction


def test_download_resumes_a_partial_file(tmp_path, serve):
    payload = corpus_zip({f"Actor_01/{ravdess_name(5, 1)}": wav_bytes()})
    url, handler = serve(payload)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "Audio_Speech_Actors_01-24.zip.part").write_bytes(payload[:1000])
    dp.download_corpus(raw, url, hashlib.md5(payload).hexdigest())
    assert handler.ranges == [1000]
    assert len(dp.find_recordings(raw)[0]) == 1


def test_download_with_a_wrong_checksum_is_rejected_and_deleted(tmp_path, serve):
    url, _ = serve(corpus_zip({f"Actor_01/{ravdess_name(5, 1)}": wav_bytes()}))
    with pytest.raises(dp.UserError, match="md5"):
        dp.download_corpus(tmp_path, url, "0" * 32)
    assert not list(tmp_path.iterdir())


def test_zip_slip_member_is_rejected_before_anything_is_written(tmp_path, serve):
    payload = corpus_zip({f"Actor_01/{ravdess_name(5, 1)}": wav_bytes(), "../../evil.wav": b"x"})
    url, _ = serve(payload)
    with pytest.raises(dp.UserError, match="outside"):
        dp.download_corpus(tmp_path / "raw", url, hashlib.md5(payload).hexdigest())
    assert not (tmp_path / "evil.wav").exists() and not (tmp_path.parent / "evil.wav").exists()
    assert not list((tmp_path / "raw").rglob("*.wav"))


def test_download_without_network_says_where_to_put_the_files(tmp_path):
    with pytest.raises(dp.UserError, match=r"cannot download.*Actor_XX"):
        dp.download_corpus(tmp_path, "http://127.0.0.1:9/Audio_Speech_Actors_01-24.zip", None)


# ------------------------------------------------------------------------------ command line
def test_main_on_a_missing_folder_prints_one_line_and_fails(tmp_path, capsys):
    assert dp.main(["--data-dir", str(tmp_path / "nope"), "--out-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err


def test_main_on_a_folder_without_wavs_suggests_download(tmp_path, capsys):
    assert dp.main(["--data-dir", str(tmp_path), "--out-dir", str(tmp_path / "out")]) == 1
    assert "no RAVDESS WAVs" in capsys.readouterr().err


def test_main_skips_bad_files_counts_them_and_reuses_its_output(synthetic_corpus, tmp_path, caplog):
    for kind, (path, _) in bad_files(tmp_path / "bad").items():
        path.rename(synthetic_corpus / "Actor_01" / ravdess_name(8, 1, intensity=2, repetition=2
                                                                 if kind in ("empty", "short") else 1,
                                                                 statement=2 if kind in ("silent", "short") else 1))
    out = tmp_path / "out"
    argv = ["--data-dir", str(synthetic_corpus), "--out-dir", str(out), "--jobs", "1"]
    with caplog.at_level(logging.INFO, logger="ser"):
        assert dp.main(argv) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert len(meta["skipped"]) == 4
    assert sum(meta["counts"].values()) == 48
    assert "skipped 4" in caplog.text
    caplog.clear()
    mtime = (out / "X_train.npy").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="ser"):
        assert dp.main(argv) == 0
    assert "reusing" in caplog.text and (out / "X_train.npy").stat().st_mtime_ns == mtime


# ------------------------------------------------------------------------------ end to end
def test_end_to_end_on_the_real_mini_subset(prepared_mini):
    out = prepared_mini
    meta = json.loads((out / "meta.json").read_text())
    arrays = {f"{k}_{s}": np.load(out / f"{k}_{s}.npy") for k in "Xy" for s in dp.SPLITS}
    with open(out / "manifest.csv") as f:
        manifest = list(csv.DictReader(f))
    n_features = len(meta["feature_names"])
    assert meta["labels"] == list(dp.LABELS)
    assert sum(len(arrays[f"y_{s}"]) for s in dp.SPLITS) == len(manifest) == 122
    assert meta["skipped"] == []
    for split in dp.SPLITS:
        X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        rows = [row for row in manifest if row["split"] == split]
        assert X.shape == (len(rows), n_features) and X.dtype == np.float32 and np.isfinite(X).all()
        assert [dp.LABELS.index(row["emotion"]) for row in rows] == y.tolist()
        assert {row["gender"] for row in rows} == {"male", "female"}
        assert meta["counts"][split] == len(rows)
    actors = {s: {int(row["actor"]) for row in manifest if row["split"] == s} for s in dp.SPLITS}
    assert not (actors["train"] & actors["val"] or actors["train"] & actors["test"] or actors["val"] & actors["test"])
    assert {s: sorted(a) for s, a in actors.items()} == meta["split"]["actors"]
    assert set(np.concatenate([arrays[f"y_{s}"] for s in dp.SPLITS])) == set(range(8))
    stereo = {"03-01-02-01-01-02-01.wav", "03-01-08-01-02-02-01.wav"}
    assert stereo <= {Path(row["path"]).name for row in manifest}
    assert list(manifest[0]) == list(dp.MANIFEST_COLUMNS)


def test_main_with_download_fetches_the_corpus_when_no_wavs_are_found(synthetic_corpus, tmp_path, serve):
    payload = corpus_zip({str(p.relative_to(synthetic_corpus)): p.read_bytes()
                          for p in sorted(synthetic_corpus.rglob("*.wav"))})
    url, _ = serve(payload)
    raw, out = tmp_path / "fresh" / "raw", tmp_path / "fresh" / "processed"
    argv = ["--data-dir", str(raw), "--out-dir", str(out), "--jobs", "1", "--download", "--corpus-url", url,
            "--corpus-md5", hashlib.md5(payload).hexdigest()]
    assert dp.main(argv) == 0
    assert sum(json.loads((out / "meta.json").read_text())["counts"].values()) == 48


def test_random_split_with_too_few_files_per_emotion_is_a_clear_error():
    with pytest.raises(dp.UserError, match="cannot split 8 files at random"):
        dp.split_random(recordings(1), 0.15, 0.15, np.random.default_rng(0))
