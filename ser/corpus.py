"""Corpora: what a RAVDESS file name says, where the files are, the labels of any corpus, and
speaker-independent splits.

RAVDESS file names are modality-channel-emotion-intensity-statement-repetition-actor.wav, e.g.
03-01-06-01-02-01-12.wav (audio-only, speech, fearful, normal, statement 2, repetition 1, actor 12);
odd actors are male, even ones female. Files of other corpora come from a manifest (ser.manifest)
as the same LabelledFile: a path, an emotion name, a speaker and, where known, the speaker's sex.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from pathlib import Path
from typing import Iterable

import numpy as np

from ser.audio import CONVERT_FIRST
from ser.errors import UserError, require

LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")  # emotion 01-08
SPLITS = ("train", "val", "test")
CHANNELS = {"speech": {1}, "song": {2}, "both": {1, 2}}  # vocal channel 01 speech, 02 song
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif")  # what predict.py reads
RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.wav$", re.IGNORECASE)

GENDERS = ("male", "female")  # "" where a manifest does not say

log = logging.getLogger(__name__)


def gender_of(actor: int) -> str:
    return "male" if actor % 2 else "female"


@dataclasses.dataclass(frozen=True)
class LabelledFile:
    """One recording of any corpus with its label: what preparation needs to know about a file."""

    path: Path
    emotion: str  # a label name (normalise_label)
    speaker: str  # unique within its corpus
    gender: str = ""  # male, female or "" (unknown)
    corpus: str = "ravdess"
    intensity: str = ""  # RAVDESS: normal or strong; "" elsewhere
    statement: int | None = None  # RAVDESS only
    repetition: int | None = None


@dataclasses.dataclass(frozen=True)
class Recording:
    """What a RAVDESS file name says about the recording."""

    path: Path
    modality: int
    channel: int  # 1 speech, 2 song
    emotion: int  # 0..7, index into LABELS
    intensity: str  # normal or strong
    statement: int
    repetition: int
    actor: int

    @property
    def gender(self) -> str:
        return gender_of(self.actor)

    def labelled(self) -> LabelledFile:
        """The recording as a file of the ravdess corpus, its speaker the actor number."""
        return LabelledFile(self.path, LABELS[self.emotion], str(self.actor), self.gender, "ravdess",
                            self.intensity, self.statement, self.repetition)


def parse_name(path: Path) -> Recording:
    """Recording for a name like 03-01-06-01-02-01-12.wav; UserError if it breaks the convention."""
    match = RAVDESS_NAME.match(Path(path).name)
    if not match:
        raise UserError(f"{path}: not a RAVDESS name (expected 7 two-digit fields like 03-01-06-01-02-01-12.wav)")
    modality, channel, emotion, intensity, statement, repetition, actor = map(int, match.groups())
    limits = {"modality": (modality, 1, 3), "vocal channel": (channel, 1, 2), "emotion": (emotion, 1, 8),
              "intensity": (intensity, 1, 2), "statement": (statement, 1, 2),
              "repetition": (repetition, 1, 2), "actor": (actor, 1, 99)}
    for field, (value, low, high) in limits.items():
        if not low <= value <= high:
            raise UserError(f"{path}: {field} {value:02d} is outside {low:02d}-{high:02d} in the RAVDESS convention")
    return Recording(Path(path), modality, channel, emotion - 1, ("normal", "strong")[intensity - 1],
                     statement, repetition, actor)


def true_emotion(path: Path) -> str | None:
    """The emotion a RAVDESS file name states, or None for other names."""
    try:
        return LABELS[parse_name(path).emotion]
    except UserError:
        return None


def normalise_label(name: str) -> str:
    """A label as compared and saved: `Angry`, ` angry ` and `ANGRY` are one label, `angry`."""
    return " ".join(str(name).split()).lower()


def label_order(names: Iterable[str]) -> tuple[str, ...]:
    """The distinct label names, in a stable order: the RAVDESS emotions found, in LABELS order, then the
    others alphabetically. RAVDESS alone gives LABELS."""
    found = {normalise_label(n) for n in names}
    return tuple([n for n in LABELS if n in found] + sorted(found - set(LABELS)))


def natural_key(text) -> tuple:
    """Sort key putting speaker 2 before speaker 10 (and RAVDESS actors in number order)."""
    parts = re.split(r"(\d+)", str(text))
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts if part)


# ---------------------------------------------------------------------------------- finding files
def files_under(folder: Path, suffixes: tuple[str, ...] = (".wav",), unreadable: list | None = None) -> list[Path]:
    """Files under folder, at any depth, whose suffix (any case) is one of suffixes, sorted.

    Symlinked folders are followed (a corpus is often linked in, Actor folder by Actor folder),
    each real folder once, so a link back up the tree cannot loop. Path.rglob skips them before
    Python 3.13. Folders that cannot be read are appended to unreadable as {"path", "reason"}.
    """
    def note(err: OSError) -> None:
        if unreadable is not None:
            unreadable.append({"path": err.filename, "reason": f"folder cannot be read ({err.strerror})"})

    found, seen = [], set()
    for root, folders, names in os.walk(folder, followlinks=True, onerror=note):
        real = os.path.realpath(root)
        if real in seen:
            folders.clear()
            continue
        seen.add(real)
        found += [Path(root) / name for name in names if Path(name).suffix.lower() in suffixes]
    return sorted(path for path in found if path.is_file())


def has_recordings(data_dir: Path) -> bool:
    """Whether any RAVDESS-named WAV lies under data_dir."""
    return Path(data_dir).is_dir() and any(RAVDESS_NAME.match(p.name) for p in files_under(data_dir))


def find_recordings(data_dir: Path, channel: str) -> tuple[list[Recording], list[dict]]:
    """RAVDESS recordings of a channel (see CHANNELS) under data_dir, each name once, by actor then name.

    Returns (recordings, skipped) where skipped lists {"path", "reason"} for badly named WAVs.
    The Kaggle copy of the corpus holds every Actor folder twice: the same name is kept once.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} does not exist (put the RAVDESS WAVs there as "
                        f"Actor_XX/03-01-...wav, or run with --download; see README)")
    by_name: dict[str, Recording] = {}
    skipped = []
    paths = files_under(data_dir, unreadable=skipped)
    for folder in skipped:
        log.warning("skipped %s: %s (its files are left out; check its permissions)", folder["path"], folder["reason"])
    for path in paths:
        try:
            recording = parse_name(path)
        except UserError as err:
            log.warning("skipped %s", err)
            skipped.append({"path": str(path), "reason": "not a RAVDESS name"})
            continue
        if recording.channel in CHANNELS[channel]:
            by_name.setdefault(path.name.lower(), recording)
    recordings = sorted(by_name.values(), key=lambda r: (r.actor, r.path.name))
    return recordings, skipped


