"""The evaluation set and the targets on its held-out part: the model may not get worse
than what bench/RESULTS.md reports without a test failing."""

from __future__ import annotations

from app.config import Settings
from app.suggest.evaluation import evaluate
from app.suggest.matrix_model import matrix_scorer

THRESHOLD = Settings.model_fields["suggest_confidence"].default


def test_the_set_is_large_labelled_with_real_items_and_split(cases, items, demo_history):
    codes = {i.code for i in items}
    assert len(cases) >= 300
    assert all(c.accept <= codes for c in cases), "every accepted item is in the shipped matrix"
    assert {c.split for c in cases} == {"tune", "heldout"}
    assert sum(c.split == "heldout" for c in cases) >= 200
    assert sum(len(c.accept) > 1 for c in cases) >= 15, "hard cases with two plausible items"
    assert len({c.category for c in cases}) == 7
    trained_on = {p for i in items for p in i.phrases()} | {e.text for e in demo_history}
    assert not [c.text for c in cases if c.text in trained_on], "nothing scored is trained on"


def test_the_matrix_alone_meets_its_target_on_held_out_cases(cases, items):
    report = evaluate(matrix_scorer(items, version="m0-matrix"),
                      [c for c in cases if c.split == "heldout"], threshold=THRESHOLD)
    assert report.top3 >= 0.85
    assert report.confident_wrong <= 0.03


def test_after_training_on_the_demo_history_the_targets_are_met(cases, trained):
    report = evaluate(trained, [c for c in cases if c.split == "heldout"], threshold=THRESHOLD)
    assert report.top1 >= 0.85 and report.top3 >= 0.95
    assert report.confident_wrong <= 0.03
    assert report.coverage >= 0.5, "most posts should not need a dispatcher"
