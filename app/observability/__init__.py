"""Running Whistle in production: what an operator watches and how the processes end.

    logs.py        log lines (JSON in production, console in development), secrets redacted
    requests.py    the ASGI middleware: request ids, the per-request log line and metrics
    metrics.py     the process's Prometheus metrics (multiprocess-safe) and ``GET /metrics``
    figures.py     the service's own figures (backlogs, overdue, queues), read at scrape time
    heartbeat.py   the worker's heartbeat: one row per worker process, its last pass
    models.py      the heartbeat table
    tracing.py     OpenTelemetry, only when OTEL_EXPORTER_OTLP_ENDPOINT is set
    shutdown.py    SIGTERM: uvicorn's server closes the live streams before it drains
"""
