"""OpenTelemetry traces, when asked for: with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set (and
the ``otel`` extra installed), spans for every HTTP request, every SQL statement and every
worker pass go to that collector over OTLP/HTTP; the exporter reads the other standard
``OTEL_*`` variables itself (headers, ``OTEL_SERVICE_NAME``, sampling …). Unset, nothing
of OpenTelemetry is imported and no request pays for it."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from typing import Any

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


def wanted() -> bool:
    return bool(os.environ.get(ENDPOINT_ENV))


def otlp_provider() -> Any:
    """A tracer provider exporting in batches to the configured OTLP endpoint."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "whistle")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument_app(app: Any, engine: Any, provider: Any = None) -> None:
    """Spans for ``app``'s requests and ``engine``'s statements: with ``provider`` (tests
    hand in one with an in-memory exporter), or the OTLP one when the endpoint is set."""
    if provider is None:
        if not wanted():
            return
        provider = otlp_provider()
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider)
    instrument_engine(engine, provider)
    app.state.tracer_provider = provider


def instrument_engine(engine: Any, provider: Any) -> None:
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # Its declared range stops below SQLAlchemy 2.1, but it only hooks the engine's
    # cursor events, which 2.1 keeps (the tracing tests check the spans come).
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, tracer_provider=provider,
                                        enable_commenter=False, skip_dep_check=True)


def worker_tracer(provider: Any = None) -> Any:
    """The worker's tracer, or None when tracing is off."""
    if provider is None:
        if not wanted():
            return None
        provider = otlp_provider()
    return provider.get_tracer("whistle.worker")


def pass_span(tracer: Any) -> AbstractContextManager[Any]:
    """A span around one worker pass (nothing when tracing is off)."""
    return tracer.start_as_current_span("worker.pass") if tracer is not None else nullcontext()
