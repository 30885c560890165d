"""Request and response bodies of the matrix API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.matrix.cache import ItemSnapshot
from app.matrix.categories import Category
from app.matrix.csvio import format_grace, format_limit


class MatrixVersionSummary(BaseModel):
    id: int
    label: str
    created_at: datetime
    item_count: int


class MatrixVersionOut(MatrixVersionSummary):
    source: str = Field(description="the file the version was imported from")


class MatrixItemOut(BaseModel):
    id: int = Field(description="the item row's id; tickets keep the id they were routed by")
    code: str = Field(examples=["0202"])
    category: str = Field(examples=["02"])
    name: str
    description: str
    keywords: list[str]
    handling_level: str = Field(description="grid, community or street (a department's queue)")
    self_handle_allowed: bool = Field(description="a grid worker may handle it on the spot")
    negative_list: bool = Field(description="enforcement, safety, fire: never a community's "
                                "duty (社区一律不作为责任主体)")
    primary_department: str | None
    co_departments: list[str]
    time_basis: str = Field(description="working (7-hour working days) or calendar time")
    response_minutes: int
    response_limit: str = Field(examples=["2h"])
    resolve_minutes: int
    resolve_limit: str = Field(examples=["4h"])
    urgent_response_minutes: int
    urgent_response_limit: str
    urgent_resolve_minutes: int
    urgent_resolve_limit: str
    photo_required: bool
    response_grace_minutes: int = Field(
        description="an unclaimed grid- or community-level ticket climbs one level this long "
                    "after its response limit (the category's grace unless set; 0: at once)")
    response_grace: str = Field(examples=["0"])
    resolve_grace_minutes: int = Field(
        description="an unresolved grid- or community-level ticket climbs one level this long "
                    "after its resolution limit, counted from reaching the level (the "
                    "category's grace unless set; 0: at once)")
    resolve_grace: str = Field(examples=["0"])
    grace_is_default: bool = Field(description="both graces are the category's")
    auto_whistle: bool

    @classmethod
    def of(cls, item: ItemSnapshot) -> MatrixItemOut:
        basis = item.time_basis
        return cls(
            id=item.id, code=item.code, category=item.category_code, name=item.name,
            description=item.description, keywords=list(item.keywords),
            handling_level=item.handling_level, self_handle_allowed=item.self_handle_allowed,
            negative_list=item.negative_list, primary_department=item.primary_department,
            co_departments=list(item.co_departments), time_basis=basis,
            response_minutes=item.response_minutes,
            response_limit=format_limit(item.response_minutes, basis),
            resolve_minutes=item.resolve_minutes,
            resolve_limit=format_limit(item.resolve_minutes, basis),
            urgent_response_minutes=item.urgent_response_minutes,
            urgent_response_limit=format_limit(item.urgent_response_minutes, basis),
            urgent_resolve_minutes=item.urgent_resolve_minutes,
            urgent_resolve_limit=format_limit(item.urgent_resolve_minutes, basis),
            photo_required=item.photo_required,
            response_grace_minutes=item.response_grace,
            response_grace=format_grace(item.response_grace, basis),
            resolve_grace_minutes=item.resolve_grace,
            resolve_grace=format_grace(item.resolve_grace, basis),
            grace_is_default=(item.response_grace_minutes is None
                              and item.resolve_grace_minutes is None),
            auto_whistle=item.auto_whistle,
        )


class MatrixCategoryOut(BaseModel):
    code: str = Field(examples=["02"])
    name: str = Field(examples=["市容环境"])
    name_en: str = Field(examples=["City appearance and environment"])
    response_grace_minutes: int = Field(description="the default response grace of its items")
    resolve_grace_minutes: int = Field(description="the default resolution grace of its items")
    items: list[MatrixItemOut]

    @classmethod
    def of(cls, category: Category, items: list[ItemSnapshot]) -> MatrixCategoryOut:
        return cls(code=category.code, name=category.name, name_en=category.name_en,
                   response_grace_minutes=category.response_grace_minutes,
                   resolve_grace_minutes=category.resolve_grace_minutes,
                   items=[MatrixItemOut.of(i) for i in items])


class MatrixOut(BaseModel):
    version: MatrixVersionSummary
    categories: list[MatrixCategoryOut]
