"""HTTP for photo uploads: the served copy, its thumbnail, its metadata, and signed links
that need no credentials."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from app.attachments import service
from app.attachments.models import Attachment
from app.auth.deps import CurrentActor
from app.deps import ClockDep, SessionDep, SettingsDep
from app.errors import problem_responses
from app.ids import IdPath

router = APIRouter(tags=["attachments"])

IMAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/*": {}}, "description": "the image"}}


class GpsOut(BaseModel):
    lat: float
    lon: float
    altitude_m: float | None = None


class EvidenceOut(BaseModel):
    taken_at: str | None = Field(None, description="EXIF DateTimeOriginal, with the camera's "
                                                   "offset when it recorded one")
    gps: GpsOut | None = Field(None, description="the EXIF GPS position (WGS-84)")
    camera: str | None = None


class AttachmentOut(BaseModel):
    id: int
    content_type: str = Field(description="of the copy served (HEIC uploads are served as JPEG)")
    original_content_type: str | None = Field(description="of the file as uploaded")
    size: int = Field(description="bytes of the file as uploaded")
    sha256: str = Field(description="of the file as uploaded")
    filename: str
    ticket_id: int | None
    created_at: datetime
    url: str = Field(description="the served copy: no EXIF, no GPS")
    thumbnail_url: str = Field(description="a JPEG at most 320 px on its longer side")
    evidence: EvidenceOut | None = Field(
        description="what the upload's EXIF said: when and where it was taken. Null when it "
                    "said nothing, or when the caller may not see the reporter (only the "
                    "uploader and those who see the reporter's contact unmasked do)")


def served_name(attachment: Attachment) -> str:
    """The upload's name, with the extension of what is served (IMG_0042.HEIC → .jpg)."""
    suffix = PurePath(attachment.storage_key).suffix
    name = PurePath(attachment.filename)
    return attachment.filename if name.suffix.lower() == suffix else name.stem + suffix


def attachment_out(attachment: Attachment, *, with_evidence: bool) -> AttachmentOut:
    evidence = attachment.evidence if with_evidence and attachment.evidence else None
    return AttachmentOut(
        id=attachment.id, content_type=attachment.content_type,
        original_content_type=attachment.original_content_type or attachment.content_type,
        size=attachment.size, sha256=attachment.sha256, filename=attachment.filename,
        ticket_id=attachment.ticket_id, created_at=attachment.created_at,
        url=f"/api/v1/attachments/{attachment.id}",
        thumbnail_url=f"/api/v1/attachments/{attachment.id}/thumbnail",
        evidence=EvidenceOut.model_validate(evidence) if evidence else None)


@router.post("/attachments", operation_id="upload_attachment", status_code=status.HTTP_201_CREATED,
             response_model=AttachmentOut,
             summary="Upload a photo (JPEG, PNG, WebP, GIF or HEIC/HEIF)",
             description="Checked by content. HEIC/HEIF is stored and served as JPEG; every "
                         "copy served is stripped of EXIF (GPS included), and the EXIF time "
                         "and position are kept as `evidence`.",
             responses=problem_responses(401, 413, 415, 422))
async def upload_attachment(file: UploadFile, actor: CurrentActor, session: SessionDep,
                            settings: SettingsDep, clock: ClockDep) -> AttachmentOut:
    # Read one byte past the limit: enough to know it is too large without reading it all.
    data = await file.read(settings.attachment_max_bytes + 1)
    attachment = await service.store_attachment(
        session=session, actor=actor, data=data, filename=file.filename or "upload",
        directory=settings.attachment_dir, max_bytes=settings.attachment_max_bytes,
        max_pixels=settings.attachment_max_pixels, now=clock.now())
    return attachment_out(attachment, with_evidence=True)


async def _visible(attachment_id: int, actor, session, settings) -> Attachment:
    attachment = await service.get_attachment(session=session, actor=actor,
                                              attachment_id=attachment_id)
    return await service.ensure_copies(session=session, attachment=attachment,
                                       directory=settings.attachment_dir)


@router.get("/attachments/{attachment_id}", operation_id="get_attachment",
            summary="Download a photo (the copy without EXIF)", response_class=FileResponse,
            responses={**IMAGE, **problem_responses(401, 404)})
async def get_attachment(attachment_id: IdPath, actor: CurrentActor, session: SessionDep,
                         settings: SettingsDep) -> FileResponse:
    attachment = await _visible(attachment_id, actor, session, settings)
    return FileResponse(settings.attachment_dir / attachment.storage_key,
                        media_type=attachment.content_type, filename=served_name(attachment))


@router.get("/attachments/{attachment_id}/thumbnail", operation_id="get_attachment_thumbnail",
            summary="A photo's thumbnail (JPEG, at most 320 px on its longer side)",
            response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the thumbnail"},
                       **problem_responses(401, 404)})
async def get_thumbnail(attachment_id: IdPath, actor: CurrentActor, session: SessionDep,
                        settings: SettingsDep) -> FileResponse:
    attachment = await _visible(attachment_id, actor, session, settings)
    assert attachment.thumbnail_key is not None  # ensure_copies made it
    return FileResponse(settings.attachment_dir / attachment.thumbnail_key,
                        media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=86400"})


@router.get("/attachments/{attachment_id}/metadata", operation_id="get_attachment_metadata",
            response_model=AttachmentOut,
            summary="A photo's metadata: type, hash, links, and (for those who may see the "
                    "reporter) the EXIF time and position",
            responses=problem_responses(401, 404))
async def get_metadata(attachment_id: IdPath, actor: CurrentActor, session: SessionDep,
                       settings: SettingsDep) -> AttachmentOut:
    attachment = await _visible(attachment_id, actor, session, settings)
    allowed = await service.may_see_evidence(session=session, actor=actor, attachment=attachment)
    return attachment_out(attachment, with_evidence=allowed)


@router.get("/media/{attachment_id}", operation_id="get_signed_media",
            summary="A ticket's photo by a signed, expiring link (no credentials)",
            description="The links Open311's `media_url` hands out: any client can fetch "
                        "them. The copy served has no EXIF. 403 when the link was changed, "
                        "410 when it has expired.",
            response_class=FileResponse, responses={**IMAGE, **problem_responses(403, 404, 410)})
async def get_signed_media(
    attachment_id: IdPath, session: SessionDep, settings: SettingsDep, clock: ClockDep,
    expires: Annotated[int, Query(ge=0, le=2**40, description="unix seconds")],
    signature: Annotated[str, Query(min_length=1, max_length=100)],
) -> FileResponse:
    attachment = await service.get_signed(
        session=session, secret=settings.secret_key, attachment_id=attachment_id,
        expires=expires, signature=signature, now=clock.now(), directory=settings.attachment_dir)
    return FileResponse(settings.attachment_dir / attachment.storage_key,
                        media_type=attachment.content_type,
                        headers={"Cache-Control": "public, max-age=3600"})
