"""create_app(): settings, engine, routers, error handlers, lifespan. Nothing else."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import health
from app.auth.revocations import EndedSessions
from app.clock import Clock
from app.compression import CompressLarge
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.docs import install_docs
from app.errors import document_problems, install_error_handlers
from app.jurisdiction.geo import JurisdictionCache
from app.live import start_broker, stop_broker
from app.matrix.cache import MatrixCache
from app.observability import metrics, shutdown, tracing
from app.observability.requests import RequestObserver
from app.observability.router import router as metrics_router
from app.open311.router import install_error_handlers as install_open311_error_handlers
from app.open311.router import router as open311_router
from app.openapi_links import document_links
from app.request_guard import guard_routes
from app.routers import API_ROUTERS
from app.suggest.cache import Suggester
from app.tickets.lookups import Lookups
from app.web.router import router as web_router
from app.workflow.pipeline import workflow_sessions

DESCRIPTION = """\
Whistle dispatches grid-governance cases (网格事件): grid workers post issues per grid
cell, the matrix (事项清单) routes each to the right queue, departments claim and work
them, an SLA clock escalates what is late, and the street blows the whistle (吹哨) to
summon departments, who report in (报到).

Every error is an RFC 9457 `application/problem+json` body naming what is wrong and
where (`errors[].loc`).
"""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               tracer_provider: object | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url, echo=settings.sql_echo,
                         pre_ping=settings.database_pre_ping,
                         pool_size=settings.database_pool_size,
                         max_overflow=settings.database_max_overflow,
                         connect_timeout=settings.database_connect_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        metrics.forget_dead_processes()  # under --workers N: a replaced worker's gauges
        # The live-queue broker: LISTEN/NOTIFY on PostgreSQL, in-process on SQLite.
        await start_broker(app)
        # On SIGTERM live streams end at once, before uvicorn waits for responses to finish.
        uninstall_shutdown_hook = shutdown.install(app)
        try:
            yield
        finally:
            uninstall_shutdown_hook()
            await stop_broker(app)
            await engine.dispose()
            metrics.forget_process(os.getpid())

    app = FastAPI(
        title="Whistle",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served from local assets by install_docs
    )
    app.state.settings = settings
    app.state.clock = clock or Clock()
    app.state.engine = engine
    app.state.sessions = workflow_sessions(engine, settings)
    # Autocommit sessions for the endpoints that only read (app.deps.READ_ONLY_OPERATIONS).
    app.state.read_sessions = (
        make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
        if engine.dialect.name == "postgresql" else None)
    app.state.jurisdictions = JurisdictionCache(check_seconds=settings.cache_check_seconds)
    app.state.matrix_cache = MatrixCache(check_seconds=settings.cache_check_seconds)
    app.state.suggester = Suggester(check_seconds=settings.cache_check_seconds,
                                    confidence=settings.suggest_confidence)
    app.state.lookups = Lookups(app.state.jurisdictions, app.state.matrix_cache,
                                app.state.suggester)
    app.state.ended_sessions = EndedSessions(
        check_seconds=settings.session_check_seconds,
        access_token_minutes=settings.access_token_minutes)
    install_error_handlers(app)
    install_open311_error_handlers(app)  # Open311's routes answer in the spec's format
    install_docs(app)
    app.add_middleware(CompressLarge)  # gzip for big bodies when asked; never SSE streams
    app.add_middleware(RequestObserver)  # request ids, the request log line, HTTP metrics
    metrics.watch_pool(engine, capacity=settings.database_pool_size + settings.database_max_overflow)
    tracing.instrument_app(app, engine, tracer_provider)  # only when asked for
    app.include_router(health.router)
    app.include_router(metrics_router)
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    app.include_router(open311_router)  # /open311/v2: the GeoReport v2 specification's paths
    guard_routes(app)  # authentication before the body; only storable text
    document_problems(app)  # the document says what every operation answers
    document_links(app)  # and where each operation's identifiers come from
    app.include_router(web_router)  # / and /app/: the web app (app/web/static, built from web/)
    return app
