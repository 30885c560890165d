"""``whistle suggest-train``: a plain function that the CLI wires up (``app.commands``)."""

from __future__ import annotations

from app.cli import run_in_session
from app.clock import Clock
from app.config import get_settings
from app.suggest.training import train


def suggest_train_command() -> str:
    limit = get_settings().suggest_training_tickets
    trained = run_in_session(lambda session: train(session=session, now=Clock().now(),
                                                   closed_limit=limit))
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in trained.examples.items())
    return (f"trained suggestion model {trained.version} for matrix version "
            f"{trained.matrix_version_id} from {counts}")
