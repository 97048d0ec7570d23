"""Turn the RAVDESS WAV files into ready-to-train feature arrays.

Finds RAVDESS-named WAVs under --data-dir (Zenodo layout `Actor_01/...` or Kaggle layout
`audio_speech_actors_01-24/Actor_01/...`), reads emotion/actor/... from each file name, computes
one feature vector per file with ser.features.extract_features (MFCC-family statistics pooled over
the speech, not the silence around it), splits the files into train/val/test and writes to
--out-dir the prepared-data folder of ser.prepared_data:

    X_{train,val,test}.npy   float32 (n_files, n_features)
    y_{train,val,test}.npy   int64 (n_files,), 0..7 in the order of ser.corpus.LABELS
    manifest.csv             one row per used file, in array order within each split
    meta.json                labels, feature config, split, counts, skipped files, versions
    complete.json            written last: each file's size and sha256 (readers refuse a folder without it)

The default split is speaker-independent: validation and test actors never appear in training.

    python data_preparation.py                      # data/raw -> data/processed
    python data_preparation.py --download           # fetch the corpus first if no WAVs are found
    python data_preparation.py --split random       # leaky tutorial-style split, for comparison
    python data_preparation.py --help               # every constant below as a flag
"""

from __future__ import annotations

import functools
import logging
import sys

import numpy as np

from ser import audio, cli, corpus, download, features, parallel, prepared_data
from ser.errors import UserError

# ----------------------------------------------------------------------------------------------
# Settings: each constant is the flag of the same name (N_MFCC -> --n-mfcc); its comment is the help.
DATA_DIR = "data/raw"  # where the RAVDESS WAVs are (searched recursively)
OUT_DIR = "data/processed"  # where the arrays, manifest.csv and meta.json go
CHANNEL = "speech"  # vocal channel: speech (01), song (02) or both
FEATURES = "full"  # full: MFCC-family statistics over the speech; mfcc_mean: fast MFCC-mean baseline
SAMPLE_RATE = 16000  # Hz; every file is resampled to this rate
N_MFCC = 40  # MFCCs per frame
N_MELS = 64  # mel bands the MFCCs are computed from
N_FFT = 512  # samples per analysis window (32 ms at 16 kHz)
HOP_LENGTH = 160  # samples between frames (10 ms at 16 kHz)
F0_MIN = 60.0  # Hz, lowest pitch searched (librosa.yin)
F0_MAX = 500.0  # Hz, highest pitch searched
SPEECH_TOP_DB = 40.0  # frames more than this (dB) below the loudest frame count as silence...
SPEECH_FLOOR_MARGIN_DB = 10.0  # ...and so do frames less than this (dB) above the noise floor
MIN_SPEECH_SECONDS = 0.25  # shorter sound than this is "too short" to classify
NOISE_SUBTRACTION_DB = 25.0  # steady noise (fan, hiss) subtracted from the spectrum, at most this deep (dB); 0: off
SPLIT = "actor"  # actor: speaker-independent; random: stratified by emotion, leaks speakers
VAL_FRACTION = 0.15  # of the actors of each sex (actor split) or of the files (random split)
TEST_FRACTION = 0.15  # likewise
SEED = 42  # seed of the split
JOBS = -1  # worker processes for feature extraction; -1 = all cores
CORPUS_URL = "https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip"  # what --download fetches
CORPUS_MD5 = "bc696df654c87fed845eb13823edef8a"  # expected md5 of that zip
# ----------------------------------------------------------------------------------------------

log = logging.getLogger("ser")


def parse_args(argv=None):
    parser = cli.settings_parser(sys.modules[__name__], choices={
        "CHANNEL": sorted(corpus.CHANNELS), "FEATURES": features.FEATURE_SETS, "SPLIT": ("actor", "random")})
    parser.add_argument("--download", action="store_true", help="download the corpus if no WAVs are found")
    parser.add_argument("--force", action="store_true", help="recompute even if the output is up to date")
    parser.add_argument("--verbose", action="store_true")
    return cli.parse(parser, argv)


def feature_config(args) -> features.FeatureConfig:
    """The FeatureConfig of these flags (FEATURES, SAMPLE_RATE ... NOISE_SUBTRACTION_DB), checked."""
    return cli.config_from(features.FeatureConfig, args)


