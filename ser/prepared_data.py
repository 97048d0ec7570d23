"""The prepared-data folder that data_preparation.py writes and model_training.py reads.

    X_{train,val,test}.npy   float32 (n_files, n_features)
    y_{train,val,test}.npy   int64 (n_files,), index into meta.json's labels
    manifest.csv             one row per file (MANIFEST_COLUMNS), in array order within each split
    meta.json                format_version, labels (any names, 2 or more), feature config and names, split, counts,
                             skipped files, library versions, fingerprint of the inputs
    complete.json            ser.atomic's record, written last; load_prepared checks every file against it

The writer and the reader are both here, with FORMAT_VERSION: the reader refuses another version.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import platform
from pathlib import Path

import numpy as np

from ser.atomic import bytes_saver, verify_folder, write_folder
from ser.corpus import LABELS, SPLITS, LabelledFile, Split, speaker_keys
from ser.errors import UserError
from ser.features import FeatureConfig

FORMAT_VERSION = 2  # bump when the layout of meta.json / the arrays / the manifest changes (2: any corpus)
ARRAY_FILES = tuple(f"{k}_{s}.npy" for k in "Xy" for s in SPLITS)
PREPARED_FILES = ("meta.json", "manifest.csv", *ARRAY_FILES)  # what a reader needs, all vouched for by complete.json


@dataclasses.dataclass(frozen=True)
class ManifestRow:
    """One prepared file: a row of manifest.csv, typed."""

    path: str  # absolute
    split: str  # train, val or test
    corpus: str  # ravdess, or a manifest's corpus column
    speaker: str  # RAVDESS: the actor number
    gender: str  # male, female or "" (unknown)
    emotion: str  # one of meta.json's labels
    intensity: str  # RAVDESS: normal or strong; "" elsewhere
    statement: int | None  # RAVDESS only
    repetition: int | None

    @classmethod
    def of(cls, file: LabelledFile, split: str) -> "ManifestRow":
        return cls(str(Path(file.path).resolve()), split, file.corpus, file.speaker, file.gender, file.emotion,
                   file.intensity, file.statement, file.repetition)

    @classmethod
    def from_csv(cls, row: dict[str, str]) -> "ManifestRow":
        """From csv.DictReader's strings; ValueError or KeyError if a column is missing or not a number."""
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        return cls(**{name: (int(row[name]) if row[name] else None) if kind.startswith("int") else row[name]
                      for name, kind in types.items()})


MANIFEST_COLUMNS = tuple(f.name for f in dataclasses.fields(ManifestRow))


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Files as one array: features, labels and manifest rows in the same order."""

    X: np.ndarray  # (n_files, n_features) float32
    y: np.ndarray  # (n_files,) int64, index into labels
    rows: list[ManifestRow]
    labels: tuple[str, ...] = LABELS

    @property
    def speakers(self) -> np.ndarray:
        """(n_files,) who speaks each file (ser.corpus.speaker_keys: corpus-qualified when pooled)."""
        return speaker_keys([row.corpus for row in self.rows], [row.speaker for row in self.rows])

    @property
    def genders(self) -> np.ndarray:
        """(n_files,) male, female or "" per file."""
        return np.array([row.gender for row in self.rows], dtype=object)

    @property
    def corpora(self) -> np.ndarray:
        """(n_files,) the corpus of each file."""
        return np.array([row.corpus for row in self.rows], dtype=object)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """The arrays, manifest and metadata of one data_preparation.py run."""

    X: dict[str, np.ndarray]  # split -> (n, n_features) float32
    y: dict[str, np.ndarray]  # split -> (n,) int64
    rows: dict[str, list[ManifestRow]]  # split -> manifest rows in array order
    meta: dict
    feature_config: FeatureConfig

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.meta["labels"])

    def dataset(self) -> Dataset:
        """All three splits in one array, in train, val, test order."""
        return Dataset(np.concatenate([self.X[s] for s in SPLITS]), np.concatenate([self.y[s] for s in SPLITS]),
                       [row for s in SPLITS for row in self.rows[s]], self.labels)

    def split(self) -> Split:
        """The prepared split as row indices into dataset()."""
        sizes = np.cumsum([0] + [len(self.y[s]) for s in SPLITS])
        return Split(*(np.arange(sizes[i], sizes[i + 1]) for i in range(3)))


def write_prepared(out_dir: Path, arrays: dict[str, np.ndarray], manifest: list[ManifestRow], meta: dict) -> None:
    """The arrays, manifest.csv and meta.json, replacing the previous ones as a whole (ser.atomic.write_folder):
    an interrupted run leaves either the previous output or a folder that readers refuse."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in dataclasses.asdict(row).items()} for row in manifest)
    payloads = {f"{name}.npy": lambda f, a=array: np.save(f, a) for name, array in arrays.items()}
    payloads["manifest.csv"] = lambda f: f.write(text.getvalue().encode())
    payloads["meta.json"] = lambda f: f.write(json.dumps({"format_version": FORMAT_VERSION, **meta}, indent=2).encode())
    write_folder(out_dir, {name: bytes_saver(write) for name, write in payloads.items()})


