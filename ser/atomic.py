"""Writing files so that a reader never sees half of one, and folders so that it never sees a mix.

A file (atomic_write): written to a temporary next to it, flushed to disk, renamed over it.

A folder of outputs (write_folder): every file is staged as a temporary first; then the folder's
record RECORD (the size and sha256 of each file) is removed, the files are renamed into place and
a new record is written last. Readers call verify_folder, so a folder whose writer was killed
mid-swap (no record) or whose files were mixed afterwards (a checksum differs) is refused with a
line saying how to remake it, never used. Temporaries left by a killed writer start with
TEMPORARY_PREFIX; remove_stale_temporaries clears them on the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Callable

from ser.errors import UserError

TEMPORARY_PREFIX = ".partial-"
RECORD = "complete.json"  # written last by write_folder: the files of the folder and their checksums
KILL_AFTER_RENAMES = "SER_TEST_KILL_AFTER_RENAMES"  # tests only: SIGKILL the writer after this many renames


def _sync(path: Path) -> None:
    """Flush a file, or a folder's entries (renames), to disk; Windows cannot open a folder (nor needs to)."""
    folder = Path(path).is_dir()
    if folder and os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY if folder else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def staged_file(directory: Path, name: str, save: Callable[[Path], None]) -> Path:
    """A new temporary file in directory, written by save(path), flushed to disk, with the usual
    permissions (mkstemp makes 0600); it keeps name's suffix (Keras insists on .keras)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX, suffix=f"-{name}")
    os.close(fd)
    try:
        save(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        _sync(Path(tmp))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def bytes_saver(write: Callable) -> Callable[[Path], None]:
    """save(path) for staged_file from write(file_object)."""
    def save(path: Path) -> None:
        with open(path, "wb") as f:
            write(f)
    return save


def atomic_write(path: Path, write) -> None:
    """Call write(file_object) on a temporary file next to path, then rename it over path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged_file(path.parent, path.name, bytes_saver(write)), path)


def write_json(path: Path, data) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=2).encode()))


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def file_digest(path: Path) -> dict:
    """{"bytes", "sha256"} of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return {"bytes": Path(path).stat().st_size, "sha256": digest.hexdigest()}


@contextlib.contextmanager
def deferred_interrupt():
    """Ctrl-C inside the block takes effect at its end, so that a folder is never left half-swapped by it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def write_folder(directory: Path, files: dict[str, Callable[[Path], None]]) -> None:
    """Replace the named files of directory as one (name -> save(path)); see the module docstring.
    Other files in the folder are left alone."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    try:
        for name, save in files.items():
            staged[name] = staged_file(directory, name, save)
        record = {"files": {name: file_digest(tmp) for name, tmp in staged.items()}}
        with deferred_interrupt():
            (directory / RECORD).unlink(missing_ok=True)  # from here until the new record, readers refuse the folder
            _sync(directory)
            kill_after = int(os.environ.get(KILL_AFTER_RENAMES, 0))
            for count, (name, tmp) in enumerate(staged.items(), 1):
                os.replace(tmp, directory / name)
                if count == kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)
            _sync(directory)
            write_json(directory / RECORD, record)
            _sync(directory)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)


def listed_files(directory: Path) -> dict[str, str]:
    """The files (name -> digest) that directory's RECORD vouches for; empty if it has no readable record."""
    try:
        listed = json.loads((Path(directory) / RECORD).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return listed if isinstance(listed, dict) else {}


def verify_folder(directory: Path, required: tuple[str, ...], hint: str) -> None:
    """UserError unless directory's RECORD lists the required files and every file it lists is as written."""
    directory = Path(directory)
    if not (listed := listed_files(directory)):
        raise UserError(f"{directory} is incomplete: it has no readable {RECORD} (its writer was interrupted, "
                        f"or an older version wrote it); {hint}") from None
    if unlisted := [name for name in required if name not in listed]:
        raise UserError(f"{directory}/{RECORD} does not list {', '.join(unlisted)}; {hint}")
    for name in listed:  # each file hashed once (model.keras is megabytes)
        path = directory / name
        if not path.is_file() or file_digest(path) != listed[name]:
            raise UserError(f"{path} is not the file {RECORD} vouches for (missing, changed, or from another "
                            f"run); {hint}")


def remove_stale_temporaries(directory: Path) -> int:
    """Delete the temporaries an interrupted writer left in directory; how many there were."""
    stale = list(Path(directory).glob(f"{TEMPORARY_PREFIX}*")) if Path(directory).is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def check_writable_folder(directory: Path, flag: str) -> None:
    """UserError unless directory is (or can be made) a folder this process can write in: checked
    before the long work, not after it."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{flag} {directory} is a file, not a folder; choose another {flag}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UserError(f"cannot write in {flag} {directory} ({err.strerror or err}); choose another {flag}") from None
