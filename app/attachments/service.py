"""Storing uploaded photos. The type is decided by decoding the bytes (Pillow), never by the
file name or the client's Content-Type, and anything larger than the limit is refused
before it is written."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.models import Attachment
from app.auth.actor import Actor
from app.auth.models import Role
from app.auth.scope import ticket_scope_clause
from app.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from app.storable import UNSTORABLE
from app.tickets.models import Ticket

ALLOWED_FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"),
                   "WEBP": ("image/webp", ".webp"), "GIF": ("image/gif", ".gif")}


def sniff_image(data: bytes, max_pixels: int = 64_000_000) -> tuple[str, str]:
    """(content type, extension) of an image, or UnsupportedMediaType; PayloadTooLarge for
    an image of more than ``max_pixels`` (a decompression bomb: a few bytes that claim
    100000×100000 pixels would take gigabytes to decode)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise Image.DecompressionBombError(f"{image.width}×{image.height} pixels")
            image.verify()
            fmt = image.format
    except Image.DecompressionBombError as exc:  # ours, or Pillow's own (global) limit
        raise PayloadTooLarge(f"the image has more than {max_pixels} pixels",
                              errors=[{"loc": ["body", "file"], "msg": f"over {max_pixels} pixels",
                                       "type": "too_many_pixels"}]) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedMediaType("the file is not a readable image (JPEG, PNG, WebP or GIF)",
                                   errors=[{"loc": ["body", "file"], "msg": "not an image",
                                            "type": "unsupported_media_type"}]) from exc
    if fmt not in ALLOWED_FORMATS:
        raise UnsupportedMediaType(f"image format {fmt} is not accepted; use JPEG, PNG, WebP or GIF",
                                   errors=[{"loc": ["body", "file"], "msg": f"format {fmt}",
                                            "type": "unsupported_media_type"}])
    return ALLOWED_FORMATS[fmt]


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes",
                              errors=[{"loc": ["body", "file"], "msg": f"over {limit} bytes",
                                       "type": "too_large"}])


async def store_attachment(*, session: AsyncSession, actor: Actor, data: bytes, filename: str,
                           directory: Path, max_bytes: int, now,
                           max_pixels: int = 64_000_000) -> Attachment:
    check_size(len(data), max_bytes)
    content_type, ext = sniff_image(data, max_pixels)
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}{ext}"
    path = directory / key
    if not path.exists():  # content-addressed: identical uploads share one file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    attachment_id = (await session.execute(insert(Attachment).returning(Attachment.id), {
        "sha256": digest, "content_type": content_type, "size": len(data),
        "filename": UNSTORABLE.sub("", filename)[:255] or "upload", "storage_key": key,
        "uploaded_by_user_id": actor.user_id, "uploaded_by_api_key_id": actor.api_key_id,
        "created_at": now,
    })).scalar_one()
    return await session.get_one(Attachment, attachment_id)


async def get_attachment(*, session: AsyncSession, actor: Actor, attachment_id: int) -> Attachment:
    """Visible to its uploader, and to whoever may see the ticket it belongs to."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(f"no attachment {attachment_id}")
    own = (attachment.uploaded_by_user_id == actor.user_id and actor.user_id is not None) or (
        attachment.uploaded_by_api_key_id == actor.api_key_id and actor.api_key_id is not None)
    if own or actor.role is Role.admin:
        return attachment
    if attachment.ticket_id is not None:
        visible = await session.execute(select(Ticket.id).where(
            Ticket.id == attachment.ticket_id, ticket_scope_clause(actor, Ticket)))
        if visible.first() is not None:
            return attachment
    raise NotFound(f"no attachment {attachment_id}")
