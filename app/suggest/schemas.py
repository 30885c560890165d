"""Request and response bodies of suggestion."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.suggest.features import MAX_CHARS
from app.tickets.schemas import LocationIn


class SuggestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=MAX_CHARS,
                      description="what the grid worker wrote or the caller said",
                      examples=["小区门口井盖没了，晚上很危险"])
    limit: int = Field(3, ge=1, le=10, description="how many items to suggest")
    # Optional context: each re-weighs the text's scores by the items it makes likelier
    # (README, 智能分拨); without any, the answer is the text's alone.
    grid: str | None = Field(None, min_length=1, max_length=64, examples=["BH01-01"],
                             description="the grid the report is in: the items of its recent "
                                         "tickets make those items likelier")
    location: LocationIn | None = Field(
        None, description="where the report is, resolved to its grid as posting does "
                          "(`grid` wins when both are given)")
    recent_items: list[str] | None = Field(
        None, max_length=20, examples=[["0227", "0227", "0605"]],
        description="items the poster recently reported (e.g. the caller's earlier tickets, "
                    "or the operator's last posts), newest first; each a current item code")


class SuggestionOut(BaseModel):
    item: str
    item_name: str
    category: str
    score: float = Field(description="the model's probability that this is the item (0–1)")
    level: str = Field(description="the level this item routes to: grid, community or street")
    department: str | None = Field(description="the department whose queue it would go to")
    words: list[str] = Field(description="the words of the text that drove this suggestion")


class SuggestOut(BaseModel):
    matrix_version: int
    model_version: str = Field(description="m<matrix version>-matrix before any training, "
                               "else the trained model's version")
    confident: bool = Field(description="whether the top suggestion clears the threshold: "
                            "a post without an item is routed by it only then")
    threshold: float
    note: str | None = Field(description="why there is no confident suggestion, if there is none")
    suggestions: list[SuggestionOut]
