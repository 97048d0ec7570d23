"""Predict the emotion of your own recordings with the model model_training.py saved.

    python predict.py my_voice.wav                       # one file
    python predict.py recordings/ other.flac             # folders are searched recursively
    python predict.py talk.wav --segment 4               # a long recording, in 4 s windows
    python predict.py talk.wav --segment 3 --plot talk.png   # ...and a picture of its emotions over time
    python predict.py recordings/ --json > out.json      # machine-readable; logs go to stderr
    arecord -q -f S16_LE -r 16000 -c 1 | python predict.py --stream -   # live: a line per 3 s window
    ffmpeg -i talk.mp4 -f s16le -ac 1 -ar 16000 - | python predict.py --stream - --json
    python predict.py --manifest theirs.csv --out-dir eval/   # labelled files from elsewhere: metrics.json, plot
    python predict.py --manifest theirs.csv --adapt-speakers  # each speaker's 20+ files centred on their own mean

Any sample rate, bit depth, mono or stereo; WAV, FLAC, OGG and MP3 (what libsndfile decodes).
Features are computed by ser.features.extract_features with the feature config saved in the
model folder, scaled with the saved scaler and classified by the saved network (model.npz run in
numpy, the same weights as model.keras without importing TensorFlow; --runtime keras loads
model.keras), exactly as in training; if the model was evaluated with test-time augmentation, each
file's test-time copies (the same grid of pitch and tempo as in training) are classified too and the
probabilities averaged (--no-test-time-augment: the file alone, about 3x faster on a folder); then, as in training, the
probabilities are divided by each emotion's share of the training files (uniform prior). Files
named like RAVDESS (03-01-05-...-12.wav), or listed in --manifest (a CSV with the columns path and
emotion, as data_preparation.py reads), also show their true emotion, and the run ends with the
accuracy over them; with --manifest and --out-dir, DIR/metrics.json (balanced accuracy over the
labels the model knows, accuracy, per-class recall, confusion matrix, unknown_labels with their
counts) and DIR/confusion_matrix.png are written. A file cut close to its speech (its pauses under
ser.inference.MIN_PAUSE_FRACTION of it) is warned about: the model learned recordings with pauses.
With --adapt-speakers, each speaker's features are centred on that speaker's own mean over the files
given (ser.adaptation) instead of the training speakers' mean: the speaker is a manifest's speaker
column, or the actor of a RAVDESS name, or else all the files given are one speaker.

Exit codes: 0 all files predicted; 1 some files could not be read (each named on stderr);
2 the model folder is missing or incomplete, or there is no audio to predict.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import numpy as np

from ser import (adaptation, audio, cli, corpus, features, inference, manifest, metrics, model_folder, network,
                 parallel, plots, stream)
from ser.atomic import bytes_saver, write_folder
from ser.errors import UserError

# ----------------------------------------------------------------------------------------------
# Settings: each constant is the flag of the same name (SEGMENT -> --segment); its comment is the help.
MODEL_DIR = "results"  # what model_training.py wrote
SEGMENT = 0.0  # seconds per window for long recordings; 0 = the whole file at once
SEGMENT_OVERLAP = 0.5  # fraction of a window shared with the next one
JOBS = -1  # worker processes for feature extraction; -1 = all cores
MIN_FILES_FOR_WORKERS = 8  # fewer files (with --segment: windows of a file) than this are done in this process
TEST_TIME_AUGMENT = True  # average over the augmented copies the model was evaluated with (if it was)
STREAM_SEGMENT = 3.0  # with --stream: seconds per window when --segment is not given
RATE = 16000  # with --stream: sample rate (Hz) of raw 16-bit mono PCM on the input (a WAV stream's header gives its own)
ADAPT_SPEAKERS = False  # centre each speaker's features on their own mean over the files given: for 20 or more
#                        recordings of each speaker spanning their emotions, not fewer or one-sided (README)
RUNTIME = "numpy"  # numpy: model.npz, the same weights without importing TensorFlow (seconds faster to start);
#                    keras: model.keras, the model of record (the two agree to 1e-5)
# ----------------------------------------------------------------------------------------------

log = logging.getLogger("ser")


def parse_args(argv=None):
    parser = cli.settings_parser(sys.modules[__name__], choices={"RUNTIME": model_folder.RUNTIMES})
    parser.add_argument("paths", nargs="*", type=Path, help="audio files or folders (searched recursively)")
    parser.add_argument("--manifest", type=Path, metavar="CSV",
                        help="labelled files to predict and score: a CSV with the columns path and emotion (README)")
    parser.add_argument("--out-dir", type=Path, metavar="DIR",
                        help="with --manifest: write DIR/metrics.json and DIR/confusion_matrix.png")
    parser.add_argument("--stream", metavar="SOURCE",
                        help="read audio as it arrives from SOURCE (- for standard input, or a named pipe): raw "
                             "16-bit little-endian mono PCM at --rate Hz, or a WAV stream; one line per window")
    parser.add_argument("--plot", type=Path, metavar="PNG",
                        help="with --segment: draw each file's emotions over time into PNG (1600x600); with "
                             "several files one PNG each, named PNG's name-<file name>.png")
    parser.add_argument("--json", action="store_true", help="JSON list on stdout instead of a table")
    parser.add_argument("--verbose", action="store_true", help="keep TensorFlow's own log messages")
    return cli.parse(parser, argv)


def table(results: list[dict]) -> str:
    """Aligned text: file, emotion, confidence, runner-up (and truth, windows) per file."""
    width = max(len(r["file"]) for r in results)
    lines = []
    for r in results:
        ranked = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])
        (best, p_best), (second, p_second) = ranked[:2]
        line = f"{r['file']:<{width}}  {best:<9} {p_best:5.1%}   runner-up {second:<9} {p_second:5.1%}"
        if "true_emotion" in r:
            line += f"   true {r['true_emotion']}" + ("" if r["true_emotion"] == r["emotion"] else "  (wrong)")
        lines.append(line)
        lines += [f"    {window_line(s)}" for s in r.get("segments", [])]
    return "\n".join(lines)


def window_line(window: dict) -> str:
    """A window's result as text: '  12.00-  15.00 s  angry     71.0%' (or 'silence')."""
    what = "silence" if window["silent"] else f"{window['emotion']:<9} {window['confidence']:5.1%}"
    return f"{window['start']:7.2f}-{window['end']:7.2f} s  {what}"