def find_audio(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Audio files named or inside the named folders (recursively), and errors for missing paths. A folder's files
    of a format that must be converted first (audio.CONVERT_FIRST) are listed too: reading them fails with a line
    that says how to convert them, rather than their being passed over without a word."""
    files, errors = [], []
    for path in paths:
        if path.is_dir():
            unreadable = []
            files += files_under(path, AUDIO_EXTENSIONS + CONVERT_FIRST, unreadable)
            errors += [f"{folder['path']}: {folder['reason']}" for folder in unreadable]
        elif path.is_file():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return list(dict.fromkeys(files)), errors


# ---------------------------------------------------------------------------------- splits
def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """ConfigError unless the fractions leave files to train on."""
    require(0 < val_fraction and 0 <= test_fraction and val_fraction + test_fraction < 1,
            f"val_fraction {val_fraction} and test_fraction {test_fraction} must be above 0 and add up to less "
            f"than 1, leaving files to train on (--val-fraction, --test-fraction)")


@dataclasses.dataclass
class Split:
    """Row indices into one array of files for one train/val/test division."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def speaker_keys(corpora: Iterable[str], speakers: Iterable[str]) -> np.ndarray:
    """(n_files,) who speaks each file: the speaker, prefixed with its corpus (`ravdess:3`) when the files
    come from more than one corpus, where the same speaker name may be two people."""
    corpora, speakers = [str(c) for c in corpora], [str(s) for s in speakers]
    if len(set(corpora)) <= 1:
        return np.array(speakers, dtype=object)
    return np.array([f"{c}:{s}" for c, s in zip(corpora, speakers)], dtype=object)


def sex_groups(speakers: Iterable[str], genders: Iterable[str]) -> list[tuple[str, list[str]]]:
    """(group name, its distinct speakers in natural order) to balance splits over: male then female when
    every speaker's sex is known, else one group of all speakers. speakers, genders: (n_files,)."""
    sex = dict(zip(speakers, genders))
    if set(sex.values()) <= set(GENDERS):
        return [(f"{g} ", sorted((s for s, x in sex.items() if x == g), key=natural_key)) for g in GENDERS]
    return [("", sorted(sex, key=natural_key))]


def split_by_speaker(speakers: Iterable[str], genders: Iterable[str], val_fraction: float, test_fraction: float,
                     rng: np.random.Generator) -> dict[str, str]:
    """Speaker -> train/val/test so that no speaker is in two sets and each set has both sexes (where every
    speaker's sex is known). speakers, genders: (n_files,) or one entry per speaker.

    test_fraction 0 gives train/val only (cross-validation folds pick their test speakers themselves).
    """
    check_fractions(val_fraction, test_fraction)
    assignment = {}
    for sex, group in sex_groups(list(speakers), list(genders)):
        if not group:
            continue
        n_test = max(1, round(len(group) * test_fraction)) if test_fraction > 0 else 0
        n_val = max(1, round(len(group) * val_fraction))
        if len(group) < n_test + n_val + 1:
            raise UserError(f"a speaker-independent split needs at least {n_test + n_val + 1} {sex}speakers, found "
                            f"{len(group)} ({', '.join(group)}); add speakers or use --split random")
        for i, speaker in enumerate(str(s) for s in rng.permutation(group)):
            assignment[speaker] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return assignment


def split_random(emotions: np.ndarray, val_fraction: float, test_fraction: float,
                 rng: np.random.Generator) -> list[str]:
    """train/val/test per file, stratified by emotion (n_files,); speakers leak across sets (for comparison)."""
    from sklearn.model_selection import train_test_split

    check_fractions(val_fraction, test_fraction)
    emotions = np.asarray(emotions)
    index = np.arange(len(emotions))
    try:
        rest, test = train_test_split(index, test_size=test_fraction, stratify=emotions,
                                      random_state=int(rng.integers(2**31)))
        train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction),
                                      stratify=emotions[rest], random_state=int(rng.integers(2**31)))
    except ValueError as err:  # too few files of some emotion to stratify
        raise UserError(f"cannot split {len(emotions)} files at random by emotion ({err}); add files "
                        f"or change --val-fraction/--test-fraction") from None
    splits = np.empty(len(emotions), dtype=object)
    splits[train], splits[val], splits[test] = "train", "val", "test"
    return list(splits)


