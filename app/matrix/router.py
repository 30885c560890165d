"""HTTP for the matrix (事项清单): read the current version; admins import, export and
list versions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Response, UploadFile, status

from app.auth.deps import Admin, CurrentActor
from app.csvtext import decode_csv
from app.deps import ClockDep, SessionDep
from app.errors import InvalidInput, NotFound, PayloadTooLarge, problem_responses
from app.ids import Id
from app.matrix import service
from app.matrix.cache import CurrentMatrix, MatrixCacheDep
from app.matrix.categories import CATEGORIES, CATEGORY_BY_CODE
from app.matrix.schemas import (
    MatrixCategoryOut,
    MatrixItemOut,
    MatrixOut,
    MatrixVersionOut,
    MatrixVersionSummary,
)
from app.messages import M

router = APIRouter(prefix="/matrix", tags=["matrix"])

MAX_CSV_BYTES = 2 * 1024 * 1024  # the shipped 130-item file is ~30 KB


async def _current(cache: MatrixCacheDep, session: SessionDep) -> CurrentMatrix:
    current = await cache.current(session)
    if current is None:
        raise NotFound(M("error.no_matrix"))
    return current




@router.get("", operation_id="get_matrix", response_model=MatrixOut,
            summary="The current matrix: its version and every item, by category",
            responses=problem_responses(401, 404, 422))
async def get_matrix(
    actor: CurrentActor,
    session: SessionDep,
    cache: MatrixCacheDep,
    category: Annotated[str | None, Query(description="only this category, e.g. 02")] = None,
) -> MatrixOut:
    if category is not None and category not in CATEGORY_BY_CODE:
        known = ", ".join(CATEGORY_BY_CODE)
        raise InvalidInput.at(["query", "category"],
                              M("matrix.unknown_category", category=category, known=known))
    current = await _current(cache, session)
    chosen = [c for c in CATEGORIES if category in (None, c.code)]
    items = list(current.items.values())
    return MatrixOut(
        version=MatrixVersionSummary(id=current.version_id, label=current.label,
                                     created_at=current.created_at,
                                     item_count=current.item_count),
        categories=[MatrixCategoryOut.of(c, [i for i in items if i.category_code == c.code])
                    for c in chosen],
    )


@router.get("/items/{code}", operation_id="get_matrix_item", response_model=MatrixItemOut,
            summary="One item of the current matrix", responses=problem_responses(401, 404))
async def get_matrix_item(code: str, actor: CurrentActor, session: SessionDep,
                          cache: MatrixCacheDep) -> MatrixItemOut:
    item = (await _current(cache, session)).items.get(code)
    if item is None:
        raise NotFound(M("error.no_item", code=code))
    return MatrixItemOut.of(item)


@router.get("/versions", operation_id="list_matrix_versions",
            response_model=list[MatrixVersionOut], summary="Every imported version, newest first",
            responses=problem_responses(401, 403))
async def list_matrix_versions(actor: Admin, session: SessionDep) -> list[MatrixVersionOut]:
    return [MatrixVersionOut.model_validate(v, from_attributes=True)
            for v in await service.list_versions(session=session)]


@router.post("/import", operation_id="import_matrix", status_code=status.HTTP_201_CREATED,
             response_model=MatrixVersionOut,
             summary="Import a matrix CSV (UTF-8, BOM optional) as the new current version",
             responses=problem_responses(401, 403, 413, 422))
async def import_matrix(
    actor: Admin,
    session: SessionDep,
    clock: ClockDep,
    cache: MatrixCacheDep,
    background: BackgroundTasks,
    file: Annotated[UploadFile, File(description="the matrix CSV, columns as in the export")],
    label: Annotated[str | None, Form(max_length=200, description="defaults to the file name")]
    = None,
) -> MatrixVersionOut:
    raw = await file.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise PayloadTooLarge(M("matrix.file_too_large", limit=MAX_CSV_BYTES))
    text = decode_csv(raw, loc=["body", "file"])
    filename = file.filename or "upload.csv"
    version = await service.import_matrix(session=session, csv_text=text,
                                          label=label or filename, source=filename,
                                          now=clock.now())
    # Background tasks run after the response, i.e. after the request's transaction has
    # committed: the next check then sees the new version.
    background.add_task(cache.invalidate)
    return MatrixVersionOut.model_validate(version, from_attributes=True)


@router.get("/export", operation_id="export_matrix", response_class=Response,
            summary="A matrix version as CSV (UTF-8 with BOM, for Excel)",
            responses={200: {"content": {"text/csv": {}}}, **problem_responses(401, 403, 404)})
async def export_matrix(
    actor: Admin,
    session: SessionDep,
    version: Annotated[Id | None, Query(description="a version id; default the current")]
    = None,
    headers: Annotated[Literal["en", "zh"], Query(
        description="column headers: en (code, name …) or zh (事项编码, 事项名称 …); the "
        "import reads either")] = "en",
) -> Response:
    found, text = await service.export_version(session=session, version_id=version,
                                               headers=headers)
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="matrix-v{found.id}.csv"'})
