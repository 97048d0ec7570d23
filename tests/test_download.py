"""ser.download against a corpus server on 127.0.0.1: checksum, resume, zip-slip, no network."""

import hashlib
import stat
import zipfile

import pytest

from conftest import corpus_zip, ravdess_name, wav_bytes
from ser import corpus, download
from ser.errors import UserError


def test_download_verifies_extracts_and_finds_the_files(tmp_path, serve):
    payload = corpus_zip({f"Actor_01/{ravdess_name(5, 1)}": wav_bytes(),
                          f"Actor_02/{ravdess_name(4, 2)}": wav_bytes()})
    url, _ = serve(payload)
    added = download.download_corpus(tmp_path / "raw", url, hashlib.md5(payload).hexdigest())
    assert added == 2
    found, _ = corpus.find_recordings(tmp_path / "raw", "speech")
    assert sorted(r.actor for r in found) == [1, 2]
    assert not list((tmp_path / "raw").glob("*.zip*"))  # archive removed after extraction


def test_download_resumes_a_partial_file(tmp_path, serve):
    payload = corpus_zip({f"Actor_01/{ravdess_name(5, 1)}": wav_bytes()})
    url, handler = serve(payload)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "Audio_Speech_Actors_01-24.zip.part").write_bytes(payload[:1000])
    download.download_corpus(raw, url, hashlib.md5(payload).hexdigest())
    assert handler.ranges == [1000]
    assert len(corpus.find_recordings(raw, "speech")[0]) == 1


def test_download_with_a_wrong_checksum_is_rejected_and_deleted(tmp_path, serve):
    url, _ = serve(corpus_zip({f"Actor_01/{ravdess_name(5, 1)}": wav_bytes()}))
    with pytest.raises(UserError, match="md5"):
        download.download_corpus(tmp_path, url, "0" * 32)
    assert not list(tmp_path.iterdir())


def test_zip_slip_member_is_rejected_before_anything_is_written(tmp_path, serve):
    payload = corpus_zip({f"Actor_01/{ravdess_name(5, 1)}": wav_bytes(), "../../evil.wav": b"x"})
    url, _ = serve(payload)
    with pytest.raises(UserError, match="outside"):
        download.download_corpus(tmp_path / "raw", url, hashlib.md5(payload).hexdigest())
    assert not (tmp_path / "evil.wav").exists() and not (tmp_path.parent / "evil.wav").exists()
    assert not list((tmp_path / "raw").rglob("*.wav"))


def test_download_without_network_says_where_to_put_the_files(tmp_path):
    with pytest.raises(UserError, match=r"cannot download.*Actor_XX"):
        download.download_corpus(tmp_path, "http://127.0.0.1:9/Audio_Speech_Actors_01-24.zip", None)


def symlink_member(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def test_a_symbolic_link_member_is_refused_with_one_line(tmp_path):
    archive = tmp_path / "corpus.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(symlink_member("Actor_01", "/etc"), "/etc")
        zf.writestr(f"Actor_01/{ravdess_name(5, 1)}", wav_bytes())  # a file under the link
    (tmp_path / "raw").mkdir()
    with pytest.raises(UserError, match="member 'Actor_01' is a symbolic link; refusing to extract"):
        download.safe_extract(archive, tmp_path / "raw")
    assert not list((tmp_path / "raw").rglob("*.wav"))


def test_extraction_follows_an_actor_folder_linked_in_from_elsewhere(tmp_path, serve):
    elsewhere = tmp_path / "big_disk" / "Actor_01"
    elsewhere.mkdir(parents=True)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "Actor_01").symlink_to(elsewhere)  # the README allows linked Actor folders
    payload = corpus_zip({f"Actor_01/{ravdess_name(5, 1)}": wav_bytes(), f"Actor_02/{ravdess_name(4, 2)}": wav_bytes()})
    url, _ = serve(payload)
    assert download.download_corpus(raw, url, hashlib.md5(payload).hexdigest()) == 2
    assert (elsewhere / ravdess_name(5, 1)).is_file()
    assert sorted(r.actor for r in corpus.find_recordings(raw, "speech")[0]) == [1, 2]
