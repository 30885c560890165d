"""One after-event pipeline, in one order, for every process."""

from __future__ import annotations

import pytest

from app.db import make_engine, make_sessionmaker
from app.sla.sweep import SweepReport
from app.tickets.events import PIPELINE_KEY, record_event
from app.workflow.pipeline import build_pipeline

ORDER = ("deadlines", "report_facts", "outbox", "notifications", "live")


def pipeline_of_factory(factory):
    return factory.kw["info"][PIPELINE_KEY]


def test_the_pipeline_runs_in_the_documented_order(settings):
    pipeline = build_pipeline(settings)
    assert pipeline.names == ORDER
    assert [s.name for s in pipeline.delivery] == ["outbox", "notifications", "live"]


def test_the_api_the_worker_and_the_cli_run_the_same_steps(app, settings, monkeypatch):
    from app.workflow.pipeline import workflow_sessions

    built = []

    def spy(engine, settings):
        factory = workflow_sessions(engine, settings)
        built.append(pipeline_of_factory(factory).names)
        return factory

    # The worker and the CLI build their session factories through the one function.
    monkeypatch.setattr("app.sla.commands.workflow_sessions", spy)
    monkeypatch.setattr("app.workflow.pipeline.workflow_sessions", spy)
    monkeypatch.setattr("app.sla.commands.get_settings", lambda: settings)
    monkeypatch.setattr("app.cli.get_settings", lambda: settings)

    async def no_sweep(**_kwargs):  # which factory it gets is the point, not the sweep
        return SweepReport()

    monkeypatch.setattr("app.sla.commands.sweep_once", no_sweep)
    from app.cli import run_in_session
    from app.sla.commands import sweep_command

    sweep_command(once=True)
    run_in_session(lambda session: _noop())
    api = pipeline_of_factory(app.state.sessions).names
    assert built == [ORDER, ORDER]
    assert api == ORDER


async def _noop() -> None:
    return None


async def test_a_session_without_a_pipeline_cannot_write_events(settings, clock):
    engine = make_engine(settings.database_url)
    try:
        with pytest.raises(RuntimeError, match="no after-event pipeline"):
            async with make_sessionmaker(engine)() as session, session.begin():
                await record_event(session, ticket_id=1, kind="note", actor=None,
                                   at=clock.now())
    finally:
        await engine.dispose()
