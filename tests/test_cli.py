"""ser.cli: flags derived from a script's constants, configs built from them, one-line errors."""

import dataclasses
import importlib.util
import logging
from pathlib import Path

import pytest

import data_preparation
import model_training
from ser import cli, features, training
from ser.errors import UserError

SCRIPT = '''"""A script.

More text."""
OUT_DIR = "out"  # where it goes
RATE = 16000  # Hz
RANGE = (0.9, 1.1)  # low and high,
#                     said over two lines
FAST = True
NAME = "x"  # one of x, y (50% each)
lowercase = 3
'''


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "tiny_script.py"
    path.write_text(SCRIPT)
    spec = importlib.util.spec_from_file_location("tiny_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_constants_and_their_comments_are_read_off_the_source(script):
    assert cli.documented_constants(script) == [
        ("OUT_DIR", "out", "where it goes"), ("RATE", 16000, "Hz"),
        ("RANGE", (0.9, 1.1), "low and high, said over two lines"), ("FAST", True, ""),
        ("NAME", "x", "one of x, y (50% each)")]


def test_only_the_settings_block_is_read_when_the_script_marks_one(tmp_path):
    path = tmp_path / "marked.py"
    path.write_text('COLUMNS = ("a", "b")\n# ----\nSEED = 1  # the seed\n# ----\nKEYS = ("x",)\n')
    spec = importlib.util.spec_from_file_location("marked", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert cli.documented_constants(module) == [("SEED", 1, "the seed")]


def test_each_constant_becomes_a_flag_of_its_type(script):
    parser = cli.settings_parser(script, choices={"NAME": ["x", "y"]})
    assert parser.description == "A script."
    defaults = cli.parse(parser, [])
    assert vars(defaults) == {"out_dir": Path("out"), "rate": 16000, "range": (0.9, 1.1), "fast": True, "name": "x"}
    args = cli.parse(parser, ["--out-dir", "elsewhere", "--rate", "8000", "--range", "0.5", "2", "--no-fast",
                              "--name", "y"])
    assert vars(args) == {"out_dir": Path("elsewhere"), "rate": 8000, "range": (0.5, 2.0), "fast": False, "name": "y"}
    with pytest.raises(SystemExit):
        cli.parse(parser, ["--name", "z"])
    help_text = parser.format_help()
    assert "where it goes" in help_text and "said over two lines" in help_text and "(50% each)" in help_text


def test_every_setting_of_the_scripts_reaches_its_config():
    flags = set(vars(model_training.parse_args([]))) - {"data_dir", "out_dir", "cache_dir", "jobs", "dask_scheduler",
                                                                "force", "verbose"}
    assert flags == {f.name for f in dataclasses.fields(training.TrainConfig)}
    feature_fields = {f.name for f in dataclasses.fields(features.FeatureConfig)} - {"version"}
    assert feature_fields <= set(vars(data_preparation.parse_args([])))
    changed = data_preparation.feature_config(data_preparation.parse_args(["--n-mfcc", "20", "--f0-max", "400"]))
    assert (changed.n_mfcc, changed.f0_max) == (20, 400.0)
    changed = model_training.train_config(model_training.parse_args(["--pitch-semitones", "-2", "2", "--no-augment"]))
    assert changed.augment_config.pitch_semitones == (-2.0, 2.0) and changed.augment is False


def test_config_from_takes_fields_by_name():
    @dataclasses.dataclass
    class Pair:
        low: int
        high: int = 9

    assert cli.config_from(Pair, type("Namespace", (), {"high": 3, "low": 1, "other": 0})) == Pair(1, 3)


def test_exit_code_turns_a_user_error_into_one_line(capsys):
    cli.setup_logging()

    def fails():
        raise UserError("bad thing; do this instead")

    def interrupted():
        raise KeyboardInterrupt

    assert cli.exit_code(fails) == 1
    assert capsys.readouterr().err == "error: bad thing; do this instead\n"
    assert cli.exit_code(interrupted, "stopped; nothing lost") == 130
    assert capsys.readouterr().err == "error: stopped; nothing lost\n"
    assert cli.exit_code(lambda: logging.getLogger("ser").info("fine")) == 0


@pytest.mark.parametrize("main,argv,message", [
    (data_preparation.main, ["--f0-min", "600"], "f0_min 600.0 to f0_max 500.0"),
    (data_preparation.main, ["--val-fraction", "0.9"], "val_fraction 0.9"),
    (model_training.main, ["--dropout", "1.5"], "dropout 1.5"),
    (model_training.main, ["--augment-copies", "0"], "copies 0")])
def test_a_bad_setting_stops_a_script_with_one_line(main, argv, message, mini_dir, tmp_path, capsys):
    data_dir = mini_dir if main is data_preparation.main else tmp_path
    where = ["--data-dir", str(data_dir), "--out-dir", str(tmp_path / "o")]
    assert main([*where, *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
