"""A linear scorer over the features of ``app.suggest.features``, as served.

Training (``app.suggest.train``) fits the weights with scikit-learn; serving needs only
numpy: the vocabulary, the idf of each feature, one weight column per matrix item and a
bias. A text becomes a sparse tf-idf vector (sublinear tf, l2-normalised, exactly as
scikit-learn's ``TfidfVectorizer`` makes it) and its item scores are a softmax of the
linear scores — a few dozen rows of the weight matrix summed, microseconds per text.
Keeping scikit-learn out of the API process keeps it small: importing it costs seconds
and ~100 MB, the model itself a few MB.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from app.suggest.features import grams


@dataclass(frozen=True, slots=True)
class TextVector:
    indices: np.ndarray  # feature indices, int32
    values: np.ndarray  # tf-idf values, l2-normalised, float32

    @property
    def empty(self) -> bool:
        return self.indices.size == 0


@dataclass(frozen=True)
class LinearScorer:
    version: str
    item_codes: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: np.ndarray  # (features,) float32
    weights: np.ndarray  # (features, items) float32
    bias: np.ndarray  # (items,) float32
    scale: float = 1.0  # softmax temperature applied to the linear scores
    # The feature of each index, to name the words that drove a suggestion.
    _features: list[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_features",
                           sorted(self.vocabulary, key=self.vocabulary.__getitem__))

    def vector(self, text: str) -> TextVector:
        counts = Counter(i for g in grams(text) if (i := self.vocabulary.get(g)) is not None)
        if not counts:
            return TextVector(np.empty(0, np.int32), np.empty(0, np.float32))
        indices = np.fromiter(counts, np.int32, len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), np.float32, len(counts)))
        values = (tf * self.idf[indices]).astype(np.float32)
        values /= np.linalg.norm(values)
        return TextVector(indices, values)

    def probabilities(self, vector: TextVector) -> np.ndarray:
        raw = self.bias + vector.values @ self.weights[vector.indices]
        raw = self.scale * (raw - raw.max())
        exp = np.exp(raw)
        return exp / exp.sum()

    def drivers(self, vector: TextVector, item_index: int, limit: int = 3) -> list[str]:
        """The features that added most to one item's score, longest first on ties, without
        a feature that is part of a stronger one (井盖 says what 井 would)."""
        contributions = vector.values * self.weights[vector.indices, item_index]
        order = np.argsort(-contributions)
        chosen: list[str] = []
        for k in order:
            if contributions[k] <= 0 or len(chosen) == limit:
                break
            feature = self._features[vector.indices[k]]
            if any(feature in c for c in chosen):
                continue
            chosen = [c for c in chosen if c not in feature] + [feature]
        return chosen

    # --- storage ----------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        header = {"version": self.version, "item_codes": list(self.item_codes),
                  "features": self._features, "scale": self.scale}
        np.savez_compressed(buffer, header=np.frombuffer(json.dumps(header).encode(), np.uint8),
                            idf=self.idf, weights=self.weights, bias=self.bias)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LinearScorer:
        with np.load(io.BytesIO(data)) as arrays:
            header = json.loads(arrays["header"].tobytes())
            features = header["features"]
            return cls(version=header["version"], item_codes=tuple(header["item_codes"]),
                       vocabulary={f: i for i, f in enumerate(features)},
                       idf=arrays["idf"], weights=arrays["weights"], bias=arrays["bias"],
                       scale=float(header["scale"]))
