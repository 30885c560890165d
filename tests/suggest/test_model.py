"""The served scorer: the same probabilities as the scikit-learn model it was exported
from, stored and loaded whole, small and quick to load."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from app.suggest.features import grams
from app.suggest.fitting import fit
from app.suggest.matrix_model import ItemText, matrix_scorer
from app.suggest.model import LinearScorer

TEXTS = ["人行道上井盖没了", "楼上天天半夜吵", "KTV有未成年人", "路灯不亮还有井盖破了", "🙂"]


def test_features_are_char_ngrams_of_chinese_runs_and_latin_words():
    assert grams("井盖，ＫＴＶ a1") == ["井", "盖", "井盖", "ktv", "a1"]
    assert grams("x" * 10_000 + "井盖") == ["x" * 4000]  # cut at MAX_CHARS before reading


def test_the_served_scorer_agrees_with_scikit_learn(items, demo_history, trained):
    vectorizer, classifier = fit(items, demo_history)
    columns = [list(classifier.classes_).index(code) for code in trained.item_codes]
    for text in TEXTS[:-1]:
        expected = classifier.predict_proba(vectorizer.transform([text]))[0][columns]
        served = trained.probabilities(trained.vector(text))
        np.testing.assert_allclose(served, expected, atol=1e-4)


def test_a_model_round_trips_through_its_bytes_quickly_and_small(trained):
    data = trained.to_bytes()
    tracemalloc.start()
    started = time.perf_counter()
    loaded = LinearScorer.from_bytes(data)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 1.0 and peak < 50 * 2**20
    assert loaded.version == trained.version and loaded.item_codes == trained.item_codes
    for text in TEXTS[:-1]:
        np.testing.assert_array_equal(loaded.probabilities(loaded.vector(text)),
                                      trained.probabilities(trained.vector(text)))


def test_the_matrix_model_learns_each_items_words_and_names_them():
    scorer = matrix_scorer([ItemText("0219", "井盖缺失", synonyms=("井盖没了",)),
                            ItemText("0221", "路灯不亮", synonyms=("路灯坏了",))], version="v")
    vector = scorer.vector("小区井盖没了")
    probabilities = scorer.probabilities(vector)
    assert probabilities.argmax() == 0 and abs(probabilities.sum() - 1) < 1e-6
    assert scorer.drivers(vector, 0) == ["井盖没了"] or "井盖" in scorer.drivers(vector, 0)[0]
    assert scorer.vector("🙂 hello").empty
