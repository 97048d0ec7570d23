"""Turn labelled recordings (RAVDESS, or your own corpus) into ready-to-train feature arrays.

Finds RAVDESS-named WAVs under --data-dir (Zenodo layout `Actor_01/...` or Kaggle layout
`audio_speech_actors_01-24/Actor_01/...`) and reads emotion/actor/... from each file name, and/or
reads the files of --manifest CSVs (columns path, emotion, speaker, optional gender and corpus;
see ser/manifest.py and the README); computes one feature vector per file with
ser.features.extract_features (MFCC-family statistics pooled over the speech, not the silence
around it), splits the files into train/val/test by speaker and writes to --out-dir the
prepared-data folder of ser.prepared_data:

    X_{train,val,test}.npy   float32 (n_files, n_features)
    y_{train,val,test}.npy   int64 (n_files,), index into meta.json's labels (RAVDESS: ser.corpus.LABELS)
    manifest.csv             one row per used file (corpus, speaker, emotion, ...), in array order within each split
    meta.json                labels, feature config, split, counts, skipped files, versions
    complete.json            written last: each file's size and sha256 (readers refuse a folder without it)

The default split is speaker-independent: validation and test speakers never appear in training.

    python data_preparation.py                      # data/raw (RAVDESS) -> data/processed
    python data_preparation.py --download           # fetch the corpus first if no WAVs are found
    python data_preparation.py --manifest mine.csv  # your own corpus only
    python data_preparation.py --manifest a.csv --manifest b.csv --data-dir data/raw   # pooled with RAVDESS
    python data_preparation.py --split random       # leaky tutorial-style split, for comparison
    python data_preparation.py --dask-scheduler tcp://host:8786   # features on a Dask cluster
    python data_preparation.py --help               # every constant below as a flag
"""

from __future__ import annotations

import functools
import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from ser import audio, cli, corpus, download, features, manifest, parallel, prepared_data
from ser.errors import UserError

# ----------------------------------------------------------------------------------------------
# Settings: each constant is the flag of the same name (N_MFCC -> --n-mfcc); its comment is the help.
DATA_DIR = "data/raw"  # where the RAVDESS WAVs are (searched recursively); with --manifest only if given
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
SPLIT = "actor"  # actor: speaker-independent (by speaker in any corpus); random: stratified by emotion, leaks speakers
VAL_FRACTION = 0.15  # of the speakers of each sex (actor split) or of the files (random split)
TEST_FRACTION = 0.15  # likewise
SEED = 42  # seed of the split
JOBS = -1  # worker processes for feature extraction; -1 = all cores
DASK_SCHEDULER = ""  # address of a Dask scheduler (tcp://host:8786) to extract features on its workers
#                      instead (pip install -r requirements-dask.txt); empty: local processes
CORPUS_URL = "https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip"  # what --download fetches
CORPUS_MD5 = "bc696df654c87fed845eb13823edef8a"  # expected md5 of that zip
# ----------------------------------------------------------------------------------------------

log = logging.getLogger("ser")


def parse_args(argv=None):
    parser = cli.settings_parser(sys.modules[__name__], choices={
        "CHANNEL": sorted(corpus.CHANNELS), "FEATURES": features.FEATURE_SETS, "SPLIT": ("actor", "random")})
    parser.add_argument("--manifest", action="append", type=Path, default=[], metavar="CSV",
                        help="a CSV of your own recordings: path,emotion,speaker[,gender,corpus] (see README); "
                             "repeat to pool corpora; RAVDESS files are then used only if --data-dir is given")
    parser.add_argument("--download", action="store_true", help="download the corpus if no WAVs are found")
    parser.add_argument("--force", action="store_true", help="recompute even if the output is up to date")
    parser.add_argument("--verbose", action="store_true")
    parser.set_defaults(data_dir=None)  # to tell whether --data-dir was given
    parser.epilog = ("a --manifest CSV: path relative to the CSV's folder, or absolute; emotion any label;\n"
                     "speaker any name; optional gender male, female or empty, corpus (default the CSV's name):\n\n"
                     + manifest.EXAMPLE)
    args = cli.parse(parser, argv)
    args.use_ravdess = args.data_dir is not None or not args.manifest
    args.data_dir = Path(DATA_DIR) if args.data_dir is None else args.data_dir
    return args