def _with_validation(speakers: np.ndarray, genders: np.ndarray, test: np.ndarray, val_fraction: float,
                     rng: np.random.Generator) -> Split:
    """The Split whose test rows are `test` (a boolean mask), validation speakers drawn per sex from the rest."""
    role = split_by_speaker(speakers[~test], genders[~test], val_fraction, 0.0, rng)
    val = np.isin(speakers, [s for s, r in role.items() if r == "val"]) & ~test
    return Split(np.flatnonzero(~test & ~val), np.flatnonzero(val), np.flatnonzero(test))


def speaker_folds(speakers: np.ndarray, genders: np.ndarray, folds: int, val_fraction: float,
                  rng: np.random.Generator) -> list[Split]:
    """K splits of files (speakers, genders: (n_files,)): each sex's speakers in natural order cut into K
    consecutive groups, fold k testing the k-th group of each (RAVDESS, K=6: actors 1-4, 5-8, ...), so
    that every fold has both sexes where they are known; validation speakers drawn per sex from the rest."""
    speakers, genders = np.asarray(speakers, dtype=object), np.asarray(genders, dtype=object)
    n_speakers = len(set(speakers))
    if folds < 2 or folds > n_speakers:
        raise UserError(f"--folds {folds} needs 2 to {n_speakers} (the number of speakers)")
    tested = [[] for _ in range(folds)]
    for _, group in sex_groups(speakers, genders):
        for fold, part in zip(tested, np.array_split(np.array(group, dtype=object), folds)):
            fold += list(part)
    return [_with_validation(speakers, genders, np.isin(speakers, fold), val_fraction, rng) for fold in tested]


def corpus_folds(corpora: np.ndarray, speakers: np.ndarray, genders: np.ndarray, val_fraction: float,
                 rng: np.random.Generator) -> list[tuple[str, Split]]:
    """(corpus, Split) per corpus (corpora: (n_files,)), leave-one-corpus-out: each corpus the test set once,
    validation speakers drawn per sex from the other corpora."""
    corpora = np.asarray(corpora, dtype=object)
    names = sorted(set(corpora))
    if len(names) < 2:
        raise UserError(f"--folds corpus needs files of two or more corpora, found only {names}; pool corpora "
                        f"with several --manifest flags (data_preparation.py), or use --folds K")
    return [(name, _with_validation(np.asarray(speakers, dtype=object), np.asarray(genders, dtype=object),
                                    corpora == name, val_fraction, rng)) for name in names]
