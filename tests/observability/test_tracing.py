"""Tracing: with a tracer provider (OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; an
in-memory exporter here), spans for HTTP requests, SQL statements and worker passes;
without one, OpenTelemetry is not even imported."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from app.main import create_app
from app.sla.commands import run_worker

pytest.importorskip("opentelemetry.sdk")


@pytest.fixture
def exporter():
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider, memory
    SQLAlchemyInstrumentor().uninstrument()


async def test_requests_and_their_sql_are_spans(exporter, settings, clock, token_for):
    provider, memory = exporter
    app = create_app(settings, clock=clock, tracer_provider=provider)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            r = await client.get("/api/v1/departments/CGZF", headers=token_for("admin"))
            assert r.status_code == 200
    finally:
        await app.state.engine.dispose()
    spans = memory.get_finished_spans()
    http = [s for s in spans if s.kind.name == "SERVER"]
    assert http and http[-1].attributes.get("http.status_code", 200) == 200
    sql = [s for s in spans if s.attributes.get("db.system")]
    assert sql, [s.name for s in spans]
    # The statements ran inside the request's span.
    assert {s.context.trace_id for s in sql} & {s.context.trace_id for s in http}


async def test_a_worker_pass_is_a_span(exporter, settings, clock):
    provider, memory = exporter
    await run_worker(settings=settings, clock=clock, passes=1, echo=lambda _: None,
                     tracer_provider=provider)
    assert "worker.pass" in [s.name for s in memory.get_finished_spans()]


def test_without_an_endpoint_opentelemetry_is_not_imported(tmp_path):
    code = ("import sys; from app.config import Settings; from app.main import create_app; "
            f"create_app(Settings(database_url='sqlite+aiosqlite:///{tmp_path}/x.db')); "
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))")
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    assert out.stdout.strip() == "[]"