def feature_config(args) -> features.FeatureConfig:
    """The FeatureConfig of these flags (FEATURES, SAMPLE_RATE ... NOISE_SUBTRACTION_DB), checked."""
    return cli.config_from(features.FeatureConfig, args)


def find_files(args) -> tuple[list[corpus.LabelledFile], list[dict]]:
    """The labelled files of RAVDESS (--data-dir) and of each --manifest, each file once; skipped {"path", "reason"}."""
    files, skipped = [], []
    if args.use_ravdess:
        if args.download and not corpus.has_recordings(args.data_dir):
            download.download_corpus(args.data_dir, args.corpus_url, args.corpus_md5)
        recordings, skipped = corpus.find_recordings(args.data_dir, args.channel)
        if not recordings:
            raise UserError(f"no RAVDESS WAVs under {args.data_dir} (expected Actor_XX/03-01-...wav; "
                            f"run with --download, or give your own files with --manifest; see README)")
        files = [r.labelled() for r in recordings]
    for path in args.manifest:
        found, unusable = manifest.read_manifest(path)
        log.info("manifest %s: %d files, skipped %d", path, len(found), len(unusable))
        files, skipped = files + found, skipped + unusable
    return manifest.unique_files(files), skipped


def usable_labels(files: list[corpus.LabelledFile], split: str) -> list[corpus.LabelledFile]:
    """files without labels that have fewer than 2 files (a warning each); UserError if fewer than 2 labels
    or (speaker-independent split) one speaker remain."""
    counts = Counter(file.emotion for file in files)
    for label, count in sorted(counts.items()):
        if count < 2:
            lone = next(file.path for file in files if file.emotion == label)
            log.warning("skipped label %r: only %d file (%s); add files of it or merge it into another label",
                        label, count, lone)
    files = [file for file in files if counts[file.emotion] >= 2]
    if len(labels := corpus.label_order(file.emotion for file in files)) < 2:
        raise UserError(f"{len(files)} usable files hold {len(labels)} label(s) {list(labels)}: a classifier "
                        f"needs 2 or more, each with 2 or more files")
    speakers = set(corpus.speaker_keys([f.corpus for f in files], [f.speaker for f in files]))
    if split == "actor" and len(speakers) < 2:
        raise UserError(f"all {len(files)} files are spoken by one speaker ({', '.join(speakers)}): no "
                        f"speaker-independent split is possible; add other speakers' files or use --split random")
    return files


def dropped_labels(files: list[corpus.LabelledFile], kept: list[corpus.LabelledFile]) -> list[dict]:
    """Skipped {"path", "reason"} for each of files that usable_labels left out of kept."""
    kept = set(kept)
    return [{"path": str(f.path), "reason": f"label {f.emotion!r} has fewer than 2 files"} for f in files
            if f not in kept]


def extract(recordings: list[corpus.LabelledFile], config: features.FeatureConfig, jobs: int, scheduler: str = ""):
    """(usable files, their feature vectors, skipped {"path", "reason"}) over `jobs` processes, or the workers
    of the Dask scheduler at `scheduler`."""
    audio.warn_truncated([r.path for r in recordings])
    task = functools.partial(features.try_file_features, config=config)
    results = parallel.map_with_progress(task, [r.path for r in recordings], jobs, scheduler=scheduler)
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


def assign_splits(files: list[corpus.LabelledFile], method: str, val_fraction: float, test_fraction: float,
                  rng: np.random.Generator) -> list[str]:
    """train/val/test for each file: by speaker (speaker-independent) or at random by emotion."""
    if method == "actor":
        speakers = corpus.speaker_keys([f.corpus for f in files], [f.speaker for f in files])
        by_speaker = corpus.split_by_speaker(speakers, [f.gender for f in files], val_fraction, test_fraction, rng)
        return [by_speaker[s] for s in speakers]
    return corpus.split_random(np.array([f.emotion for f in files]), val_fraction, test_fraction, rng)


