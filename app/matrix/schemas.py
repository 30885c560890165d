"""Request and response bodies of the matrix API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.matrix.cache import ItemSnapshot
from app.matrix.categories import Category
from app.matrix.csvio import format_limit


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
    escalation_minutes: int = Field(description="time a ticket may wait at one level before "
                                    "it escalates; the category's default unless set")
    escalation_limit: str
    escalation_is_default: bool
    auto_whistle: bool

    @classmethod
    def of(cls, item: ItemSnapshot) -> MatrixItemOut:
        basis = item.time_basis
        escalation = item.escalation_budget_minutes
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
            photo_required=item.photo_required, escalation_minutes=escalation,
            escalation_limit=format_limit(escalation, basis),
            escalation_is_default=item.escalation_minutes is None,
            auto_whistle=item.auto_whistle,
        )


class MatrixCategoryOut(BaseModel):
    code: str = Field(examples=["02"])
    name: str = Field(examples=["市容环境"])
    name_en: str = Field(examples=["City appearance and environment"])
    escalation_minutes: int = Field(description="the default escalation budget of its items")
    items: list[MatrixItemOut]

    @classmethod
    def of(cls, category: Category, items: list[ItemSnapshot]) -> MatrixCategoryOut:
        return cls(code=category.code, name=category.name, name_en=category.name_en,
                   escalation_minutes=category.escalation_minutes,
                   items=[MatrixItemOut.of(i) for i in items])


class MatrixOut(BaseModel):
    version: MatrixVersionSummary
    categories: list[MatrixCategoryOut]