def extract(recordings: list[corpus.Recording], config: features.FeatureConfig, jobs: int):
    """(usable recordings, their feature vectors, skipped {"path", "reason"}) over `jobs` processes."""
    audio.warn_truncated([r.path for r in recordings])
    task = functools.partial(features.try_file_features, config=config)
    results = parallel.map_with_progress(task, [r.path for r in recordings], jobs)
    usable, vectors, skipped = [], [], []
    for recording, (vector, reason) in zip(recordings, results):
        if vector is None:
            log.warning("skipped %s", reason)
            skipped.append({"path": str(recording.path), "reason": reason.removeprefix(f"{recording.path}: ")})
        else:
            usable.append(recording)
            vectors.append(vector)
    if not usable:
        raise UserError(f"none of the {len(recordings)} files could be used (see the warnings above)")
    return usable, vectors, skipped


def assign_splits(recordings: list[corpus.Recording], method: str, val_fraction: float, test_fraction: float,
                  rng: np.random.Generator) -> list[str]:
    """train/val/test for each recording: by actor (speaker-independent) or at random by emotion."""
    if method == "actor":
        by_actor = corpus.split_by_actor([r.actor for r in recordings], val_fraction, test_fraction, rng)
        return [by_actor[r.actor] for r in recordings]
    return corpus.split_random(np.array([r.emotion for r in recordings]), val_fraction, test_fraction, rng)


def arrays_and_manifest(recordings: list[corpus.Recording], vectors: list[np.ndarray], splits: list[str]):
    """X_*/y_* arrays and manifest rows per split, in the same order."""
    arrays, manifest = {}, []
    for name in corpus.SPLITS:
        rows = [i for i, s in enumerate(splits) if s == name]
        arrays[f"X_{name}"] = np.stack([vectors[i] for i in rows]).astype(np.float32)
        arrays[f"y_{name}"] = np.array([recordings[i].emotion for i in rows], dtype=np.int64)
        manifest += [prepared_data.ManifestRow.of(recordings[i], name) for i in rows]
    return arrays, manifest


def prepare(args) -> None:
    config = feature_config(args)
    corpus.check_fractions(args.val_fraction, args.test_fraction)
    jobs = parallel.worker_count(args.jobs)
    cli.output_folder(args.out_dir)
    if args.download and not corpus.has_recordings(args.data_dir):
        download.download_corpus(args.data_dir, args.corpus_url, args.corpus_md5)
    recordings, skipped = corpus.find_recordings(args.data_dir, args.channel)
    if not recordings:
        raise UserError(f"no RAVDESS WAVs under {args.data_dir} (expected Actor_XX/03-01-...wav; "
                        f"run with --download or see README)")
    log.info("found %d files from %d actors under %s, skipped %d", len(recordings),
             len({r.actor for r in recordings}), args.data_dir, len(skipped))
    split = {"method": args.split, "val_fraction": args.val_fraction, "test_fraction": args.test_fraction,
             "seed": args.seed}
    fingerprint = prepared_data.inputs_fingerprint([r.path for r in recordings], {
        "feature_config": config.to_dict(), "split": args.split, "val_fraction": args.val_fraction,
        "test_fraction": args.test_fraction, "seed": args.seed, "channel": args.channel,
        "format_version": prepared_data.FORMAT_VERSION})
    if not args.force and prepared_data.is_up_to_date(args.out_dir, fingerprint):
        log.info("%s is already made from these %d files with this config; reusing it (--force redoes it)",
                 args.out_dir, len(recordings))
        return
    usable, vectors, unusable = extract(recordings, config, jobs)
    splits = assign_splits(usable, args.split, args.val_fraction, args.test_fraction, np.random.default_rng(args.seed))
    arrays, manifest = arrays_and_manifest(usable, vectors, splits)
    skipped += unusable
    counts = {s: int(len(arrays[f"y_{s}"])) for s in corpus.SPLITS}
    actors = {s: sorted({row.actor for row in manifest if row.split == s}) for s in corpus.SPLITS}
    # the names are computed by a worker process, which has librosa imported already, not by this one
    names = parallel.map_with_progress(features.feature_names, [config], jobs, desc="names")[0]
    prepared_data.write_prepared(args.out_dir, arrays, manifest, {
        "labels": list(corpus.LABELS), "feature_config": config.to_dict(), "feature_names": names,
        "split": {**split, "actors": actors}, "channel": args.channel, "counts": counts, "skipped": skipped,
        "data_dir": str(args.data_dir.resolve()), "versions": prepared_data.library_versions(),
        "fingerprint": fingerprint})
    log.info("split %s: train %d files (actors %s), val %d (%s), test %d (%s)", args.split, counts["train"],
             actors["train"], counts["val"], actors["val"], counts["test"], actors["test"])
    log.info("wrote %d x %d features to %s, skipped %d files", sum(counts.values()), arrays["X_train"].shape[1],
             args.out_dir, len(skipped))


def main(argv=None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    return cli.exit_code(lambda: prepare(args), cli.interrupted_writing(args.out_dir))


if __name__ == "__main__":
    sys.exit(main())
