"""The container's files: secrets come from files or the environment, never the compose
file; the image is built once; every service restarts. (No container runtime runs on the
CI machines, so the image itself is not built here: see README, Deployment.)"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from app.main import create_app

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"


def run_entrypoint(secrets: Path, **env: str) -> dict[str, str]:
    out = subprocess.run(["sh", str(ENTRYPOINT), "env"], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin",
                                          "WHISTLE_SECRETS_DIR": str(secrets), **env})
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def test_secret_files_become_settings_unless_the_environment_sets_them(tmp_path):
    (tmp_path / "whistle_secret_key").write_text("from-a-file-0123456789")
    (tmp_path / "whistle_database_url").write_text("postgresql+asyncpg://w:pw@db/w\n")
    (tmp_path / "other").write_text("not ours")
    env = run_entrypoint(tmp_path)
    assert env["WHISTLE_SECRET_KEY"] == "from-a-file-0123456789"
    assert env["WHISTLE_DATABASE_URL"] == "postgresql+asyncpg://w:pw@db/w"
    assert "OTHER" not in env
    assert run_entrypoint(tmp_path, WHISTLE_SECRET_KEY="from-env")["WHISTLE_SECRET_KEY"] \
        == "from-env"


def test_the_compose_file_has_no_password_restarts_and_builds_one_image():
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"(?i)password\s*:\s*(?!\s*$)[^/\s{]", text.replace(
        "POSTGRES_PASSWORD_FILE", "")), "a literal password"
    assert "whistle:whistle@" not in text
    assert text.count("build:") == 1
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load(text)["services"]
    assert all(s.get("restart") == "unless-stopped" for s in services.values())
    assert "healthcheck" in services["worker"] and services["worker"]["image"] \
        == services["api"]["image"]


async def test_the_alert_rules_and_dashboard_read_metrics_the_service_exports(
        settings, sessions, clock, engine):
    from sqlalchemy import delete

    from app.db import unit_of_work
    from app.observability.models import WorkerHeartbeat
    from app.observability.repository import record_heartbeat

    async with unit_of_work(sessions) as session:  # the worker figures need a heartbeat
        await record_heartbeat(session, worker="deploy-test:1", started_at=clock.now(),
                               now=clock.now(), pass_seconds=0.1, figures={})
    app = create_app(settings.model_copy(update={"metrics_cache_seconds": 0}), clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            await client.get("/healthz")  # one request, so that the HTTP series exist
            text = (await client.get("/metrics")).text
        exported = set(re.findall(r"whistle_[a-z_]+", text))
    finally:
        await app.state.engine.dispose()
        async with unit_of_work(sessions) as session:
            await session.execute(delete(WorkerHeartbeat))
    rules = (ROOT / "deploy" / "prometheus" / "whistle-alerts.yml").read_text()
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "whistle-dashboard.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    used = set(re.findall(r"whistle_[a-z_]+", rules + exprs))
    assert used and used <= exported, used - exported
    for alert in ("WhistleWorkerStalled", "WhistleOutboxGrowing", "WhistleOverdueRising"):
        assert f"alert: {alert}" in rules
