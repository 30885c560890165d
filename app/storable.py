"""Text PostgreSQL cannot store (NUL, lone surrogates): refused with a 422 naming the field,
by the request guard, the CSV and GeoJSON imports and the photo metadata alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_fields(value: Any, loc: list[str | int]) -> Iterator[list[str | int]]:
    """The paths inside a decoded JSON value of strings (or keys) PostgreSQL cannot store."""
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if UNSTORABLE.search(key):
                yield [*loc, key]
            yield from unstorable_fields(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable_fields(item, [*loc, index])
