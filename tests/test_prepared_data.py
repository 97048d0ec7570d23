"""ser.prepared_data: typed manifest rows, the format version checked on read, interrupted writes."""

import io
import json
import shutil

import numpy as np
import pytest

from conftest import rewrite_folder
from ser import atomic, corpus, prepared_data
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
    atomic.verify_folder(tmp_path, ("meta.json", "X_train.npy"), "")


def test_manifest_rows_are_typed_once_and_splits_concatenate_in_order(prepared_mini):
    prepared = prepared_data.load_prepared(prepared_mini)
    data, split = prepared.dataset(), prepared.split()
    assert all(isinstance(row.speaker, str) and isinstance(row.statement, int) for row in data.rows)
    assert data.X.shape == (122, 1934) and len(data.y) == len(data.rows) == 122
    for name in ("train", "val", "test"):
        index = getattr(split, name)
        assert [data.rows[i] for i in index] == prepared.rows[name]
        np.testing.assert_array_equal(data.X[index], prepared.X[name])
    assert data.speakers.tolist() == [row.speaker for row in data.rows] and prepared.labels == corpus.LABELS


def test_another_format_version_or_a_bad_row_is_refused_with_the_way_out(prepared_mini, tmp_path):
    folder = tmp_path / "processed"
    shutil.copytree(prepared_mini, folder)
    meta = json.loads((folder / "meta.json").read_text())
    newer = meta | {"format_version": prepared_data.FORMAT_VERSION + 1}
    rewrite_folder(folder, {"meta.json": json.dumps(newer).encode()})
    with pytest.raises(UserError, match=r"format version 3, this code reads version 2; run data_preparation.py"):
        prepared_data.load_prepared(folder)
    rewrite_folder(folder, {"meta.json": json.dumps(meta).encode()})
    manifest = (folder / "manifest.csv").read_text().splitlines()
    fields = manifest[1].split(",")
    fields[7] = "seven"  # the statement column
    rewrite_folder(folder, {"manifest.csv": "\n".join([manifest[0], ",".join(fields), *manifest[2:]]).encode()})
    with pytest.raises(UserError, match=r"unreadable or outdated files .*seven"):
        prepared_data.load_prepared(folder)
    renamed = "\n".join([manifest[0].replace("speaker", "talker"), *manifest[1:]])
    rewrite_folder(folder, {"manifest.csv": renamed.encode()})
    with pytest.raises(UserError, match=r"manifest.csv lacks the column\(s\) speaker; run data_preparation.py"):
        prepared_data.load_prepared(folder)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_features_and_labels_off_the_list_are_refused_naming_the_row(prepared_mini, tmp_path, bad):
    folder = tmp_path / "processed"
    shutil.copytree(prepared_mini, folder)
    prepared = prepared_data.load_prepared(folder)
    X = prepared.X["train"].copy()
    X[5, 17] = bad
    rewrite_folder(folder, {"X_train.npy": npy(X)})
    with pytest.raises(UserError, match=rf"X_train.npy row 5 \({prepared.rows['train'][5].path}\) holds NaN or "
                                        rf"infinite features \(1 rows in all\); run data_preparation.py"):
        prepared_data.load_prepared(folder)
    y = prepared.y["val"].copy()
    y[3] = 8
    rewrite_folder(folder, {"X_train.npy": npy(prepared.X["train"]), "y_val.npy": npy(y)})
    with pytest.raises(UserError, match=r"y_val.npy row 3 .* has label 8, outside 0-7"):
        prepared_data.load_prepared(folder)


def test_a_folder_left_half_renamed_is_refused_and_not_reused(prepared_mini, tmp_path):
    folder = tmp_path / "processed"
    shutil.copytree(prepared_mini, folder)
    fingerprint = json.loads((folder / "meta.json").read_text())["fingerprint"]
    assert prepared_data.is_up_to_date(folder, fingerprint)
    (folder / "X_test.npy").write_bytes(npy(np.zeros((30, 1934), np.float32)))  # a newer run's array, same shape
    assert not prepared_data.is_up_to_date(folder, fingerprint)
    with pytest.raises(UserError, match="X_test.npy is not the file complete.json vouches for"):
        prepared_data.load_prepared(folder)
