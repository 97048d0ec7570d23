"""Your own corpus: a CSV that lists recordings with their labels (EXAMPLE), read into ser.corpus.LabelledFile.

A header, then one row per file: `path` (relative to the CSV's folder, or absolute; / or Windows' \\), `emotion` (any
label name; case and spaces do not matter), `speaker` (any string); optional `gender` (male, female
or empty) and `corpus` (default: the CSV's file name without its suffix). Rows that cannot be used
(an empty label or speaker, a file that does not exist) are skipped with a warning naming the row.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from ser.corpus import GENDERS, LabelledFile, normalise_label
from ser.errors import UserError

EXAMPLE = """\
path,emotion,speaker,gender,corpus
clips/anna_01.wav,happy,anna,female,mine
clips/anna_02.wav,Sad,anna,female,mine
/data/other/b7.flac,angry,bob,male,mine
clips/carl_01.wav,bored,carl,,mine"""
REQUIRED = ("path", "emotion", "speaker")
GENDER_NAMES = {"male": "male", "m": "male", "female": "female", "f": "female", "": ""}

log = logging.getLogger(__name__)


def read_rows(path: Path, required: tuple[str, ...] = REQUIRED) -> list[tuple[int, dict[str, str]]]:
    """(line number, row with stripped values and lower-case column names) of a manifest CSV; UserError if
    the file cannot be read as CSV or lacks a required column."""
    path = Path(path)
    hint = f"a manifest is a CSV with a header holding at least the columns {', '.join(required)} (see README)"
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [name.strip().lower() for name in next(reader, [])]
            rows = [(number, row) for number, row in enumerate(reader, 2) if any(cell.strip() for cell in row)]
    except FileNotFoundError:
        raise UserError(f"manifest {path} does not exist; {hint}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UserError(f"manifest {path} cannot be read as CSV ({err}); {hint}") from None
    if missing := [name for name in required if name not in header]:
        raise UserError(f"manifest {path} lacks the column(s) {', '.join(missing)} (its header: "
                        f"{','.join(header) or 'none'}); {hint}")
    for number, row in rows:
        if len(row) != len(header):
            raise UserError(f"manifest {path} line {number} has {len(row)} fields, the header {len(header)}; "
                            f"quote fields that hold commas")
    return [(number, {name: cell.strip() for name, cell in zip(header, row)}) for number, row in rows]


def audio_path(listed: str, folder: Path) -> Path:
    """The file a manifest row's path names: relative to the manifest's folder unless absolute; a path written
    on Windows (clips\\anna_01.wav) is read with / where no file has the backslashes in its name."""
    audio = Path(listed).expanduser()
    audio = audio if audio.is_absolute() else folder / audio
    if "\\" in listed and not audio.exists():
        written_on_windows = audio_path(listed.replace("\\", "/"), folder)
        return written_on_windows if written_on_windows.exists() else audio
    return audio


def read_manifest(path: Path, required: tuple[str, ...] = REQUIRED) -> tuple[list[LabelledFile], list[dict]]:
    """The usable rows of a manifest as LabelledFiles, and skipped {"path", "reason"} (each also a warning).

    UserError for what cannot be skipped: not CSV, a missing column, a gender other than male/female/empty,
    a speaker given two sexes. Without a speaker column (required=("path", "emotion"), as predict.py reads a
    manifest) every file's speaker is "" (unknown)."""
    path = Path(path)
    corpus_name = path.stem
    files, skipped, sexes = [], [], {}
    for number, row in read_rows(path, required):
        where = f"manifest {path} line {number}"
        audio = audio_path(row["path"], path.parent)
        emotion, speaker = normalise_label(row["emotion"]), row.get("speaker", "")
        reason = ("the emotion is empty" if not emotion else "the speaker is empty" if "speaker" in row and not speaker
                  else "the path is empty" if not row["path"] else None if audio.is_file() else
                  f"{audio} does not exist")
        if reason:
            log.warning("skipped %s: %s (fill it in, or remove the row)", where, reason)
            skipped.append({"path": str(audio), "reason": f"line {number}: {reason}"})
            continue
        gender = GENDER_NAMES.get(row.get("gender", "").lower())
        if gender is None:
            raise UserError(f"{where}: gender {row['gender']!r} must be {', '.join(GENDERS)} or empty (unknown)")
        corpus = row.get("corpus") or corpus_name
        previous = sexes.setdefault((corpus, speaker), (gender, number)) if speaker else (gender, number)
        if previous[0] != gender:
            raise UserError(f"{where}: speaker {speaker!r} is {gender or 'of unknown sex'} here but "
                            f"{previous[0] or 'of unknown sex'} on line {previous[1]}; give one sex per speaker")
        files.append(LabelledFile(audio, emotion, speaker, gender, corpus))
    return files, skipped


def unique_files(files: list[LabelledFile]) -> list[LabelledFile]:
    """files with each recording once (the first listing; a warning for each later one)."""
    unique = {}
    for file in files:
        if unique.setdefault(file.path.resolve(), file) is not file:
            log.warning("skipped %s: listed twice (kept the first)", file.path)
    return list(unique.values())
