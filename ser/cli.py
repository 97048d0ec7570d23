"""What the three scripts share: flags derived from their constants, logging, one-line errors.

A script's UPPER_CASE constants are its settings, written once: `settings_parser` turns each into
a flag of the same name (`N_MFCC` -> `--n-mfcc`) whose type and default are the constant's and
whose help is the comment after it. `config_from` builds a config object from the parsed flags
by field name.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import logging
import os
import sys
import tokenize
from pathlib import Path
from types import ModuleType

from ser import atomic
from ser.errors import UserError

log = logging.getLogger("ser")


def documented_constants(module: ModuleType) -> list[tuple[str, object, str]]:
    """(name, value, comment) of each UPPER_CASE constant assigned at the top level of module, in the
    settings block between the first two lines that start with "# ---" (the whole module if it has none).

    The comment is the one after the assignment, continued by the comment-only lines below it whose
    text is indented past the "#" (aligned under the first).
    """
    source = inspect.getsource(module)
    lines = source.splitlines()
    markers = [number for number, line in enumerate(lines, 1) if line.startswith("# ---")]
    first, last = markers[:2] if len(markers) >= 2 else (0, len(lines) + 1)
    comments = {token.start[0]: token.string.lstrip("#").strip()
                for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT}
    found = []
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.isupper() and first < node.lineno < last):
            continue
        name, line = node.targets[0].id, node.end_lineno
        text = [comments.get(line, "")]
        while line + 1 in comments and lines[line].lstrip().startswith("#  "):
            line += 1
            text.append(comments[line])
        found.append((name, getattr(module, name), " ".join(t for t in text if t)))
    return found


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults after each flag's help; the description and epilog as written (an epilog may hold an example)."""


def settings_parser(module: ModuleType, choices: dict[str, list] | None = None,
                    types: dict[str, object] | None = None) -> argparse.ArgumentParser:
    """An ArgumentParser with one flag per constant of module (see documented_constants).

    bool -> --flag/--no-flag; tuple -> as many values as it holds; a *_DIR string -> Path;
    choices maps a constant's name to its allowed values, types to the function that parses its
    flag's text. The description is the module docstring's first paragraph.
    """
    parser = argparse.ArgumentParser(description=(module.__doc__ or "").split("\n\n")[0],
                                     formatter_class=HelpFormatter)
    for name, value, comment in documented_constants(module):
        flag = "--" + name.lower().replace("_", "-")
        options = {"default": value, "help": comment.replace("%", "%%") or " "}  # argparse formats help with %
        if isinstance(value, bool):
            options["action"] = argparse.BooleanOptionalAction
        elif isinstance(value, tuple):
            options.update(nargs=len(value), type=type(value[0]), metavar=name.split("_")[-1])
        elif isinstance(value, str) and name.endswith("_DIR"):
            options.update(type=Path, default=Path(value))
        else:
            options["type"] = type(value)
        if choices and name in choices:
            options["choices"] = choices[name]
        if types and name in types:
            options["type"] = types[name]
        parser.add_argument(flag, **options)
    return parser


def parse(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """parser.parse_args, with the values of tuple-valued flags as tuples (as their constants are)."""
    args = parser.parse_args(argv)
    for key, value in vars(args).items():
        if isinstance(value, list):
            setattr(args, key, tuple(value))
    return args


def config_from(cls, values):
    """cls built from the attributes of values (a Namespace or another config) named like its fields."""
    return cls(**{f.name: getattr(values, f.name) for f in dataclasses.fields(cls)
                  if f.init and hasattr(values, f.name)})


def setup_logging(verbose: bool = False) -> None:
    """One line per message on stderr; warnings and errors say so."""

    class Format(logging.Formatter):
        def format(self, record):
            message = super().format(record)
            return message if record.levelno == logging.INFO else f"{record.levelname.lower()}: {message}"

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Format("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


def quiet_tensorflow(verbose: bool = False) -> None:
    """Silence TensorFlow's start-up chatter (oneDNN notices, absl warnings) unless verbose.

    Call it before keras is imported."""
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # e.g. tf.function retracing notices


def output_folder(directory: Path, flag: str = "--out-dir") -> None:
    """Check that directory can be written (before the long work) and clear what a killed run left there."""
    atomic.check_writable_folder(directory, flag)
    if removed := atomic.remove_stale_temporaries(directory):
        log.info("removed %d temporary files that an interrupted run left in %s", removed, directory)


def interrupted_writing(directory: Path) -> str:
    """The line for Ctrl-C in a script that writes an output folder (ser.atomic.write_folder)."""
    return f"interrupted; {directory} holds the previous output or the new one, whole"


def exit_code(steps, interrupted: str = "interrupted") -> int:
    """Run steps(): 0; a UserError becomes one 'error:' line and 1; Ctrl-C the line `interrupted` and 130."""
    try:
        steps()
    except UserError as err:
        log.error("%s", err)
        return 1
    except KeyboardInterrupt:
        log.error("%s", interrupted)
        return 130
    return 0
