"""``whistle export-matrix`` against the test database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli.registry import build_cli

pytestmark = pytest.mark.usefixtures("reference")


def test_export_matrix_writes_english_or_chinese_headers(settings, monkeypatch, tmp_path):
    monkeypatch.setattr("app.cli.get_settings", lambda: settings)
    runner, cli = CliRunner(), build_cli()
    zh, en = tmp_path / "zh.csv", tmp_path / "en.csv"
    r = runner.invoke(cli, ["export-matrix", str(zh), "--headers", "zh"])
    assert r.exit_code == 0, r.output
    assert zh.read_text(encoding="utf-8-sig").startswith("事项编码,类别,事项名称,")
    r = runner.invoke(cli, ["export-matrix", str(en)])
    assert r.exit_code == 0, r.output
    assert en.read_text(encoding="utf-8-sig").startswith("code,category,name,")
    r = runner.invoke(cli, ["export-matrix", str(en), "--headers", "fr"])
    assert r.exit_code == 2