def accuracy_line(results: list[dict], source: str = "with RAVDESS names") -> str | None:
    known = [r for r in results if "true_emotion" in r]
    if not known:
        return None
    correct = sum(r["emotion"] == r["true_emotion"] for r in known)
    return f"accuracy on {len(known)} files {source}: {correct / len(known):.1%} ({correct}/{len(known)})"


def manifest_summary(figures: dict, source: Path) -> str:
    """One line: the balanced accuracy over the shared labels, and the files whose label the model does not know."""
    unknown = figures["unknown_labels"]
    line = (f"{source}: {figures['n_scored']} of {figures['n_files']} predicted files have labels the model knows"
            + ("" if figures["balanced_accuracy"] is None else
               f", balanced accuracy {figures['balanced_accuracy']:.1%} over their {len(figures['per_class'])} labels,"
               f" accuracy {figures['accuracy']:.1%}"))
    if unknown:
        line += "; not scored, labels the model does not know: " + ", ".join(f"{k} ({n})" for k, n in unknown.items())
    return line


def write_evaluation(out_dir: Path, figures: dict, results: list[dict]) -> None:
    """DIR/metrics.json, DIR/confusion_matrix.png and DIR/predictions.json, written as one (ser.atomic)."""
    text = {"metrics.json": json.dumps(figures, indent=2), "predictions.json": json.dumps(results, indent=2)}
    write_folder(out_dir, {
        **{name: bytes_saver(lambda f, t=content: f.write(t.encode())) for name, content in text.items()},
        "confusion_matrix.png": lambda path: plots.plot_confusion(figures["confusion_matrix"], path,
                                                                  f"{figures['n_scored']} files", figures["labels"])})


