# Multi-stage: build a wheel-complete virtualenv, then copy it into a slim runtime image
# that runs as a non-root user, applies migrations, and serves with uvicorn.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    WHISTLE_ENV=production WHISTLE_ATTACHMENT_DIR=/data/attachments
RUN useradd --create-home --uid 10001 whistle && mkdir -p /data/attachments \
    && chown -R whistle /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/whistle
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
USER whistle
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# `whistle serve` applies migrations first, then runs uvicorn.
CMD ["whistle", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
