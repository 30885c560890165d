"""Storing uploaded photos, and who may see what of them.

An upload is checked and turned into its copies by ``images.process`` (in a thread: decoding
a 12-megapixel HEIC takes a while), anything larger than the limit being refused before
it is read. Files are content-addressed by the upload's SHA-256, under the attachment
folder:

    originals/ab/abcd….heic   the upload as it came (evidence; no endpoint serves it)
    served/ab/abcd….jpg       the copy every endpoint serves: no EXIF, no GPS
    thumbs/ab/abcd….jpg       the thumbnail lists show

Rows stored before copies existed (``thumbnail_key`` empty) kept the upload itself under
``storage_key``; their copies are made the first time they are read.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments import images, signing
from app.attachments.models import Attachment
from app.auth.actor import Actor
from app.auth.models import Role
from app.auth.scope import can_see_contact, ticket_scope_clause
from app.errors import NotFound, PayloadTooLarge
from app.messages import M
from app.storable import UNSTORABLE
from app.tickets.models import Ticket


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise PayloadTooLarge(M("error.file_too_large", limit=limit),
                              errors=[{"loc": ["body", "file"],
                                       "msg": M("error.over_bytes", limit=limit),
                                       "type": "too_large"}])


def _write(directory: Path, key: str, data: bytes) -> None:
    path = directory / key
    if path.exists():  # content-addressed: identical uploads share one file
        os.utime(path)  # in use again: the pruner leaves a file touched lately (retention)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def _store_copies(directory: Path, digest: str, processed: images.Processed) -> dict[str, str]:
    """Write the served copy and the thumbnail; their keys."""
    served_key = f"served/{digest[:2]}/{digest}{processed.extension}"
    thumbnail_key = f"thumbs/{digest[:2]}/{digest}.jpg"
    _write(directory, served_key, processed.served)
    _write(directory, thumbnail_key, processed.thumbnail)
    return {"storage_key": served_key, "thumbnail_key": thumbnail_key}


def _store(directory: Path, data: bytes, processed: images.Processed) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    original_key = f"originals/{digest[:2]}/{digest}{images.ORIGINAL_EXTENSIONS[processed.format]}"
    _write(directory, original_key, data)
    return {"sha256": digest, "original_key": original_key,
            **_store_copies(directory, digest, processed)}


async def store_attachment(*, session: AsyncSession, actor: Actor, data: bytes, filename: str,
                           directory: Path, max_bytes: int, now: datetime,
                           max_pixels: int = 64_000_000) -> Attachment:
    check_size(len(data), max_bytes)
    processed = await asyncio.to_thread(images.process, data, max_pixels)
    keys = await asyncio.to_thread(_store, directory, data, processed)
    attachment_id = (await session.execute(insert(Attachment).returning(Attachment.id), {
        **keys, "content_type": processed.content_type, "size": len(data),
        "original_content_type": processed.original_content_type,
        "evidence": processed.evidence,
        "filename": UNSTORABLE.sub("", filename)[:255] or "upload",
        "uploaded_by_user_id": actor.user_id, "uploaded_by_api_key_id": actor.api_key_id,
        "created_at": now,
    })).scalar_one()
    return await session.get_one(Attachment, attachment_id)


def _derive(directory: Path, attachment: Attachment) -> dict[str, Any]:
    data = (directory / attachment.storage_key).read_bytes()
    processed = images.process(data, max_pixels=2**62)  # it was checked when uploaded
    return {"original_key": attachment.storage_key, "content_type": processed.content_type,
            "original_content_type": attachment.content_type,
            "evidence": processed.evidence,
            **_store_copies(directory, attachment.sha256, processed)}


async def ensure_copies(*, session: AsyncSession, attachment: Attachment,
                        directory: Path) -> Attachment:
    """A row stored before served copies existed: make them now (once), so that nothing
    is ever served with its EXIF."""
    if attachment.thumbnail_key is not None:
        return attachment
    values = await asyncio.to_thread(_derive, directory, attachment)
    await session.execute(update(Attachment).where(Attachment.id == attachment.id,
                                                   Attachment.thumbnail_key.is_(None))
                          .values(**values))
    await session.refresh(attachment)
    return attachment


def _own(attachment: Attachment, actor: Actor) -> bool:
    return (attachment.uploaded_by_user_id == actor.user_id and actor.user_id is not None) or (
        attachment.uploaded_by_api_key_id == actor.api_key_id and actor.api_key_id is not None)


async def _ticket(session: AsyncSession, actor: Actor, ticket_id: int) -> Ticket | None:
    """The ticket, if ``actor`` may see it."""
    return (await session.execute(select(Ticket).where(
        Ticket.id == ticket_id, ticket_scope_clause(actor, Ticket)))).scalar_one_or_none()


async def get_attachment(*, session: AsyncSession, actor: Actor, attachment_id: int) -> Attachment:
    """Visible to its uploader, and to whoever may see the ticket it belongs to."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(M("error.no_attachment", id=attachment_id))
    if _own(attachment, actor) or actor.role is Role.admin:
        return attachment
    if attachment.ticket_id is not None and await _ticket(session, actor,
                                                          attachment.ticket_id) is not None:
        return attachment
    raise NotFound(M("error.no_attachment", id=attachment_id))


async def may_see_evidence(*, session: AsyncSession, actor: Actor,
                           attachment: Attachment) -> bool:
    """Where and when a photo was taken says where the reporter stood: shown to its
    uploader, and to those who see the ticket's reporter unmasked (the dispatchers of its
    community and street, the department handling it, admins)."""
    if _own(attachment, actor) or actor.role is Role.admin:
        return True
    if attachment.ticket_id is None:
        return False
    ticket = await _ticket(session, actor, attachment.ticket_id)
    return ticket is not None and can_see_contact(
        actor, street_id=ticket.street_id, community_id=ticket.community_id,
        department_id=ticket.department_id)


async def get_signed(*, session: AsyncSession, secret: str, attachment_id: int, expires: int,
                     signature: str, now: datetime, directory: Path) -> Attachment:
    """The attachment a signed link names (403 tampered, 410 expired, 404 gone)."""
    signing.check(secret, attachment_id, expires, signature, now)
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.ticket_id is None:
        raise NotFound(M("error.no_attachment", id=attachment_id))
    return await ensure_copies(session=session, attachment=attachment, directory=directory)


def media_link(*, secret: str, attachment_id: int, now: datetime, days: int) -> str:
    return signing.media_path(secret, attachment_id, now, timedelta(days=days))
