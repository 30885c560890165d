"""Configuration errors through the real ``whistle`` command: one line naming the variable
and the rule, no secret echoed, no traceback, a non-zero exit; unknown ``WHISTLE_…``
variables warned about; ``postgres://`` URLs accepted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings
from app.settings_check import EXIT_CONFIG, unknown_variables

WHISTLE = str(Path(sys.executable).with_name("whistle"))


def run_whistle(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WHISTLE_")}
    clean.setdefault("WHISTLE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    clean.update(env)
    return subprocess.run([WHISTLE, *args], cwd=tmp_path, env=clean, capture_output=True,
                          text=True, timeout=120)


def test_a_bad_number_is_one_line_naming_the_variable(tmp_path):
    r = run_whistle(tmp_path, "migrate", WHISTLE_ACCESS_TOKEN_MINUTES="0")

    assert r.returncode == EXIT_CONFIG
    assert r.stderr.strip().splitlines() == [
        "configuration error: WHISTLE_ACCESS_TOKEN_MINUTES: Input should be greater than or "
        "equal to 1"]
    assert "Traceback" not in r.stderr + r.stdout


@pytest.mark.parametrize(("env", "variable"), [
    ({"WHISTLE_ENV": "production", "WHISTLE_SECRET_KEY": "hunter2-my-short-secret"},
     "WHISTLE_SECRET_KEY"),
    ({"WHISTLE_WEBHOOK_SEALING_KEYS": '["hunter2-my-short-secret"]'},
     "WHISTLE_WEBHOOK_SEALING_KEYS"),
    ({"WHISTLE_WEBHOOK_SEALING_KEYS": "hunter2-my-short-secret"},
     "WHISTLE_WEBHOOK_SEALING_KEYS"),
])
def test_a_refused_secret_is_named_but_never_echoed(tmp_path, env, variable):
    r = run_whistle(tmp_path, "migrate", **env)

    assert r.returncode == EXIT_CONFIG
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], r.stderr
    assert "hunter2" not in r.stderr + r.stdout
    assert "Traceback" not in r.stderr


def test_an_unknown_variable_is_warned_about_with_the_likely_name(tmp_path):
    r = run_whistle(tmp_path, "migrate", WHISTLE_ACCES_TOKEN_MINUTES="30")

    assert r.returncode == 0, r.stderr
    assert ("WHISTLE_ACCES_TOKEN_MINUTES is not a Whistle setting and is ignored "
            "(did you mean WHISTLE_ACCESS_TOKEN_MINUTES?)") in r.stderr


def test_known_and_test_only_variables_are_not_warned_about():
    assert unknown_variables({"WHISTLE_SECRET_KEY": "x", "WHISTLE_TEST_DATABASE_URL": "y",
                              "PATH": "/bin"}) == []


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_libpq_urls_mean_asyncpg(scheme):
    url = Settings(database_url=f"{scheme}://whistle:pw@db.example:5432/whistle").database_url
    assert url == "postgresql+asyncpg://whistle:pw@db.example:5432/whistle"


def test_a_plain_sqlite_url_means_aiosqlite():
    assert Settings(database_url="sqlite:///./x.db").database_url == "sqlite+aiosqlite:///./x.db"


def test_a_postgres_url_migrates_through_the_cli(tmp_path, database_url, is_postgres):
    if not is_postgres:
        pytest.skip("needs the PostgreSQL test database")
    plain = database_url.replace("postgresql+asyncpg://", "postgres://")

    r = run_whistle(tmp_path, "migrate", WHISTLE_DATABASE_URL=plain)

    assert r.returncode == 0, r.stderr
    assert "migrated postgresql+asyncpg://" in r.stdout