def _read(data_dir: Path, hint: str) -> tuple[dict, FeatureConfig, dict, dict, list[ManifestRow]]:
    """meta.json, its feature config, the arrays and the manifest rows; UserError if unreadable."""
    try:
        meta = json.loads((data_dir / "meta.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise UserError(f"{data_dir}/meta.json is format version {meta.get('format_version')}, this code "
                            f"reads version {FORMAT_VERSION}; {hint}")
        config = FeatureConfig.from_dict(meta["feature_config"], str(data_dir / "meta.json"))
        X = {s: np.load(data_dir / f"X_{s}.npy") for s in SPLITS}
        y = {s: np.load(data_dir / f"y_{s}.npy") for s in SPLITS}
        with open(data_dir / "manifest.csv", newline="") as f:
            reader = csv.DictReader(f)
            if missing := [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]:
                raise UserError(f"{data_dir}/manifest.csv lacks the column(s) {', '.join(missing)}; {hint}")
            manifest = [ManifestRow.from_csv(row) for row in reader]
    except (ValueError, KeyError, TypeError, OSError) as err:
        raise UserError(f"{data_dir} holds unreadable or outdated files ({err}); {hint}") from None
    return meta, config, X, y, manifest


def load_prepared(data_dir: Path) -> Prepared:
    """Read what data_preparation.py wrote; UserError naming the first thing that is wrong."""
    data_dir = Path(data_dir)
    hint = f"run data_preparation.py --out-dir {data_dir}"
    if not data_dir.is_dir():
        raise UserError(f"prepared data folder {data_dir} does not exist; {hint}")
    missing = [name for name in PREPARED_FILES if not (data_dir / name).exists()]
    if missing:
        raise UserError(f"{data_dir} lacks {', '.join(missing)}; {hint}")
    verify_folder(data_dir, PREPARED_FILES, hint)
    meta, config, X, y, manifest = _read(data_dir, hint)
    labels = meta.get("labels")
    if not (isinstance(labels, list) and len(labels) >= 2 and len(set(labels)) == len(labels)
            and all(isinstance(name, str) and name for name in labels)):
        raise UserError(f"{data_dir}/meta.json has labels {labels}, expected 2 or more distinct names; {hint}")
    n_features = len(meta["feature_names"])
    rows = {s: [r for r in manifest if r.split == s] for s in SPLITS}
    for s in SPLITS:
        if X[s].ndim != 2 or X[s].shape[1] != n_features:
            raise UserError(f"{data_dir}/X_{s}.npy has shape {X[s].shape}, but meta.json's feature "
                            f"config gives {n_features} features; {hint}")
        if not len(X[s]) == len(y[s]) == len(rows[s]):
            raise UserError(f"{data_dir}: X_{s} has {len(X[s])} rows, y_{s} {len(y[s])} and "
                            f"manifest.csv {len(rows[s])} for {s}; {hint}")
        if len(y[s]) == 0:
            raise UserError(f"{data_dir}: the {s} split is empty; {hint} with more speakers")
        check_values(X[s], y[s], rows[s], data_dir, s, len(labels), hint)
    return Prepared(X, y, rows, meta, config)


def check_values(X: np.ndarray, y: np.ndarray, rows: list[ManifestRow], data_dir: Path, split: str, n_labels: int,
                 hint: str) -> None:
    """UserError naming the first row of X_split (n, n_features) with a NaN or infinite feature, or of
    y_split (n,) with a label outside 0..n_labels-1: a bad value is refused here, never trained on."""
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad.size:
        raise UserError(f"{data_dir}/X_{split}.npy row {bad[0]} ({rows[bad[0]].path}) holds NaN or infinite "
                        f"features ({bad.size} rows in all); {hint}")
    bad = np.flatnonzero((y < 0) | (y >= n_labels))
    if bad.size:
        raise UserError(f"{data_dir}/y_{split}.npy row {bad[0]} ({rows[bad[0]].path}) has label {y[bad[0]]}, "
                        f"outside 0-{n_labels - 1}; {hint}")


def library_versions() -> dict[str, str]:
    """The versions of what computes the features, for meta.json."""
    import librosa
    import sklearn
    import soundfile

    return {"python": platform.python_version(), "numpy": np.__version__, "librosa": librosa.__version__,
            "soundfile": soundfile.__version__, "scikit-learn": sklearn.__version__}


def inputs_fingerprint(paths: list[Path], settings: dict) -> str:
    """Hash of the input files (name, size, mtime) and every setting: equal means same output."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def is_up_to_date(out_dir: Path, fingerprint: str) -> bool:
    """Whether out_dir holds a complete prepared folder made from inputs with this fingerprint."""
    try:
        verify_folder(out_dir, PREPARED_FILES, "")
        meta = json.loads((out_dir / "meta.json").read_text())
    except (UserError, ValueError):
        return False
    return meta.get("fingerprint") == fingerprint
