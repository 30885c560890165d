"""``whistle import-grids`` / ``import-departments``: the same imports from the shell."""

from __future__ import annotations

import json

import pytest
import typer

from app.config import get_settings
from app.jurisdiction.commands import import_departments_file, import_grids_file
from tests.jurisdiction.conftest import DEMO_GEOJSON, DEPARTMENTS_CSV, demo_collection


@pytest.fixture
def cli_database(settings, monkeypatch):
    """Point the command's own engine at the test database."""
    monkeypatch.setenv("WHISTLE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# Plain (sync) tests: the commands run their own event loop with asyncio.run.
def test_importing_the_demo_file_reports_a_summary(demo, cli_database):
    summary = import_grids_file(DEMO_GEOJSON)
    assert summary.startswith("1 street(s), 5 communities, 28 grids: 0 created")
    assert import_departments_file(DEPARTMENTS_CSV).startswith("departments: 0 created")


def test_every_bad_feature_is_printed_and_the_command_fails(demo, cli_database, tmp_path,
                                                           capsys):
    data = demo_collection()
    data["features"][3]["properties"].update(code="BH09", parent="NOPE")
    data["features"][8]["geometry"] = None
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(typer.Exit) as caught:
        import_grids_file(path)
    assert caught.value.exit_code == 1
    err = capsys.readouterr().err
    assert "feature 3 (parent): unknown parent 'NOPE'" in err
    assert "feature 8 (geometry): a grid needs a Polygon" in err


def test_an_unreadable_file_fails_cleanly(tmp_path, capsys):
    path = tmp_path / "broken.geojson"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(typer.Exit):
        import_grids_file(path)
    assert "cannot read a JSON document" in capsys.readouterr().err


def test_a_bad_departments_file_lists_its_lines(tmp_path, capsys):
    path = tmp_path / "departments.csv"
    path.write_text("code,name,streets\nX,,BH\n", encoding="utf-8")
    with pytest.raises(typer.Exit):
        import_departments_file(path)
    assert "line 2 (name): missing name" in capsys.readouterr().err
