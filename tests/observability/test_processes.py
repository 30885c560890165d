"""SIGTERM, heartbeats and logs of real ``whistle serve`` and ``whistle worker``
processes (SQLite in a temporary folder; what is tested here does not depend on the
database)."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.observability.processes import (
    PASSWORD,
    Process,
    clean_env,
    free_port,
    load_street,
    token,
    wait_ready,
)

WHISTLE = Path(sys.executable).parent / "whistle"
PORT = free_port()


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("processes")
    env = clean_env(f"sqlite+aiosqlite:///{folder / 'whistle.db'}", WHISTLE_LOG_FORMAT="json")
    load_street(WHISTLE, env=env, cwd=folder)
    return folder, env


@pytest.fixture
def server(street):
    folder, env = street
    process = Process([str(WHISTLE), "serve", "--port", str(PORT)], env=env, cwd=folder,
                      log=folder / "serve.log")
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait_ready(base, process)
        yield base, process
    finally:
        process.stop()


def _json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_sigterm_closes_live_streams_and_lets_requests_in_flight_finish(server):
    base, process = server
    lead = token(base, "ops_lead")
    ticket = httpx.post(f"{base}/api/v1/departments/CGZF/queue/stream-ticket",
                        headers={"Authorization": f"Bearer {lead}"}).json()["ticket"]
    body = f"username=ops_lead&password={PASSWORD}".encode()
    with httpx.Client(base_url=base, timeout=30) as client, \
            client.stream("GET", "/api/v1/departments/CGZF/queue/stream",
                          params={"ticket": ticket}) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        # A login in flight: its headers and half its body are in when the signal comes.
        inflight = socket.create_connection(("127.0.0.1", PORT), timeout=30)
        inflight.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
                         + body[:10])
        time.sleep(0.3)
        signalled = time.monotonic()
        process.terminate()
        rest = "\n".join(lines)  # ends when the server ends the stream
        closed_after = time.monotonic() - signalled
    assert "event: closed" in rest and "shutting down" in rest
    assert closed_after < 3, f"the stream took {closed_after:.1f}s to close"

    inflight.sendall(body[10:])
    answer = inflight.recv(65536).decode()
    inflight.close()
    assert answer.startswith("HTTP/1.1 200"), answer
    assert process.wait(15) == 0, process.output()

    # No new connection is taken once the server has gone.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/healthz", timeout=2)
    # The stream ticket (in the stream's query) never reached a log line.
    assert ticket not in process.output()


def test_request_log_lines_are_json_with_request_id_actor_and_route(server):
    base, process = server
    lead = token(base, "ops_lead")
    r = httpx.get(f"{base}/api/v1/departments/CGZF/queue?token=s3cr3t-in-query",
                  headers={"Authorization": f"Bearer {lead}", "X-Request-ID": "abc-123"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc-123"
    made = httpx.get(f"{base}/healthz").headers["x-request-id"]
    assert len(made) == 32
    time.sleep(0.3)
    lines = _json_lines(process.output())
    queue = [line for line in lines if line.get("request_id") == "abc-123"]
    assert queue, process.output()
    line = queue[-1]
    assert line["event"] == "request" and line["route"] == "/api/v1/departments/{code}/queue"
    assert line["status"] == 200 and line["role"] == "department_lead"
    assert isinstance(line["user_id"], int) and line["latency_ms"] >= 0
    assert any(x.get("request_id") == made and x.get("route") == "/healthz" for x in lines)
    output = process.output()
    assert lead not in output and "s3cr3t-in-query" not in output


def test_worker_passes_beat_and_sigterm_ends_it_with_a_final_line(street, server):
    folder, env = street
    base, _ = server
    admin = {"Authorization": f"Bearer {token(base, 'ops_admin')}"}
    worker = Process([str(WHISTLE), "worker"], cwd=folder, log=folder / "worker.log",
                     env={**env, "WHISTLE_SWEEP_INTERVAL_SECONDS": "60"})
    try:
        worker.wait_for_output('"worker pass"')
        ready = httpx.get(f"{base}/readyz", headers=admin).json()
        assert ready["details"]["worker"]["stale"] is False
        assert ready["details"]["worker"]["last_pass"]["webhook_attempts"] == 0
        worker.terminate()
        assert worker.wait(15) == 0, worker.output()
    finally:
        worker.stop()
    last = _json_lines(worker.output())[-1]
    assert last["event"] == "worker stopped" and last["signalled"] is True
    metrics = httpx.get(f"{base}/metrics").text
    assert "whistle_worker_stale 0.0" in metrics
    assert "whistle_worker_last_pass_duration_seconds" in metrics
