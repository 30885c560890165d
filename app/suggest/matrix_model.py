"""The model a matrix version has before any training: each item's own words.

An item is described by its name, description, keywords and synonyms (the matrix CSV's
``synonyms`` column: how people actually say it). Each item's column of weights is the
l2-normalised tf-idf vector of those phrases together, so a text scores by its cosine
similarity to every item (a nearest-centroid classifier, linear like the trained one and
served by the same ``LinearScorer``). Built with numpy alone, in milliseconds: any process
can build it the moment a new matrix version appears, before ``whistle suggest-train``
has run for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.suggest.features import grams
from app.suggest.model import LinearScorer

# Cosine similarities lie in [0, 1]; this spreads them before the softmax so that a
# clear match reads as a high probability (chosen on the tune split, bench/RESULTS.md).
MATRIX_SCALE = 18.0


@dataclass(frozen=True, slots=True)
class ItemText:
    """What the model reads of one matrix item."""

    code: str
    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()

    def phrases(self) -> list[str]:
        return [p for p in (self.name, self.description, *self.keywords, *self.synonyms) if p]


def matrix_version_label(matrix_version_id: int) -> str:
    return f"m{matrix_version_id}-matrix"


def smooth_idf(document_frequency: np.ndarray, documents: int) -> np.ndarray:
    """scikit-learn's smoothed idf, so both kinds of model weigh features alike."""
    return (np.log((1 + documents) / (1 + document_frequency)) + 1).astype(np.float32)


def matrix_scorer(items: Sequence[ItemText], *, version: str) -> LinearScorer:
    counts = [Counter(g for phrase in item.phrases() for g in grams(phrase)) for item in items]
    vocabulary: dict[str, int] = {}
    for item_counts in counts:
        for feature in item_counts:
            vocabulary.setdefault(feature, len(vocabulary))
    document_frequency = np.zeros(len(vocabulary), np.float32)
    for item_counts in counts:
        document_frequency[[vocabulary[f] for f in item_counts]] += 1
    idf = smooth_idf(document_frequency, len(items))
    weights = np.zeros((len(vocabulary), len(items)), np.float32)
    for column, item_counts in enumerate(counts):
        rows = np.fromiter((vocabulary[f] for f in item_counts), np.int32, len(item_counts))
        tf = 1.0 + np.log(np.fromiter(item_counts.values(), np.float32, len(item_counts)))
        values = tf * idf[rows]
        weights[rows, column] = values / np.linalg.norm(values)
    return LinearScorer(version=version, item_codes=tuple(i.code for i in items),
                        vocabulary=vocabulary, idf=idf, weights=weights,
                        bias=np.zeros(len(items), np.float32), scale=MATRIX_SCALE)