def plot_paths(plot: Path, files: list[Path]) -> list[Path]:
    """Where --plot PNG draws each of files: PNG itself for one file, else PNG's name-<file name>.png, each
    name once (a number added where two files share a name)."""
    if len(files) == 1:
        return [plot]
    paths, taken = [], set()
    for file in files:
        name, number = f"{plot.stem}-{file.stem}", 1
        while (candidate := plot.with_name(f"{name}{'' if number == 1 else f'-{number}'}{plot.suffix}")) in taken:
            number += 1
        taken.add(candidate)
        paths.append(candidate)
    return paths


def probabilities_of(model, views: np.ndarray, preprocessing: model_folder.Preprocessing, model_dir,
                     scaler: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(n, n_labels) probabilities of views (n_views, n, n_features) from the saved scaler (or scaler: each
    file's own (mean, scale), each (n, n_features)), network and prior."""
    mean, scale = scaler or (preprocessing.mean, preprocessing.scale)
    probabilities = network.predict_views(model, network.apply_scaler(views, mean, scale), preprocessing.class_prior)
    if not np.isfinite(probabilities).all():
        raise model_folder.ModelDirError(f"{model_dir}'s network gives NaN or infinite probabilities (its weights "
                                         f"are broken: trained on bad values?); {model_folder.remake_hint(model_dir)}")
    return probabilities


def classify(usable: list[inference.FileFeatures], preprocessing: model_folder.Preprocessing, model, model_dir,
             truths: dict[Path, str] | None = None, speakers: np.ndarray | None = None) -> list[dict]:
    """Results per file (see inference.predictions): the rows of whole files are classified here, all in one go,
    adapted to each file's speaker if speakers (one per usable file, all whole files) are given; files cut into
    windows hold their probabilities already."""
    rows = [item.rows for item in usable if item.probabilities is None]
    probabilities, too_few = None, []
    if rows:
        views = np.concatenate(rows)  # (n, n_views, n_features)
        scaler = None
        if speakers is not None:
            mean, scale, too_few = speaker_scaler(views[:, 0], speakers, preprocessing)
            scaler = (mean, scale)
        probabilities = window_probabilities(model, views, preprocessing, model_dir, scaler)
    results = inference.predictions(usable, probabilities, preprocessing.labels, truths)
    if speakers is not None:  # which speaker's mean each file was centred on; None: the training speakers'
        for result, speaker in zip(results, speakers):
            result["adapted_to_speaker"] = None if speaker in too_few else speaker
    return results


def speaker_scaler(X: np.ndarray, speakers: np.ndarray, preprocessing: model_folder.Preprocessing):
    """ser.adaptation.speaker_scaler of the files' own features X (n, n_features): (mean, scale, speakers left with
    the training scaler), with a line saying how many speakers were adapted and a warning naming the others."""
    mean, scale, too_few = adaptation.speaker_scaler(X, speakers, preprocessing.mean, preprocessing.scale)
    log.info("--adapt-speakers: %d of %d speaker(s) centred on their own mean", len(set(speakers)) - len(too_few),
             len(set(speakers)))
    if too_few:
        names = ", ".join(str(s) or "the files given (no speaker named)" for s in too_few[:3])
        log.warning("fewer than %d files of %s%s: classified without adaptation; give %d or more recordings of each "
                    "speaker", adaptation.MIN_FILES, names, f" and {len(too_few) - 3} more speakers"
                    if len(too_few) > 3 else "", adaptation.MIN_FILES)
    return mean, scale, too_few


def window_features(path: Path, preprocessing: model_folder.Preprocessing, model, args, tta, workers: int):
    """inference.segment_features of one file, its windows spread over the workers (a progress bar over them)
    when it has at least MIN_FILES_FOR_WORKERS and classified by model as they come: an hour-long recording is
    read in blocks, uses every core, and keeps only its windows' probabilities."""
    config = preprocessing.feature_config
    count = inference.window_count(path, config.sample_rate, args.segment, args.segment_overlap)
    jobs = workers if (count or 0) >= args.min_files_for_workers else 1
    mapper = functools.partial(parallel.imap_with_progress, jobs=jobs, total=count, desc=path.name, unit="window")
    classify_block = functools.partial(window_probabilities, model, preprocessing=preprocessing,
                                       model_dir=args.model_dir)
    return inference.segment_features(path, config, args.segment, args.segment_overlap, tta, classify_block, mapper)


def window_probabilities(model, views: np.ndarray, preprocessing: model_folder.Preprocessing, model_dir,
                         scaler: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(n, n_labels) probabilities of n files' or windows' views (n, n_views, n_features) (probabilities_of)."""
    return probabilities_of(model, views.transpose(1, 0, 2), preprocessing, model_dir, scaler)


def run_stream(args, preprocessing: model_folder.Preprocessing) -> int:
    """Classify the windows of the audio arriving on args.stream, printing each as soon as it is complete."""
    config, labels = preprocessing.feature_config, preprocessing.labels
    seconds = args.segment or args.stream_segment
    inference.check_segment(seconds, args.segment_overlap, config.min_speech_seconds)
    if args.paths or args.manifest or args.plot or args.adapt_speakers:
        raise UserError("--stream reads one stream; give files, --manifest, --plot or --adapt-speakers in a run "
                        "without it")
    model = model_folder.load_network(args.model_dir, len(preprocessing.mean), len(labels), args.runtime)
    tta = preprocessing.test_time_augment if args.test_time_augment else None
    size, hop = inference.window_size_hop(config.sample_rate, seconds, args.segment_overlap)
    # the imports and compiled kernels the first window needs, loaded while its audio arrives, not after
    inference.feature_views(features.probe_signal(config), config, tta)
    try:
        source = sys.stdin.buffer if args.stream == "-" else open(args.stream, "rb")  # noqa: SIM115 (closed below)
    except OSError as err:
        raise UserError(f"cannot read --stream {args.stream} ({err.strerror}); give - for standard input") from None
    windows, peak_so_far = 0, 0.0
    try:
        for start, piece in stream.stream_windows(stream.samples_of(source, args.rate, config.sample_rate), size, hop):
            peak_so_far = max(peak_so_far, float(np.abs(piece).max()))
            window, views, _ = inference.window_views(piece, start, peak_so_far, config, tta)
            if views is not None:
                p = window_probabilities(model, views[None], preprocessing, args.model_dir)[0]
                window.update(emotion=labels[int(p.argmax())], confidence=float(p.max()),
                              probabilities={label: float(q) for label, q in zip(labels, p)})
            print(json.dumps(window) if args.json else window_line(window), flush=True)
            windows += 1
    finally:
        log.info("streamed %d windows of %g s", windows, seconds)
        if source is not sys.stdin.buffer:
            source.close()
    return 0


def warn_cut_recordings(cut: list[inference.FileFeatures], named: int = 3) -> None:
    """One warning per file cut close to its speech (the first `named`, then how many more), with the way out."""
    for item in cut[:named]:
        log.warning("%s: hardly any quiet around the speech (pauses %.1f%% of the recording): the model learned "
                    "recordings with pauses and scores lower on recordings cut to their speech; leave half a second "
                    "of quiet before and after it", item.path, 100 * item.pause_fraction)
    if len(cut) > named:
        log.warning("... and %d more files with hardly any quiet around the speech (--json: pause_fraction under %g)",
                    len(cut) - named, inference.MIN_PAUSE_FRACTION)


def run(args) -> int:
    """Predict every file named; the exit code (see the module docstring)."""
    preprocessing = model_folder.load_preprocessing(args.model_dir)
    if args.stream:
        return run_stream(args, preprocessing)
    inference.check_segment(args.segment, args.segment_overlap, preprocessing.feature_config.min_speech_seconds)
    if args.adapt_speakers and args.segment > 0:
        raise UserError("--adapt-speakers classifies whole files, each with its speaker's other files; leave out "
                        "--segment (or --adapt-speakers)")
    workers = parallel.worker_count(args.jobs)
    if not args.paths and not args.manifest:
        raise UserError("give audio files or folders to predict, or --manifest CSV (python predict.py --help)")
    if args.out_dir and not args.manifest:
        raise UserError("--out-dir holds the evaluation of --manifest; give --manifest CSV too")
    if args.out_dir:
        cli.output_folder(args.out_dir)
    if args.plot:
        if args.segment <= 0:
            raise UserError("--plot draws a recording's windows over time; give --segment SECONDS too (e.g. 3)")
        if args.plot.suffix.lower() != ".png":
            raise UserError(f"--plot {args.plot} is not a .png name; give e.g. --plot timeline.png")
        cli.output_folder(args.plot.parent, "--plot's folder")
    files, errors = corpus.find_audio(args.paths)
    for error in errors:
        log.error("%s", error)
    truths, skipped, listed = None, [], []
    if args.manifest:  # its unusable rows are warned about by the reader, and count as failed
        listed, skipped = manifest.read_manifest(args.manifest, required=("path", "emotion"))
        truths = {file.path: file.emotion for file in manifest.unique_files(listed)}
        files = list(dict.fromkeys(files + list(truths)))
    if not files:
        raise UserError(f"no audio files ({', '.join(sorted(corpus.AUDIO_EXTENSIONS))}) in "
                        f"{' '.join(str(p) for p in args.paths) or args.manifest}")
    audio.warn_truncated(files)
    tta = preprocessing.test_time_augment if args.test_time_augment else None
    model = model_folder.load_network(args.model_dir, len(preprocessing.mean), len(preprocessing.labels), args.runtime)
    if args.segment > 0:
        features = [window_features(path, preprocessing, model, args, tta, workers) for path in files]
    else:
        jobs = workers if len(files) >= args.min_files_for_workers else 1
        task = inference.FeatureTask(preprocessing.feature_config, tta)
        features = parallel.map_with_progress(task, files, jobs, desc="features")
    for item in features:
        if item.error:
            log.error("%s: %s", item.path, item.error)
    usable = [item for item in features if item.error is None]
    warn_cut_recordings(inference.cut_recordings(usable))
    failed = len(errors) + len(skipped) + len(features) - len(usable)
    if usable:
        speakers = adaptation.speakers_of([item.path for item in usable], listed) if args.adapt_speakers else None
        results = classify(usable, preprocessing, model, args.model_dir, truths, speakers)
        print(json.dumps(results, indent=2) if args.json else table(results))
        if args.plot:
            drawn = plot_paths(args.plot, [item.path for item in usable])
            for item, result, path in zip(usable, results, drawn):
                plots.plot_timeline(result, item.level_db, inference.LEVEL_HOP_SECONDS, preprocessing.labels, path)
            log.info("drew %d timeline(s): %s", len(drawn), ", ".join(map(str, drawn)))
        if (line := accuracy_line(results, f"of {args.manifest}" if truths else "with RAVDESS names")) is not None:
            log.info("%s", line)
        if truths is not None:
            scored = [r for r in results if "true_emotion" in r]
            figures = {**metrics.labelled_figures([r["true_emotion"] for r in scored], [r["emotion"] for r in scored],
                                                  preprocessing.labels), "n_failed": failed,
                       "manifest": str(args.manifest.resolve()), "adapt_speakers": args.adapt_speakers}
            log.info("%s", manifest_summary(figures, args.manifest))
            if args.out_dir:
                write_evaluation(args.out_dir, figures, results)
                log.info("wrote %s", args.out_dir / "metrics.json")
    log.info("predicted %d files, %d failed", len(usable), failed)
    return 1 if failed else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    cli.setup_logging(args.verbose)
    cli.quiet_tensorflow(args.verbose)
    try:
        return run(args)
    except UserError as err:  # the model folder, the flags or the paths: nothing could be predicted
        log.error("%s", err)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
