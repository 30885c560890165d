"""Under ``--workers N`` the live gauges (pool use, open streams) are summed over the
files in the shared directory: a worker that died must not be counted for ever."""

from __future__ import annotations

import subprocess
import sys

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from app.observability.metrics import MULTIPROC_ENV, forget_dead_processes, forget_process

WORKER = """
from prometheus_client import Gauge
g = Gauge("whistle_live_streams_open", "open streams", multiprocess_mode="livesum")
g.set(3)
import os
print(os.getpid())
"""


def _worker_that_dies(directory) -> int:
    """A process that writes a live gauge, then ends without a word (as if killed)."""
    done = subprocess.run([sys.executable, "-c", WORKER], env={MULTIPROC_ENV: str(directory)},
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def _streams(directory) -> str:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return generate_latest(registry).decode()


def test_a_dead_workers_live_gauges_are_forgotten_at_the_next_start(tmp_path, monkeypatch):
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    pid = _worker_that_dies(tmp_path)
    assert "whistle_live_streams_open 3.0" in _streams(tmp_path)
    forget_dead_processes()
    assert not list(tmp_path.glob(f"gauge_live*_{pid}.db"))
    assert "whistle_live_streams_open 3.0" not in _streams(tmp_path)


def test_a_living_process_keeps_its_gauges_until_it_ends(tmp_path, monkeypatch):
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    pid = _worker_that_dies(tmp_path)
    alive = tmp_path / f"gauge_livesum_{1}.db"  # pid 1 always lives
    alive.write_bytes((tmp_path / f"gauge_livesum_{pid}.db").read_bytes())
    forget_dead_processes()
    assert alive.exists()
    forget_process(1)  # what the lifespan does as a process ends
    assert not alive.exists()
