"""Masking of residents' names (the phone mask lives with the access rules in auth.scope)."""

from __future__ import annotations


def mask_name(name: str | None) -> str | None:
    """张三丰 → 张**: enough for a handler to address the resident, not to identify them."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)
