from __future__ import annotations

import pytest

from app.demo.history import report_texts
from app.suggest.evaluation import load_cases, shipped_items
from app.suggest.fitting import Example


@pytest.fixture(scope="session")
def items():
    return shipped_items()


@pytest.fixture(scope="session")
def cases():
    return load_cases()


@pytest.fixture(scope="session")
def demo_history():
    """What the demo's historical tickets say, one example per phrase (the seeder picks
    among these for its tickets' descriptions)."""
    return [Example(text, code) for code, texts in report_texts().items() for text in texts]


@pytest.fixture(scope="session")
def trained(items, demo_history):
    from app.suggest.fitting import fit_scorer

    return fit_scorer(items, demo_history, version="m0-test")
