"""The package as an operator installs it: the wheel built from this tree, installed into
a fresh virtualenv outside the checkout, run from an empty folder. Migrations, their
configuration and the data files must all come from the installed package.

Slow (a wheel build, about half a minute): deselect with
``-m 'not installed'`` while iterating; CI runs it, on each pass's database."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.observability.processes import Process, clean_env, free_port, whistle

# The wheel build and the dependency install alone can take minutes on a busy machine.
pytestmark = [pytest.mark.installed, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[1]
PORT = free_port()
# What a build needs from the tree (a copy, so that the build leaves nothing behind here).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "app", "migrations")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``whistle`` command of a fresh virtualenv holding only the built wheel."""
    base = tmp_path_factory.mktemp("installed")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = base / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True,
                   cwd=base, timeout=600)
    (wheel,) = wheels.glob("whistle-*.whl")
    target = base / "venv"
    venv.create(target, with_pip=False)
    # The dependencies come from this test environment (a .pth line adds its site-packages,
    # whose own .pth files, the editable install of this checkout among them, are not
    # read); whistle itself, its migrations and data files come only from the wheel. A
    # full dependency install took minutes per pass and tested PyPI, not the package.
    (site,) = (target / "lib").glob("python*/site-packages")
    (site / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(target / "bin" / "python"), "-m", "pip", "-q",
                    "--disable-pip-version-check", "install", "--no-deps", "--ignore-installed",
                    str(wheel)], check=True, cwd=base, timeout=900)
    return target / "bin" / "whistle"


def test_the_installed_wheel_migrates_serves_and_works_from_any_folder(installed, scratch_database,
                                                                       tmp_path):
    database = scratch_database
    import httpx

    from tests.observability.processes import wait_ready

    folder = tmp_path / "elsewhere"
    folder.mkdir()
    env = clean_env(database, WHISTLE_ATTACHMENT_DIR=str(folder / "attachments"))
    assert "migrated" in whistle(installed, "migrate", env=env, cwd=folder)
    # The installed code, not this checkout's, is what ran.
    where = subprocess.run([str(installed.parent / "python"), "-c",
                            "import app.migrate as m; print(m.migrations_dir())"],
                           env=env, cwd=folder, capture_output=True, text=True, check=True)
    assert "site-packages" in where.stdout and str(ROOT) not in where.stdout

    server = Process([str(installed), "serve", "--port", str(PORT)], env=env, cwd=folder,
                     log=folder / "serve.log")
    try:
        wait_ready(f"http://127.0.0.1:{PORT}", server)
        assert httpx.get(f"http://127.0.0.1:{PORT}/readyz").json() == {"status": "ok"}
        metrics = httpx.get(f"http://127.0.0.1:{PORT}/metrics").text
        assert "whistle_worker_stale 1.0" in metrics  # no worker has passed yet
    finally:
        server.terminate()
        server.wait(30)
        server.stop()

    worker = subprocess.run([str(installed), "worker", "--once"], env=env, cwd=folder,
                            capture_output=True, text=True, timeout=180)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert "worker pass" in worker.stderr and "worker stopped" in worker.stderr
