"""Whistle as real processes (``whistle serve``, ``whistle worker``) on this machine's
loopback: what SIGTERM, an installed wheel or uvicorn's logging do can only be seen there.
Ports come from 18400-18499."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

DATA = Path(__file__).resolve().parents[2] / "app" / "jurisdiction" / "data"
PASSWORD = "ops-password-1"


def free_port() -> int:
    """A port nothing listens on now: the SQLite and PostgreSQL passes run side by side in
    CI, so a fixed port would be taken by the other pass."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a child: ours without WHISTLE_* or PYTHONPATH, plus these."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WHISTLE_", "PROMETHEUS_", "OTEL_")) and k != "PYTHONPATH"}
    env.update(WHISTLE_DATABASE_URL=database_url, **extra)
    return env


def whistle(exe: Path | str, *args: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, f"whistle {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def load_street(exe: Path | str, *, env: dict[str, str], cwd: Path) -> None:
    """The demo street's tree and departments, a department lead and an admin."""
    whistle(exe, "migrate", env=env, cwd=cwd)
    whistle(exe, "import-grids", str(DATA / "demo_street.geojson"), env=env, cwd=cwd)
    whistle(exe, "import-departments", str(DATA / "departments.csv"), env=env, cwd=cwd)
    whistle(exe, "users", "create", "--username", "ops_lead", "--role", "department_lead",
            "--department", "CGZF", "--password", PASSWORD, env=env, cwd=cwd)
    whistle(exe, "users", "create", "--username", "ops_admin", "--role", "admin",
            "--password", PASSWORD, env=env, cwd=cwd)


class Process:
    """A child process whose output goes to a file (read while it runs)."""

    def __init__(self, args: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(args, env=env, cwd=cwd, stdout=self._out,
                                      stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.popen.poll() is None, f"exited {self.popen.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()}"
            time.sleep(0.1)

    def terminate(self) -> None:
        self.popen.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        finally:
            self._out.close()

    def stop(self) -> None:
        """However it is, end it (the test's cleanup)."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)
        self._out.close()


def wait_ready(base: str, process: Process, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.popen.poll() is None, f"exited:\n{process.output()}"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"never ready:\n{process.output()}"
        time.sleep(0.25)


def token(base: str, username: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/token",
                   data={"username": username, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]
