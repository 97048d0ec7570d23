"""ser.prepared_data: typed manifest rows, the format version checked on read, interrupted writes."""

import json
import shutil

import numpy as np
import pytest

from ser import prepared_data
from ser.errors import UserError


def test_write_prepared_leaves_the_previous_output_intact_when_interrupted(tmp_path, monkeypatch):
    arrays = {"X_train": np.ones((2, 3), np.float32), "y_train": np.zeros(2, np.int64)}
    prepared_data.write_prepared(tmp_path, arrays, [], {"run": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(prepared_data.json, "dumps", interrupted)  # dies after the arrays were staged
    with pytest.raises(KeyboardInterrupt):
        prepared_data.write_prepared(tmp_path, {k: v * 2 for k, v in arrays.items()}, [], {"run": 2})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temp files either


def test_manifest_rows_are_typed_once_and_splits_concatenate_in_order(prepared_mini):
    prepared = prepared_data.load_prepared(prepared_mini)
    data, split = prepared.dataset(), prepared.split()
    assert all(isinstance(row.actor, int) and isinstance(row.statement, int) for row in data.rows)
    assert data.X.shape == (122, 1934) and len(data.y) == len(data.rows) == 122
    for name in ("train", "val", "test"):
        index = getattr(split, name)
        assert [data.rows[i] for i in index] == prepared.rows[name]
        np.testing.assert_array_equal(data.X[index], prepared.X[name])
    assert data.actors.tolist() == [row.actor for row in data.rows]


def test_another_format_version_or_a_bad_row_is_refused_with_the_way_out(prepared_mini, tmp_path):
    folder = tmp_path / "processed"
    shutil.copytree(prepared_mini, folder)
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps(meta | {"format_version": prepared_data.FORMAT_VERSION + 1}))
    with pytest.raises(UserError, match=r"format version 2, this code reads version 1; run data_preparation.py"):
        prepared_data.load_prepared(folder)
    (folder / "meta.json").write_text(json.dumps(meta))
    manifest = (folder / "manifest.csv").read_text().splitlines()
    fields = manifest[1].split(",")
    fields[2] = "seven"  # the actor column
    (folder / "manifest.csv").write_text("\n".join([manifest[0], ",".join(fields), *manifest[2:]]) + "\n")
    with pytest.raises(UserError, match=r"unreadable or outdated files .*seven"):
        prepared_data.load_prepared(folder)
