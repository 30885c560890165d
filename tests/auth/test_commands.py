"""``whistle users ...`` and ``whistle apikeys ...`` against the test database."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from app.auth.commands import apikeys_app, users_app
from tests.auth.conftest import PASSWORD, unique

runner = CliRunner()


@pytest.fixture
def cli(settings, monkeypatch, tree):
    """A ``whistle`` with just the auth sub-apps, pointed at the test database."""
    monkeypatch.setattr("app.cli.get_settings", lambda: settings)
    app = typer.Typer()
    app.add_typer(users_app, name="users")
    app.add_typer(apikeys_app, name="apikeys")
    return lambda *args: runner.invoke(app, list(args))


def test_users_create_and_list(cli, tree):
    name = unique("cli")
    r = cli("users", "create", "--username", name, "--password", PASSWORD, "--role",
            "grid_worker", "--grid", tree.grid_a1.code, "--grid", tree.grid_a2.code)
    assert r.exit_code == 0, r.output
    assert "created user" in r.output and name in r.output

    r = cli("users", "list")
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if name in ln)
    assert "grid_worker" in line and tree.grid_a1.code in line


def test_users_create_reports_the_bad_option(cli, tree):
    r = cli("users", "create", "--username", unique("cli"), "--password", PASSWORD,
            "--role", "street_dispatcher", "--scope", tree.comm_a.code)
    assert r.exit_code == 1
    assert "--scope" in r.output and "is a community" in r.output


def test_apikeys_create_prints_the_key_once_and_revoke(cli, tree):
    r = cli("apikeys", "create", "--name", "cli hotline", "--scope", tree.street.code)
    assert r.exit_code == 0, r.output
    raw = r.output.strip().splitlines()[-1]
    assert raw.startswith("wh_")
    key_id = int(r.output.split("created API key ")[1].split(";")[0])

    listed = cli("apikeys", "list")
    assert raw not in listed.output and "cli hotline" in listed.output

    r = cli("apikeys", "revoke", str(key_id))
    assert r.exit_code == 0, r.output
    assert "revoked" in r.output
    assert cli("apikeys", "revoke", "987654321").exit_code == 1
