"""What an uploaded photo becomes: the copy that is served, its thumbnail, and the evidence
its EXIF carried.

- The type is decided by decoding the bytes (Pillow; pillow-heif adds HEIC/HEIF, what
  iPhones take), never by the file name or the client's Content-Type.
- An image claiming more than ``max_pixels`` is refused before it is decoded (a
  decompression bomb: a few bytes that claim 100000×100000 pixels).
- Every served copy is re-encoded from the pixels alone, turned upright by its EXIF
  orientation first: no EXIF, XMP or GPS survives in it. HEIC/HEIF becomes JPEG (every
  browser and Open311 client reads JPEG); PNG and WebP stay what they are; a GIF is served
  as uploaded (the format has no EXIF).
- The evidence — when the photo was taken and where (EXIF ``DateTimeOriginal`` with its
  offset, and the GPS position) — is read before stripping and returned as plain data,
  to be kept in the attachment's row and shown only to those who may see the reporter.

Pure functions of bytes: no database, no files; the service runs them in a thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image, ImageOps
from pillow_heif import register_heif_opener

from app.errors import PayloadTooLarge, UnsupportedMediaType
from app.messages import M

register_heif_opener()

THUMBNAIL_SIDE = 320  # px, the longer side: a list row or a map popup
SERVED_JPEG_QUALITY = 90
THUMBNAIL_JPEG_QUALITY = 80

# Decoded format → (content type of the upload, content type served, extension served).
FORMATS = {
    "JPEG": ("image/jpeg", "image/jpeg", ".jpg"),
    "HEIF": ("image/heic", "image/jpeg", ".jpg"),
    "PNG": ("image/png", "image/png", ".png"),
    "WEBP": ("image/webp", "image/webp", ".webp"),
    "GIF": ("image/gif", "image/gif", ".gif"),
}
ORIGINAL_EXTENSIONS = {"JPEG": ".jpg", "HEIF": ".heic", "PNG": ".png", "WEBP": ".webp",
                       "GIF": ".gif"}
ACCEPTED = "JPEG, PNG, WebP, GIF or HEIC/HEIF"


@dataclass(frozen=True, slots=True)
class Processed:
    """An upload made ready to store."""

    format: str  # the decoded format of the upload (JPEG, HEIF, …)
    original_content_type: str
    content_type: str  # of the served copy
    extension: str  # of the served copy
    served: bytes  # the copy every endpoint serves: no metadata
    thumbnail: bytes  # JPEG, at most THUMBNAIL_SIDE px on its longer side
    evidence: dict[str, Any] | None  # {"taken_at": …, "gps": {…}} or None when none


def _unreadable(exc: Exception | None = None, message: str | None = None) -> UnsupportedMediaType:
    error = UnsupportedMediaType(
        message or f"the file is not a readable image ({ACCEPTED})",
        errors=[{"loc": ["body", "file"], "msg": message or "not an image",
                 "type": "unsupported_media_type"}])
    if exc is not None:
        error.__cause__ = exc
    return error


def _too_many_pixels(max_pixels: int) -> PayloadTooLarge:
    return PayloadTooLarge(M("error.image_too_many_pixels", limit=max_pixels),
                           errors=[{"loc": ["body", "file"],
                                    "msg": M("error.over_pixels", limit=max_pixels),
                                    "type": "too_many_pixels"}])


def sniff(data: bytes, max_pixels: int) -> str:
    """The decoded format of ``data`` (a key of ``FORMATS``), checking its size from the
    header before anything is decoded; 415 for what is no accepted image, 413 for a bomb."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise Image.DecompressionBombError(f"{image.width}×{image.height} pixels")
            image.verify()
            fmt = image.format
    except Image.DecompressionBombError as exc:  # ours, or Pillow's own (global) limit
        raise _too_many_pixels(max_pixels) from exc
    except Exception as exc:  # noqa: BLE001 - hostile bytes break decoders in many ways
        raise _unreadable(exc) from exc
    if fmt not in FORMATS:
        raise _unreadable(message=f"image format {fmt} is not accepted; use {ACCEPTED}")
    return fmt


