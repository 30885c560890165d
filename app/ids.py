"""The one shape of an id in the API: a positive 63-bit integer (PostgreSQL's BIGINT, SQLite's
rowid). Every id a client sends — in a path, a query or a body — is one of these types, so a
number the database cannot hold is a 422 naming the field, never a driver error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ID = 2**63 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An id in a request body, or in a query: ``Annotated[Id | None, Query(...)]``."""

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
"""An id in the path: ``/tickets/{ticket_id}``."""

Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="rows to skip")]
