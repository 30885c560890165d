"""``whistle suggest-train`` (registered by ``app.cli.registry``)."""

from __future__ import annotations

import typer

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


def suggest_train() -> None:
    """Rebuild the suggestion model (智能分拨) for the current matrix version from the
    matrix's words, closed tickets and dispatchers' corrections; every process serves it."""
    typer.echo(suggest_train_command())
