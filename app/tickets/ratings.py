"""The ratings (评价) a closed case may be given, and which of them count as satisfied
(满意率): the rate action checks them, the schema lists them, the report facts count them."""

from __future__ import annotations

from typing import Literal, get_args

Rating = Literal["满意", "基本满意", "不满意"]
RATINGS: tuple[str, ...] = get_args(Rating)
SATISFIED = frozenset({"满意", "基本满意"})
