"""Speaker adaptation: each speaker's features centred on that speaker's own mean (predict.py --adapt-speakers).

The scaler of training centres every file on the training speakers' mean. A speaker recorded elsewhere (another
voice, microphone, room, language) sits away from that mean in every file alike, and the network reads the offset
as emotion. Centring each speaker's files on their own mean takes the offset out, and with it whatever the
speaker's files share: it helps only when a speaker's recordings are many and span their emotions (README,
*Speaker adaptation*), and it uses statistics of the speakers classified, so its figures are a labelled comparison,
never the speaker-independent ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ser.corpus import LabelledFile, parse_name
from ser.errors import UserError

MIN_FILES = 20  # a speaker with fewer recordings keeps the training scaler: the mean of fewer scored below it
#                 (EmoDB's selection speakers, stats from 10 random files of each: 34.8% against 35.9% without)
STANDARDISE = False  # also divide by the speaker's own spread, not only centre on their mean


def speaker_scaler(X: np.ndarray, speakers: np.ndarray, mean: np.ndarray, scale: np.ndarray,
                   min_files: int = MIN_FILES, standardise: bool = STANDARDISE) -> tuple[np.ndarray, np.ndarray, list]:
    """(mean, scale), each (n, n_features), to scale each file of X (n, n_features: a file's own features,
    not its test-time copies) with: its speaker's mean over X (and spread, with standardise; the training
    scale where a feature does not vary) when speakers (n,) gives that speaker at least min_files files, else
    the training scaler's mean and scale (n_features,). Also the speakers left with the training scaler."""
    X, speakers = np.asarray(X, dtype=np.float64), np.asarray(speakers, dtype=object)
    means = np.broadcast_to(mean, X.shape).astype(np.float32)
    scales = np.broadcast_to(scale, X.shape).astype(np.float32)
    too_few = []
    for speaker in dict.fromkeys(speakers):
        files = speakers == speaker
        if files.sum() < min_files:
            too_few.append(speaker)
            continue
        means[files] = X[files].mean(axis=0)
        if standardise:
            spread = X[files].std(axis=0)
            scales[files] = np.where(spread > 1e-8, spread, scale)
    return means, scales, too_few


def speakers_of(paths: list[Path], listed: list[LabelledFile]) -> np.ndarray:
    """(n,) the speaker of each file for --adapt-speakers: its manifest row's speaker (if the manifest has a
    speaker column), else the actor of a RAVDESS name, else "" (the files given, as one speaker)."""
    named = {file.path: file.speaker for file in listed if file.speaker}

    def speaker(path: Path) -> str:
        if path in named:
            return named[path]
        try:
            return f"RAVDESS actor {parse_name(path).actor}"
        except UserError:
            return ""

    return np.array([speaker(path) for path in paths], dtype=object)
