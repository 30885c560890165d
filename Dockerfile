# Multi-stage: build the wheel (migrations ship inside it) and install it into a
# virtualenv, then copy only that virtualenv into a slim runtime image that runs as a
# non-root user. The one image serves both the API and the worker (docker-compose.yml).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml setup.py README.md ./
COPY app ./app
COPY migrations ./migrations
# The otel extra: tracing stays off until OTEL_EXPORTER_OTLP_ENDPOINT is set.
RUN /opt/venv/bin/pip install ".[otel]"

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    WHISTLE_ENV=production WHISTLE_ATTACHMENT_DIR=/data/attachments
RUN useradd --create-home --uid 10001 whistle && mkdir -p /data/attachments \
    && chown -R whistle /data
COPY --from=build /opt/venv /opt/venv
COPY deploy/docker-entrypoint.sh /usr/local/bin/whistle-entrypoint
WORKDIR /home/whistle
USER whistle
EXPOSE 8000
# Ready = the database answers and is at the code's migration head.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["whistle-entrypoint"]
# `whistle serve` applies migrations first, then runs uvicorn. SIGTERM: live streams are
# told `closed`, requests in flight get WHISTLE_SHUTDOWN_GRACE_SECONDS to finish.
CMD ["whistle", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
