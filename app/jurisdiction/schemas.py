"""Request and response models of the jurisdiction and department endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.jurisdiction.models import Level


class JurisdictionNode(BaseModel):
    code: str = Field(examples=["BH01"])
    name: str = Field(examples=["海韵社区"])
    level: Level
    in_scope: bool = Field(
        True, description="false for an ancestor shown only to place the caller's own nodes "
                          "in the tree; such a node cannot be fetched on its own")
    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON Polygon or MultiPolygon ([lon, lat]); only with "
                          "include_geometry=true")
    children: list[JurisdictionNode] = Field(default_factory=list)


class JurisdictionDetail(JurisdictionNode):
    parent: str | None = Field(None, description="the parent's code; null for a street")
    street: str = Field(description="the code of the street this node lies in")
    community: str | None = Field(None, description="the community's code (null for a street)")


class NodeBrief(BaseModel):
    code: str
    name: str


class Point(BaseModel):
    lat: float = Field(description="WGS-84 latitude")
    lon: float = Field(description="WGS-84 longitude")


class LocateOut(BaseModel):
    grid: NodeBrief
    community: NodeBrief
    street: NodeBrief
    point: Point = Field(description="the point located, in WGS-84 (what a ticket posted "
                                     "there stores)")


class ImportSummary(BaseModel):
    streets: int = Field(description="street features in the file")
    communities: int
    grids: int
    created: int = Field(description="nodes that did not exist before")
    updated: int = Field(description="existing nodes whose name or geometry changed")
    unchanged: int

    def __str__(self) -> str:
        return (f"{self.streets} street(s), {self.communities} communities, {self.grids} grids: "
                f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged")


class DepartmentOut(BaseModel):
    code: str = Field(examples=["CGZF"])
    name: str = Field(examples=["城管执法中队"])
    streets: list[str] = Field(description="codes of the streets the department serves")


class DepartmentImportSummary(BaseModel):
    created: int
    updated: int
    unchanged: int
    links_added: int = Field(description="new department → street links")

    def __str__(self) -> str:
        return (f"departments: {self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged; {self.links_added} street link(s) added")
