"""``whistle notifications …`` against the test database: the same checks as the API."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from app.notifications.commands import notifications_app

runner = CliRunner()

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setattr("app.cli.get_settings", lambda: settings)
    monkeypatch.setattr("app.notifications.commands.get_settings", lambda: settings)
    app = typer.Typer()
    app.add_typer(notifications_app, name="notifications")
    return lambda *args: runner.invoke(app, list(args))


def test_add_configure_list_and_refuse(cli):
    r = cli("notifications", "add", "--kind", "dingtalk", "--name", "社区钉钉群",
            "--jurisdiction", "BH02", "--url",
            # a loopback port nothing listens on (the tests' own range)
            "http://127.0.0.1:18799/robot/send?access_token=cli-token", "--secret", "SECcli")
    assert r.exit_code == 0, r.output
    channel_id = int(r.output.split()[0])
    assert "configured" in r.output and "cli-token" not in r.output

    r = cli("notifications", "configure", str(channel_id), "--url", "gopher://x")
    assert r.exit_code == 1 and "url" in r.output

    r = cli("notifications", "add", "--kind", "pager", "--name", "x", "--department", "HW")
    assert r.exit_code == 1 and "kind" in r.output

    r = cli("notifications", "list")
    line = next(ln for ln in r.output.splitlines() if ln.split()[0] == str(channel_id))
    assert "BH02" in line and "http://127.0.0.1:18799/robot/send" in line

    r = cli("notifications", "test", str(channel_id))  # nothing listens there
    assert r.exit_code == 1 and r.output.startswith("failed:")
