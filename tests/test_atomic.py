"""ser.atomic: a failed write leaves the old file and no temporary behind; a folder changes as a whole."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, as_unprivileged
from ser import atomic
from ser.errors import UserError


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "a.json"
    atomic.write_json(target, {"old": True})

    def failing(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic.atomic_write(target, failing)
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def saver(data: bytes):
    return atomic.bytes_saver(lambda f: f.write(data))


def test_write_folder_replaces_the_files_as_one_and_vouches_for_them(tmp_path):
    folder = tmp_path / "out"
    atomic.write_folder(folder, {"a.npy": saver(b"a1"), "b.json": saver(b"b1")})
    (folder / "notes.txt").write_text("mine")  # other files are left alone
    atomic.write_folder(folder, {"a.npy": saver(b"a2"), "b.json": saver(b"b2")})
    atomic.verify_folder(folder, ("a.npy", "b.json"), "remake it")
    assert files(folder) | {atomic.RECORD: b""} == {"a.npy": b"a2", "b.json": b"b2", "notes.txt": b"mine",
                                                    atomic.RECORD: b""}
    with pytest.raises(UserError, match="does not list c.npy; remake it"):
        atomic.verify_folder(folder, ("c.npy",), "remake it")


def test_a_writer_that_fails_while_staging_leaves_the_previous_folder_whole(tmp_path):
    folder = tmp_path / "out"
    atomic.write_folder(folder, {"a.npy": saver(b"a1"), "b.json": saver(b"b1")})
    before = files(folder)

    def failing(path):
        path.write_bytes(b"half")
        raise KeyboardInterrupt  # Ctrl-C while the outputs are being written

    with pytest.raises(KeyboardInterrupt):
        atomic.write_folder(folder, {"a.npy": saver(b"a2"), "b.json": failing})
    assert files(folder) == before
    atomic.verify_folder(folder, ("a.npy", "b.json"), "")


@pytest.mark.parametrize("renames", [1, 2])
def test_a_writer_killed_between_two_renames_leaves_a_folder_readers_refuse(tmp_path, renames):
    folder = tmp_path / "out"
    atomic.write_folder(folder, {"a.npy": saver(b"a1"), "b.json": saver(b"b1")})
    code = (f"from ser import atomic; atomic.write_folder(__import__('pathlib').Path({str(folder)!r}), "
            f"{{'a.npy': atomic.bytes_saver(lambda f: f.write(b'a2')), "
            f"'b.json': atomic.bytes_saver(lambda f: f.write(b'b2'))}})")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          env={**os.environ, atomic.KILL_AFTER_RENAMES: str(renames)})
    assert done.returncode == -signal.SIGKILL
    assert (folder / "a.npy").read_bytes() == b"a2"  # a new file beside an old one, or all new but unvouched
    with pytest.raises(UserError, match="incomplete: it has no readable complete.json.*; remake it"):
        atomic.verify_folder(folder, ("a.npy", "b.json"), "remake it")
    assert atomic.remove_stale_temporaries(folder) == 2 - renames
    assert sorted(files(folder)) == ["a.npy", "b.json"]


def test_a_file_changed_after_the_record_is_named(tmp_path):
    folder = tmp_path / "out"
    atomic.write_folder(folder, {"a.npy": saver(b"a1"), "b.json": saver(b"b1")})
    (folder / "b.json").write_bytes(b"b9")  # same size, other content: an older run's, say
    with pytest.raises(UserError, match="b.json is not the file complete.json vouches for"):
        atomic.verify_folder(folder, ("a.npy",), "")


def test_ctrl_c_during_the_swap_waits_for_its_end(tmp_path):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with atomic.deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
            done.append(True)
    assert done == [True]


def test_output_folders_that_cannot_be_written_are_named_before_any_work(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(UserError, match=f"--out-dir {a_file} is a file, not a folder; choose another --out-dir"):
        atomic.check_writable_folder(a_file, "--out-dir")
    with pytest.raises(UserError, match="cannot write in --out-dir /dev/null/results"):
        atomic.check_writable_folder(Path("/dev/null/results"), "--out-dir")
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    read_only.chmod(0o555)
    code, err = as_unprivileged(f"from ser import atomic; atomic.check_writable_folder("
                                f"__import__('pathlib').Path({str(read_only)!r}), '--out-dir')")
    assert code == 1 and "cannot write in --out-dir" in err and "Permission denied" in err