# --- evidence ----------------------------------------------------------------------------

def _rational(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _degrees(dms: Any, ref: Any) -> float | None:
    try:
        d, m, s = (_rational(v) for v in dms)
    except (TypeError, ValueError):
        return None
    if d is None or m is None or s is None:
        return None
    value = d + m / 60 + s / 3600
    return round(-value if str(ref).strip().upper() in ("S", "W") else value, 7)


def _gps(exif: Image.Exif) -> dict[str, float] | None:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if not gps:
        return None
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    found: dict[str, float] = {"lat": lat, "lon": lon}
    altitude = _rational(gps.get(ExifTags.GPS.GPSAltitude))
    if altitude is not None:
        below = gps.get(ExifTags.GPS.GPSAltitudeRef) in (1, b"\x01")
        found["altitude_m"] = round(-altitude if below else altitude, 1)
    return found


def _taken_at(exif: Image.Exif) -> str | None:
    """``DateTimeOriginal`` as ISO 8601, with its offset when the camera recorded one
    (phones do: ``OffsetTimeOriginal``), else as the camera's local time."""
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    raw = ifd.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = ifd.get(ExifTags.Base.OffsetTimeOriginal)
    text = moment.isoformat()
    if isinstance(offset, str) and len(offset.strip("\x00 ")) == 6:
        text += offset.strip("\x00 ")
    return text


def read_evidence(image: Image.Image) -> dict[str, Any] | None:
    """When and where the photo was taken, from its EXIF; None when it says neither."""
    try:
        exif = image.getexif()
        evidence: dict[str, Any] = {}
        taken = _taken_at(exif)
        if taken:
            evidence["taken_at"] = taken
        gps = _gps(exif)
        if gps:
            evidence["gps"] = gps
        make, model = exif.get(ExifTags.Base.Make), exif.get(ExifTags.Base.Model)
        camera = " ".join(str(p).strip("\x00 ") for p in (make, model) if p)
        if camera:
            evidence["camera"] = camera[:100]
    except Exception:  # noqa: BLE001 - a broken EXIF block is no evidence, not a failed upload
        return None
    return evidence or None


# --- the copies ----------------------------------------------------------------------------

def _bare(image: Image.Image) -> Image.Image:
    """The pixels alone, upright: nothing of the file's metadata goes with them."""
    upright = ImageOps.exif_transpose(image) or image
    bare = upright.copy()
    bare.info = {}
    return bare


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _served(bare: Image.Image, fmt: str, data: bytes) -> bytes:
    if fmt == "GIF":
        return data
    if fmt in ("JPEG", "HEIF"):
        return _encode(_rgb(bare), "JPEG", quality=SERVED_JPEG_QUALITY, optimize=True)
    if fmt == "WEBP":
        return _encode(bare, "WEBP", quality=SERVED_JPEG_QUALITY)
    return _encode(bare, "PNG", optimize=True)


def thumbnail_of(bare: Image.Image) -> bytes:
    small = _rgb(bare)
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return _encode(small, "JPEG", quality=THUMBNAIL_JPEG_QUALITY, optimize=True)


def process(data: bytes, max_pixels: int) -> Processed:
    """Check ``data``, read its evidence and make the served copy and the thumbnail."""
    fmt = sniff(data, max_pixels)
    try:
        with Image.open(io.BytesIO(data)) as image:
            evidence = read_evidence(image)
            image.load()
            bare = _bare(image)
        served = _served(bare, fmt, data)
        thumbnail = thumbnail_of(bare)
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(max_pixels) from exc
    except Exception as exc:  # noqa: BLE001 - e.g. truncated after a valid header
        raise _unreadable(exc) from exc
    original, content_type, ext = FORMATS[fmt]
    return Processed(format=fmt, original_content_type=original, content_type=content_type,
                     extension=ext, served=served, thumbnail=thumbnail, evidence=evidence)
