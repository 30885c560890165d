"""Fitting the trained model with scikit-learn (only ``whistle suggest-train`` imports
this module: the API process serves the result with numpy alone).

Examples are the matrix's own phrases (every item has some, so every item is a class) and
history: the final item of every closed ticket, and the dispatchers' corrections, weighted
most. A multinomial logistic regression over tf-idf character n-grams: its probabilities
are what the confidence threshold reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.suggest.features import grams
from app.suggest.matrix_model import ItemText
from app.suggest.model import LinearScorer

# Inverse regularisation strength, chosen on the tune split (bench/RESULTS.md).
REGULARISATION_C = 20.0


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    item_code: str
    weight: float = 1.0


def fit(items: Sequence[ItemText], history: Sequence[Example], *, c: float = REGULARISATION_C,
        analyzer=grams):
    """The fitted scikit-learn (vectorizer, classifier) for the items and the history
    (``analyzer``: another feature extractor, for the benchmark's comparisons only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    known = {item.code for item in items}
    examples = [Example(phrase, item.code) for item in items for phrase in item.phrases()]
    examples += [e for e in history if e.item_code in known]  # items of older versions drop
    vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, dtype=np.float32)
    features = vectorizer.fit_transform([e.text for e in examples])
    classifier = LogisticRegression(C=c, max_iter=3000)
    classifier.fit(features, [e.item_code for e in examples],
                   sample_weight=[e.weight for e in examples])
    return vectorizer, classifier


def fit_scorer(items: Sequence[ItemText], history: Sequence[Example], *, version: str,
               c: float = REGULARISATION_C) -> LinearScorer:
    vectorizer, classifier = fit(items, history, c=c)
    codes = [item.code for item in items]
    column = {code: k for k, code in enumerate(classifier.classes_)}
    order = [column[code] for code in codes]  # columns in the matrix's item order
    return LinearScorer(
        version=version, item_codes=tuple(codes),
        vocabulary={f: int(i) for f, i in vectorizer.vocabulary_.items()},
        idf=vectorizer.idf_.astype(np.float32),
        weights=np.ascontiguousarray(classifier.coef_[order].T, dtype=np.float32),
        bias=classifier.intercept_[order].astype(np.float32))
