"""ser.metrics: figures of any label set, per speaker and per corpus, and of a manifest's labels against a model's."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from ser import metrics
from ser.prepared_data import ManifestRow


def row(corpus: str, speaker: str, gender: str = "", intensity: str = "") -> ManifestRow:
    return ManifestRow(f"/{corpus}/{speaker}.wav", "test", corpus, speaker, gender, "x", intensity, None, None)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_balanced_accuracy_is_sklearns_over_the_classes_the_truth_holds():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 5, 200), rng.integers(0, 6, 200)  # class 5 only predicted
    assert metrics.balanced_accuracy(y_true, y_pred) == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_pooled_test_files_are_scored_per_corpus_and_per_qualified_speaker():
    rows = [row("a", "1", "male"), row("a", "1", "male"), row("b", "1", "female"), row("b", "2", "female")]
    y_true = np.array([0, 1, 0, 2])
    probabilities = np.eye(3)[[0, 0, 0, 2]]  # the second file wrong
    figures = metrics.evaluate(y_true, probabilities, rows, ("happy", "sad", "bored"))
    assert figures["test_speakers"] == ["a:1", "b:1", "b:2"]
    assert figures["accuracy_by_speaker"] == {"a:1": 0.5, "b:1": 1.0, "b:2": 1.0}
    assert figures["accuracy_by_gender"] == {"female": 1.0, "male": 0.5}
    assert "accuracy_by_intensity" not in figures  # no corpus here says it
    assert figures["by_corpus"] == {"a": {"files": 2, "accuracy": 0.5, "balanced_accuracy": 0.5},
                                    "b": {"files": 2, "accuracy": 1.0, "balanced_accuracy": 1.0}}
    assert figures["balanced_accuracy"] == pytest.approx(2 / 3)  # recall happy 1, sad 0, bored 1
    one = metrics.evaluate(y_true[:2], probabilities[:2], rows[:2], ("happy", "sad", "bored"))
    assert "by_corpus" not in one and one["test_speakers"] == ["1"]


def test_labelled_figures_score_the_shared_labels_and_count_the_unknown_ones():
    truths = ["happy", "happy", "sad", "bored", "bored", "amused"]
    predicted = ["happy", "sad", "sad", "happy", "sad", "sad"]
    figures = metrics.labelled_figures(truths, predicted, ("happy", "sad", "angry"))
    assert figures["n_files"] == 6 and figures["n_scored"] == 3
    assert figures["unknown_labels"] == {"amused": 1, "bored": 2}
    assert figures["per_class"] == {"happy": {"recall": 0.5, "support": 2}, "sad": {"recall": 1.0, "support": 1}}
    assert figures["balanced_accuracy"] == 0.75 and figures["accuracy"] == pytest.approx(2 / 3)
    assert figures["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    none = metrics.labelled_figures(["bored"], ["sad"], ("happy", "sad"))
    assert none["balanced_accuracy"] is None and none["accuracy"] is None and none["unknown_labels"] == {"bored": 1}


def test_compact_names_a_run_of_actors_by_its_ends():
    assert metrics.compact(["1", "2", "3", "4"]) == "1-4"
    assert metrics.compact(["7"]) == "7"
    assert metrics.compact(["1", "3"]) == "1,3"
    assert metrics.compact(["anna", "bob", "carl", "dora", "emil"], width=12) == "anna,bob,..."
