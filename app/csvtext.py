"""Reading an uploaded or given CSV file as text: UTF-8, with or without the BOM Excel
writes. Every CSV import (matrix, departments) refuses anything else with the same message,
which says how to fix it: Excel on Chinese Windows saves plain "CSV" in GBK."""

from __future__ import annotations

from pathlib import Path

from app.errors import InvalidInput
from app.messages import M, render

NOT_UTF8 = render("error.not_utf8")


def decode_csv(raw: bytes, *, loc: list[str | int]) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput.at(loc, M("error.not_utf8")) from None


def read_csv_file(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InvalidInput.at(["file"], M("error.no_such_file", path=path)) from exc
    return decode_csv(raw, loc=["file"])
