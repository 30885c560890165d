"""HTTP for the matrix (事项清单): read the current version; admins import, export and
list versions."""

from __future__ import annotations

from hashlib import blake2b
from typing import Annotated, Literal

from fastapi import (
    APIRouter,
    BackgroundTasks,
    File,
    Form,
    Header,
    Query,
    Response,
    UploadFile,
    status,
)

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




# The current matrix as sent, per category filter, built once per loaded version: a version
# never changes once imported. Its ETag is a digest of the bytes, so a client that has them
# (the browser's cache, revalidating with If-None-Match) gets a 304 and no body.
_rendered: tuple[CurrentMatrix | None, dict[str | None, tuple[bytes, str]]] = (None, {})
MATRIX_CACHE_CONTROL = "private, no-cache"  # keep it, but ask each time: an import replaces it


def _render(current: CurrentMatrix, category: str | None) -> tuple[bytes, str]:
    global _rendered
    if _rendered[0] is not current:
        _rendered = (current, {})
    done = _rendered[1].get(category)
    if done is None:
        chosen = [c for c in CATEGORIES if category in (None, c.code)]
        items = list(current.items.values())
        body = MatrixOut(
            version=MatrixVersionSummary(id=current.version_id, label=current.label,
                                         created_at=current.created_at,
                                         item_count=current.item_count),
            categories=[MatrixCategoryOut.of(c, [i for i in items if i.category_code == c.code])
                        for c in chosen],
        ).model_dump_json().encode()
        done = (body, f'"{blake2b(body, digest_size=12).hexdigest()}"')
        _rendered[1][category] = done
    return done


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get("", operation_id="get_matrix", response_model=MatrixOut,
            summary="The current matrix: its version and every item, by category",
            description="Answers with an `ETag`; send it back in `If-None-Match` and an "
            "unchanged matrix answers 304 with no body (`Cache-Control: private, no-cache`: "
            "a browser keeps it and asks each time).",
            responses={304: {"description": "Not Modified: the matrix is the one you have"},
                       **problem_responses(401, 404, 422)})
async def get_matrix(
    actor: CurrentActor,
    session: SessionDep,
    cache: MatrixCacheDep,
    category: Annotated[str | None, Query(description="only this category, e.g. 02")] = None,
    if_none_match: Annotated[str | None, Header(
        description="the ETag of the matrix you have")] = None,
) -> Response:
    if category is not None and category not in CATEGORY_BY_CODE:
        known = ", ".join(CATEGORY_BY_CODE)
        raise InvalidInput.at(["query", "category"],
                              M("matrix.unknown_category", category=category, known=known))
    body, etag = _render(await _current(cache, session), category)
    headers = {"ETag": etag, "Cache-Control": MATRIX_CACHE_CONTROL}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


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
