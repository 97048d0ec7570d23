"""Downloading the corpus: resumable HTTP with a progress bar, md5 check, safe zip extraction."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

from ser.atomic import staged_file
from ser.errors import UserError

log = logging.getLogger(__name__)


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_url(url: str, target: Path, timeout: float = 30.0) -> None:
    """Download url to target with a progress bar, resuming a partial target.part if there is one."""
    from tqdm import tqdm

    part = target.with_name(target.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    request = Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        response = urlopen(request, timeout=timeout)
    except HTTPError as err:
        if err.code == 416 and start:  # the partial file is already whole or bigger: start again
            part.unlink()
            return fetch_url(url, target, timeout)
        raise UserError(f"download of {url} failed: HTTP {err.code} {err.reason}") from None
    except (URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise UserError(f"cannot download {url} ({reason}); without network, put the RAVDESS WAVs "
                        f"under {target.parent}/Actor_XX/ yourself (see README)") from None
    with response:
        resumed = start > 0 and response.status == 206
        start = start if resumed else 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length else None
        with open(part, "ab" if resumed else "wb") as f, \
                tqdm(total=total, initial=start, unit="B", unit_scale=True, desc=target.name, disable=None) as bar:
            while chunk := response.read(1 << 20):
                f.write(chunk)
                bar.update(len(chunk))
    if total is not None and part.stat().st_size != total:
        raise UserError(f"download of {url} stopped early ({part.stat().st_size} of {total} bytes); "
                        f"run again to resume")
    os.replace(part, target)


def safe_extract(archive: Path, target_dir: Path) -> int:
    """Extract a zip into target_dir, refusing members that would land outside it; returns files added.

    Files go to a temporary folder first and are moved in one by one, so an interrupted extraction
    never leaves a half-written WAV; files already present are kept.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                check_member(member, archive, target_dir)
            staging = Path(tempfile.mkdtemp(dir=target_dir, prefix=".extract-"))
            try:
                zf.extractall(staging)
                added = 0
                for source in sorted(p for p in staging.rglob("*") if p.is_file()):
                    destination = target_dir / source.relative_to(staging)
                    if not destination.exists():
                        destination.parent.mkdir(parents=True, exist_ok=True)
                        move_into(source, destination)
                        added += 1
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except zipfile.BadZipFile:
        raise UserError(f"{archive} is not a valid zip archive; delete it and run again") from None
    except OSError as err:  # e.g. a member whose folder is a file in the archive or on disk
        raise UserError(f"cannot extract {archive} into {target_dir} ({err.strerror}: {err.filename}); "
                        f"extract it yourself (see README)") from None
    return added


def move_into(source: Path, destination: Path) -> None:
    """Rename source to destination; across file systems (a linked Actor folder elsewhere), copy it to a
    temporary beside destination first, so that destination is never half-written."""
    try:
        os.replace(source, destination)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        os.replace(staged_file(destination.parent, destination.name, lambda path: shutil.copyfile(source, path)),
                   destination)


def check_member(member: zipfile.ZipInfo, archive: Path, target_dir: Path) -> None:
    """UserError for a zip member that would land outside target_dir (absolute, or climbing with ..)
    or is a symbolic link. Judged on the name alone: folders inside target_dir may be links to
    elsewhere (the README allows a corpus linked in Actor folder by Actor folder)."""
    name = member.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if not path.parts or path.is_absolute() or ".." in path.parts or ":" in path.parts[0]:
        raise UserError(f"{archive}: member {name!r} would be written outside {target_dir}; refusing to "
                        f"extract this archive")
    if stat.S_ISLNK(member.external_attr >> 16):
        raise UserError(f"{archive}: member {name!r} is a symbolic link; refusing to extract this archive")


def download_corpus(data_dir: Path, url: str, md5: str | None) -> int:
    """Fetch the corpus zip into data_dir, check its md5, extract it safely, delete the zip."""
    data_dir.mkdir(parents=True, exist_ok=True)
    archive = data_dir / (Path(urlparse(url).path).name or "corpus.zip")
    if not archive.exists():
        fetch_url(url, archive)
    digest = file_md5(archive)
    if md5 and digest != md5:
        archive.unlink()
        raise UserError(f"{archive.name}: md5 {digest} differs from the expected {md5}; the download "
                        f"was deleted, run again (or check --corpus-url)")
    added = safe_extract(archive, data_dir)
    archive.unlink()
    log.info("downloaded %s and extracted %d files into %s", archive.name, added, data_dir)
    return added

