"""Photo uploads: images only, judged by their content (never their name or the browser's
content type), within a size and pixel limit, and without their GPS position when the
uploader asks (a photo taken on a phone inside a school may carry the exact spot).
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format → (extension, content type). HEIC is not read by Pillow: phones send JPEG
# from a browser's file input anyway.
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
GPS_IFD = 0x8825  # EXIF GPSInfo


class PhotoRejected(ValueError):
    """The upload is not an acceptable photo; the message says why (shown to the user)."""


@dataclass(frozen=True)
class CheckedPhoto:
    content: ContentFile
    extension: str
    content_type: str
    size: int
    width: int
    height: int
    location_stripped: bool
    token: str


def max_bytes() -> int:
    return int(getattr(settings, "HAZARD_PHOTO_MAX_BYTES", 8 * 1024 * 1024))


def max_pixels() -> int:
    return int(getattr(settings, "HAZARD_PHOTO_MAX_PIXELS", 40_000_000))


def max_per_upload() -> int:
    return int(getattr(settings, "HAZARD_PHOTOS_PER_UPLOAD", 6))


def _read_limited(upload: BinaryIO, name: str) -> bytes:
    size = getattr(upload, "size", None)
    limit = max_bytes()
    if size is not None and size > limit:
        raise PhotoRejected(_too_large(name, limit))
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise PhotoRejected(_too_large(name, limit))
    if not data:
        raise PhotoRejected(_("%(name)s is empty.") % {"name": name})
    return data


def _too_large(name: str, limit: int) -> str:
    return _("%(name)s is larger than %(mb)s MB.") % {"name": name, "mb": limit // (1024 * 1024)}


def _strip_location(image: Image.Image, fmt: str) -> bytes:
    """Re-encode without the GPS block; orientation is applied to the pixels first so the
    picture still stands the right way up without its EXIF."""
    upright = ImageOps.exif_transpose(image)
    exif = upright.getexif()
    exif.pop(GPS_IFD, None)
    out = io.BytesIO()
    params: dict = {"exif": exif.tobytes()} if len(exif) else {}
    if fmt == "JPEG":
        params.update(quality=90)
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
    upright.save(out, format=fmt, **params)
    return out.getvalue()


def check_photo(upload: BinaryIO, *, strip_location: bool) -> CheckedPhoto:
    """Read ``upload``, prove it is a JPEG/PNG/WebP image of acceptable size, and return
    the bytes to store (re-encoded without GPS data when ``strip_location``)."""
    name = str(getattr(upload, "name", "") or _("The file"))[:80]
    data = _read_limited(upload, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                if fmt not in FORMATS:
                    raise PhotoRejected(
                        _("%(name)s is not a JPEG, PNG or WebP photo.") % {"name": name}
                    )
                if width * height > max_pixels():
                    raise PhotoRejected(_("%(name)s has too many pixels.") % {"name": name})
                probe.verify()  # structure and checksums, without decoding
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # a truncated or corrupt body fails here
                if strip_location:
                    data = _strip_location(image, fmt)
                    width, height = ImageOps.exif_transpose(image).size
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected(_("%(name)s is not an image.") % {"name": name}) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoRejected(
            _("%(name)s is damaged or not a photo (%(error)s).") % {"name": name, "error": exc}
        ) from None
    extension, content_type = FORMATS[fmt]
    token = secrets.token_hex(16)
    return CheckedPhoto(
        content=ContentFile(data, name=f"{token}.{extension}"),
        extension=extension,
        content_type=content_type,
        size=len(data),
        width=width,
        height=height,
        location_stripped=strip_location,
        token=token,
    )


def has_location(data: bytes) -> bool:
    """Does this image carry an EXIF GPS block? (Tests and the photo page ask.)"""
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(GPS_IFD))
