"""Every CSV import gives the same clear message for a file that is not UTF-8 (GBK is what
Excel on Chinese Windows writes as plain "CSV"), through the real command line: no
traceback, exit status 1. The matrix upload through the API gives it too."""

from __future__ import annotations

import pytest

from app.csvtext import NOT_UTF8
from app.jurisdiction.service import load_departments_csv
from tests.matrix.conftest import shipped_text
from tests.test_settings_check import run_whistle

DEPARTMENTS_GBK = "code,name,name_en,streets\nCGZF,城管执法中队,Enforcement,BH\n".encode("gbk")


@pytest.mark.parametrize(("command", "content"), [
    ("import-matrix", lambda: shipped_text().lstrip("\ufeff").encode("gbk")),
    ("import-departments", lambda: DEPARTMENTS_GBK),
])
def test_a_gbk_file_gets_the_clear_message_from_every_csv_import(tmp_path, command, content):
    path = tmp_path / "excel.csv"
    path.write_bytes(content())

    r = run_whistle(tmp_path, command, str(path))

    assert r.returncode == 1
    assert NOT_UTF8 in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_utf8_with_a_bom_is_read(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(DEPARTMENTS_GBK.decode("gbk").encode("utf-8-sig"))
    assert [row.name for row in load_departments_csv(path)] == ["城管执法中队"]


async def test_the_matrix_upload_gives_the_same_message(client, token_for):
    gbk = shipped_text().lstrip("\ufeff").encode("gbk")
    r = await client.post("/api/v1/matrix/import", headers=token_for("admin"),
                          files={"file": ("m.csv", gbk, "text/csv")})
    assert r.status_code == 422
    assert r.json()["detail"] == NOT_UTF8
