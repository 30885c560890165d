"""Scoring a suggestion model on the labelled evaluation set (``tests/data/suggest_eval.tsv``):
top-1 and top-3 accuracy (a case may accept several items), per category, and how often a
confident suggestion is wrong. Used by the tests (the targets) and by
``bench/suggest_eval.py`` (the figures in bench/RESULTS.md)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.suggest.matrix_model import ItemText
from app.suggest.model import LinearScorer

ROOT = Path(__file__).resolve().parents[2]
EVALUATION_SET = ROOT / "tests" / "data" / "suggest_eval.tsv"
SHIPPED_MATRIX = ROOT / "app" / "matrix" / "data" / "matrix.csv"


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    accept: frozenset[str]
    split: str  # "tune" (settings were chosen on these) or "heldout" (scored)

    @property
    def category(self) -> str:
        return min(self.accept)[:2]


def load_cases(path: Path = EVALUATION_SET) -> list[Case]:
    with path.open(encoding="utf-8") as f:
        return [Case(r["text"], frozenset(r["accept"].split("|")), r["split"])
                for r in csv.DictReader(f, delimiter="\t")]


def shipped_items(path: Path = SHIPPED_MATRIX) -> list[ItemText]:
    """The shipped matrix's items as the model reads them."""
    def split(value: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in value.split("|") if part.strip())

    with path.open(encoding="utf-8-sig") as f:
        return [ItemText(r["code"], r["name"], r["description"], split(r["keywords"]),
                         split(r.get("synonyms", ""))) for r in csv.DictReader(f)]


@dataclass
class Tally:
    cases: int = 0
    top1: int = 0
    top3: int = 0
    confident: int = 0
    confident_wrong: int = 0

    def add(self, ranked: Sequence[str], accept: frozenset[str], confident: bool) -> None:
        self.cases += 1
        self.top1 += bool(ranked) and ranked[0] in accept
        self.top3 += bool(accept.intersection(ranked[:3]))
        if confident:
            self.confident += 1
            self.confident_wrong += ranked[0] not in accept

    def rate(self, part: int, whole: int | None = None) -> float:
        whole = self.cases if whole is None else whole
        return part / whole if whole else 0.0


@dataclass
class Report:
    overall: Tally = field(default_factory=Tally)
    by_category: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    @property
    def top1(self) -> float:
        return self.overall.rate(self.overall.top1)

    @property
    def top3(self) -> float:
        return self.overall.rate(self.overall.top3)

    @property
    def coverage(self) -> float:
        """Share of cases confident enough to route without a dispatcher."""
        return self.overall.rate(self.overall.confident)

    @property
    def confident_wrong(self) -> float:
        return self.overall.rate(self.overall.confident_wrong, self.overall.confident)


def evaluate(scorer: LinearScorer, cases: Iterable[Case], *, threshold: float) -> Report:
    report = Report()
    for case in cases:
        vector = scorer.vector(case.text)
        if vector.empty:
            ranked, confident = [], False
        else:
            probabilities = scorer.probabilities(vector)
            order = np.argsort(-probabilities)[:3]
            ranked = [scorer.item_codes[i] for i in order]
            confident = bool(probabilities[order[0]] >= threshold)
        for tally in (report.overall, report.by_category[case.category]):
            tally.add(ranked, case.accept, confident)
    return report
