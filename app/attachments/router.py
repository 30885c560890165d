"""HTTP for photo uploads."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel

from app.attachments import service
from app.auth.deps import CurrentActor
from app.deps import ClockDep, SessionDep, SettingsDep
from app.errors import problem_responses
from app.ids import IdPath

router = APIRouter(tags=["attachments"])


class AttachmentOut(BaseModel):
    id: int
    content_type: str
    size: int
    sha256: str
    filename: str
    ticket_id: int | None
    created_at: datetime


@router.post("/attachments", operation_id="upload_attachment", status_code=status.HTTP_201_CREATED,
             response_model=AttachmentOut, summary="Upload a photo (JPEG, PNG, WebP or GIF)",
             responses=problem_responses(401, 413, 415, 422))
async def upload_attachment(file: UploadFile, actor: CurrentActor, session: SessionDep,
                            settings: SettingsDep, clock: ClockDep) -> AttachmentOut:
    # Read one byte past the limit: enough to know it is too large without reading it all.
    data = await file.read(settings.attachment_max_bytes + 1)
    attachment = await service.store_attachment(
        session=session, actor=actor, data=data, filename=file.filename or "upload",
        directory=settings.attachment_dir, max_bytes=settings.attachment_max_bytes,
        max_pixels=settings.attachment_max_pixels, now=clock.now())
    return AttachmentOut.model_validate(attachment, from_attributes=True)


@router.get("/attachments/{attachment_id}", operation_id="get_attachment",
            summary="Download a photo", response_class=FileResponse,
            responses={200: {"content": {"image/*": {}}}, **problem_responses(401, 404)})
async def get_attachment(attachment_id: IdPath, actor: CurrentActor, session: SessionDep,
                         settings: SettingsDep) -> FileResponse:
    attachment = await service.get_attachment(session=session, actor=actor,
                                              attachment_id=attachment_id)
    return FileResponse(settings.attachment_dir / attachment.storage_key,
                        media_type=attachment.content_type, filename=attachment.filename)
