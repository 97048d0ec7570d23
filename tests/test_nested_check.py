"""bench/nested_check.py: the selection splits never touch a fold's test actors."""

import importlib.util

import numpy as np
import pytest

from conftest import ROOT
from ser.errors import UserError

spec = importlib.util.spec_from_file_location("nested_check", ROOT / "bench" / "nested_check.py")
nested_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nested_check)


def rows_of(actors: range, files_per_actor: int = 3) -> np.ndarray:
    """The actor of each file, files_per_actor files each."""
    return np.repeat(np.array(actors), files_per_actor)


def sexes(actors: np.ndarray) -> np.ndarray:
    return np.where(actors % 2, "male", "female")


def test_selection_splits_hold_out_non_test_actors_of_each_sex():
    actor = rows_of(range(1, 25))
    splits = nested_check.selection_splits(actor.astype(str), sexes(actor), 6, 2, 2, np.random.default_rng(0))
    assert [[int(a) for a in test] for test, _ in splits] == [list(range(k, k + 4)) for k in range(1, 25, 4)]
    for test_actors, split in splits:
        parts = [set(actor[split.train]), set(actor[split.val]), set(actor[split.test])]
        test_actors = {int(a) for a in test_actors}
        assert not test_actors & set.union(*parts), "a fold's test actors took part"
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert len(parts[0]) == 12 and set.union(*parts) == set(range(1, 25)) - test_actors
        for part in parts[1:]:
            assert sorted(a % 2 for a in part) == [0, 0, 1, 1]  # 2 female, 2 male
        assert len(split.test) == 4 * 3  # every file of the held-out actors


def test_selection_splits_draw_with_the_generator():
    rows = rows_of(range(1, 25))
    held = lambda seed: [sorted(s.test) for _, s in nested_check.selection_splits(  # noqa: E731
        rows.astype(str), sexes(rows), rng=np.random.default_rng(seed))]
    assert held(1) == held(1) and held(1) != held(2)


def test_selection_splits_refuse_too_few_actors():
    with pytest.raises(UserError, match="too few"):
        rows = rows_of(range(1, 9))
        nested_check.selection_splits(rows.astype(str), sexes(rows), 2, 2, 2, np.random.default_rng(0))