def arrays_and_manifest(files: list[corpus.LabelledFile], vectors: list[np.ndarray], splits: list[str],
                        labels: tuple[str, ...]):
    """X_*/y_* arrays (y: index into labels) and manifest rows per split, in the same order."""
    arrays, rows = {}, []
    for name in corpus.SPLITS:
        index = [i for i, s in enumerate(splits) if s == name]
        arrays[f"X_{name}"] = np.stack([vectors[i] for i in index]).astype(np.float32)
        arrays[f"y_{name}"] = np.array([labels.index(files[i].emotion) for i in index], dtype=np.int64)
        rows += [prepared_data.ManifestRow.of(files[i], name) for i in index]
    return arrays, rows


def prepare(args) -> None:
    config = feature_config(args)
    corpus.check_fractions(args.val_fraction, args.test_fraction)
    jobs = parallel.worker_count(args.jobs)
    cli.output_folder(args.out_dir)
    found, skipped = find_files(args)
    files = usable_labels(found, args.split)
    skipped += dropped_labels(found, files)
    corpora = Counter(f.corpus for f in files)
    log.info("found %d files of %d labels from %d speakers (%s), skipped %d", len(files),
             len({f.emotion for f in files}), len({(f.corpus, f.speaker) for f in files}),
             ", ".join(f"{name} {n}" for name, n in sorted(corpora.items())), len(skipped))
    split = {"method": args.split, "val_fraction": args.val_fraction, "test_fraction": args.test_fraction,
             "seed": args.seed}
    fingerprint = prepared_data.inputs_fingerprint([f.path for f in files], {
        "feature_config": config.to_dict(), "split": args.split, "val_fraction": args.val_fraction,
        "test_fraction": args.test_fraction, "seed": args.seed, "channel": args.channel if args.use_ravdess else None,
        "files": [[f.emotion, f.speaker, f.gender, f.corpus] for f in files],
        "format_version": prepared_data.FORMAT_VERSION})
    if not args.force and prepared_data.is_up_to_date(args.out_dir, fingerprint):
        log.info("%s is already made from these %d files with this config; reusing it (--force redoes it)",
                 args.out_dir, len(files))
        return
    usable, vectors, unusable = extract(files, config, jobs, args.dask_scheduler)
    kept = usable_labels(usable, args.split)  # a label may have lost files that could not be read
    unusable += dropped_labels(usable, kept)
    kept = set(kept)
    usable, vectors = zip(*[(f, v) for f, v in zip(usable, vectors) if f in kept])
    labels = corpus.label_order(f.emotion for f in usable)
    splits = assign_splits(usable, args.split, args.val_fraction, args.test_fraction, np.random.default_rng(args.seed))
    arrays, manifest_rows = arrays_and_manifest(usable, vectors, splits, labels)
    skipped += unusable
    counts = {s: int(len(arrays[f"y_{s}"])) for s in corpus.SPLITS}
    keys = corpus.speaker_keys([f.corpus for f in usable], [f.speaker for f in usable])
    speakers = {s: sorted({k for k, of in zip(keys, splits) if of == s}, key=corpus.natural_key) for s in corpus.SPLITS}
    # the names are computed by a worker process, which has librosa imported already, not by this one
    names = parallel.map_with_progress(features.feature_names, [config], jobs, desc="names")[0]
    prepared_data.write_prepared(args.out_dir, arrays, manifest_rows, {
        "labels": list(labels), "feature_config": config.to_dict(), "feature_names": names,
        "split": {**split, "speakers": speakers}, "corpora": dict(sorted(Counter(f.corpus for f in usable).items())),
        "channel": args.channel, "counts": counts, "skipped": skipped,
        "data_dir": str(args.data_dir.resolve()) if args.use_ravdess else None,
        "manifests": [str(m.resolve()) for m in args.manifest], "versions": prepared_data.library_versions(),
        "fingerprint": fingerprint})
    log.info("split %s: train %d files (speakers %s), val %d (%s), test %d (%s)", args.split, counts["train"],
             speakers["train"], counts["val"], speakers["val"], counts["test"], speakers["test"])
    log.info("wrote %d x %d features to %s, skipped %d files", sum(counts.values()), arrays["X_train"].shape[1],
             args.out_dir, len(skipped))


def main(argv=None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    return cli.exit_code(lambda: prepare(args), cli.interrupted_writing(args.out_dir))


if __name__ == "__main__":
    sys.exit(main())
