"""Helpers for hazard tests: real image bytes (with and without GPS data) and a quick
way to file a hazard through the service."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campus_safety.hazards import services
from campus_safety.hazards.uploads import GPS_IFD


def jpeg_bytes(*, gps: bool = False, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real JPEG; with ``gps`` it carries an EXIF GPS block (as phone photos do)."""
    image = Image.new("RGB", size, (200, 60, 40))
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # Make
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (37.0, 27.0, 0.0), 3: "E", 4: (116.0, 18.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 0, 255)).save(out, format="PNG")
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def internal(by, school, **overrides):
    """An internal hazard reported by ``by`` (a school's own self-check by default)."""
    fields = {
        "school": school,
        "kind": "internal",
        "title": "门卫室一键报警未联网",
        "category": "electronic",
        "severity": "high",
        "source": "self_check",
        "key_area": "gate_room",
        "facility": "一键报警",
    }
    fields.update(overrides)
    return services.report_hazard(by, **fields)


def trouble_spot(by, school, **overrides):
    fields = {
        "school": school,
        "kind": "surrounding",
        "title": "校门口流动摊贩",
        "category": "public_order",
        "severity": "medium",
        "source": "police_inspection",
        "spot_kind": "illegal_stalls",
        "location": "校门东侧50米",
        "distance_m": 50,
        "longitude": 116.31,
        "latitude": 37.451,
    }
    fields.update(overrides)
    return services.report_hazard(by, **fields)


def scope_matrix_objects(school, mark: str) -> dict:
    """For tests/accounts/test_scope_matrix.py: a trouble spot with a photo at the
    school, and a campaign whose only checklist is the school's."""
    import datetime as dt

    from campus_safety import clock
    from campus_safety.hazards.models import Campaign, Checklist, Hazard, HazardPhoto

    now = clock.now()
    hazard = Hazard.objects.create(
        reference=f"LD-{mark}", kind="surrounding", school=school, title=f"{mark}乱点",
        category="public_order", spot_kind="illegal_stalls", location=f"{mark}路口",
        source="police_inspection", verifier_side="police", reported_at=now,
    )  # fmt: skip
    # The row only (no file on disk): the matrix asks who reaches it, not what it shows.
    photo = HazardPhoto.objects.create(
        hazard=hazard, stage="found", token=f"t{mark}", extension="png", image="hazards/x.png",
        content_type="image/png", size=1, width=1, height=1, uploaded_at=now,
    )  # fmt: skip
    campaign = Campaign.objects.create(
        name=f"{mark}专项检查", template="gbt29315_full", starts_on=now.date(),
        due_on=now.date() + dt.timedelta(days=7), created_at=now,
    )  # fmt: skip
    checklist = Checklist.objects.create(campaign=campaign, school=school)
    return {"hazard": hazard, "hazard_photo": photo, "campaign": campaign, "checklist": checklist}
