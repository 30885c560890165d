"""What a suggestion knows besides the text: where the report is, and what its poster
recently reported — as a prior over the items, blended with the text model's scores.

The text model answers p(item | text). Context c (a grid, a poster's recent items) adds
evidence by Bayes' rule, with the text and the context taken as independent given the item:

    p(item | text, c)  ∝  p(item | text) · (p(item | c) / p(item)) ** CONTEXT_WEIGHT

- ``p(item)`` is the base rate: the share of each item among every ticket of the last
  ``CONTEXT_DAYS`` days (add-one smoothed, so a never-seen item is not impossible);
- ``p(item | c)`` is the context's own counts, smoothed towards the base rate with
  ``pseudo`` counts (a Dirichlet prior): a grid with 3 tickets moves the answer a little,
  one with 300 more; without history the ratio is 1 and nothing moves;
- ``CONTEXT_WEIGHT`` < 1 tempers the ratio, because the counts are not independent
  observations (a pothole reported five times is one pothole);
- ``FACTOR_RANGE`` bounds the factor: a busy grid's history is strong evidence of what it
  usually reports, not that nothing else happens there.

Context only re-weighs what the text says: a text the model cannot read still gets no
suggestion, and no context is exactly today's answer (``prior`` is None).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# The window of history the grid's counts and the base rates are taken from.
CONTEXT_DAYS = 180
# How many tickets' worth of base rate a context's counts are smoothed with.
GRID_PSEUDO_COUNT = 20.0
RECENT_PSEUDO_COUNT = 10.0
# The exponent of the likelihood ratio (1 would trust the counts as independent evidence).
CONTEXT_WEIGHT = 0.5
# How far context may move one item's score, at most (before the scores are normalised
# again): it breaks near-ties, it never overrules a clear reading of the text. A grid with
# years of litter reports still gets its first missing manhole cover routed at once.
FACTOR_RANGE = (0.25, 4.0)


@dataclass(frozen=True, slots=True)
class Context:
    """The counts of items in the report's grid (its recent tickets) and the items the
    poster recently reported (as the client sends them)."""

    grid_counts: Mapping[str, int] = field(default_factory=dict)
    recent_items: Sequence[str] = ()

    @property
    def empty(self) -> bool:
        return not any(self.grid_counts.values()) and not self.recent_items


def _ratio(codes: Sequence[str], base: np.ndarray, observed: Mapping[str, int],
           pseudo: float) -> np.ndarray | None:
    counts = np.fromiter((observed.get(c, 0) for c in codes), np.float64, len(codes))
    total = counts.sum()
    if total == 0:
        return None
    return (((counts + pseudo * base) / (total + pseudo)) / base) ** CONTEXT_WEIGHT


def prior(codes: Sequence[str], base_counts: Mapping[str, int],
          context: Context) -> np.ndarray | None:
    """The factor each item's text score is multiplied by (aligned with ``codes``), or None
    when the context says nothing."""
    if context.empty:
        return None
    base = np.fromiter((base_counts.get(c, 0) for c in codes), np.float64, len(codes)) + 1.0
    base /= base.sum()
    factor = np.ones(len(codes))
    for observed, pseudo in ((context.grid_counts, GRID_PSEUDO_COUNT),
                             (Counter(context.recent_items), RECENT_PSEUDO_COUNT)):
        ratio = _ratio(codes, base, observed, pseudo)
        if ratio is not None:
            factor *= ratio
    return np.clip(factor, *FACTOR_RANGE)


def blend(probabilities: np.ndarray, factor: np.ndarray | None) -> np.ndarray:
    if factor is None:
        return probabilities
    posterior = probabilities * factor
    return posterior / posterior.sum()
