"""Photo uploads: images only (by content), a size limit, GPS data removed on request,
and every refusal a clear 4xx with the reason."""

import io

import pytest
from PIL import Image

from campus_safety.hazards.models import HazardPhoto
from campus_safety.hazards.uploads import has_location
from tests.factories import sign_in
from tests.hazards.support import jpeg_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db


def report(client, school, *files, strip=True):
    data = {
        "kind": "internal", "school": school.pk, "title": "围墙破损", "category": "physical",
        "severity": "medium", "source": "self_check", "key_area": "perimeter",
        "facility": "围墙", "photos": list(files), "strip_location": "true" if strip else "false",
    }  # fmt: skip
    return client.post("/api/v1/hazards/", data)


def stored(pk):
    row = HazardPhoto.objects.get(pk=pk)
    with row.image.open("rb") as handle:
        return row, handle.read()


def test_location_data_is_removed_when_asked(client, school_admin, school):
    original = jpeg_bytes(gps=True)
    assert has_location(original)
    sign_in(client, school_admin)
    response = report(client, school, upload(original))
    assert response.status_code == 201, response.content
    photo = response.json()["photos"][0]
    row, data = stored(photo["id"])
    assert row.location_stripped and photo["location_stripped"]
    assert not has_location(data)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert image.getexif().get(0x010F) == "TestPhone"  # the rest of EXIF stays


def test_location_data_is_kept_when_the_uploader_says_so(client, school_admin, school):
    sign_in(client, school_admin)
    response = report(client, school, upload(jpeg_bytes(gps=True)), strip=False)
    assert response.status_code == 201
    _row, data = stored(response.json()["photos"][0]["id"])
    assert has_location(data)


def test_a_text_file_named_like_a_photo_is_refused(client, school_admin, school):
    sign_in(client, school_admin)
    fake = upload(b"<?php system($_GET['c']); ?>" * 10, name="evil.jpg")
    response = report(client, school, fake)
    assert response.status_code == 400
    assert "evil.jpg is not an image" in response.json()["photos"][0]
    assert not HazardPhoto.objects.exists()
    assert not school.hazards.exists()  # nothing is written when a photo is bad


def test_a_gif_is_refused_even_with_an_image_content_type(client, school_admin, school):
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, format="GIF")
    sign_in(client, school_admin)
    response = report(
        client, school, upload(out.getvalue(), name="a.gif", content_type="image/gif")
    )
    assert response.status_code == 400
    assert "not a JPEG, PNG or WebP" in response.json()["photos"][0]


def test_a_truncated_jpeg_is_refused(client, school_admin, school):
    data = jpeg_bytes(size=(400, 300))
    sign_in(client, school_admin)
    response = report(client, school, upload(data[: len(data) // 2], name="cut.jpg"))
    assert response.status_code == 400
    assert "cut.jpg" in response.json()["photos"][0]


def test_a_photo_over_the_size_limit_is_refused(client, settings, school_admin, school):
    settings.HAZARD_PHOTO_MAX_BYTES = 1024 * 1024
    big = jpeg_bytes(size=(10, 10)) + b"\0" * (1024 * 1024)
    sign_in(client, school_admin)
    response = report(client, school, upload(big, name="big.jpg"))
    assert response.status_code == 400
    assert "larger than 1 MB" in response.json()["photos"][0]


def test_too_many_photos_at_once_are_refused(client, settings, school_admin, school):
    settings.HAZARD_PHOTOS_PER_UPLOAD = 2
    sign_in(client, school_admin)
    response = report(client, school, *(upload(png_bytes(), name=f"{n}.png") for n in range(3)))
    assert response.status_code == 400
    assert "At most 2" in response.json()["photos"][0]


def test_png_is_accepted_and_stored_under_a_random_name(client, school_admin, school):
    sign_in(client, school_admin)
    response = report(client, school, upload(png_bytes(), name="../../etc/passwd.png"))
    assert response.status_code == 201
    row, data = stored(response.json()["photos"][0]["id"])
    assert row.content_type == "image/png" and data.startswith(b"\x89PNG")
    assert "passwd" not in row.image.name and row.image.name.startswith("hazards/")


def test_the_report_page_shows_the_reason_for_a_bad_photo(client, school_admin, school):
    sign_in(client, school_admin)
    response = client.post(
        "/hazards/report/",
        {"kind": "internal", "school": school.pk, "title": "配电室", "category": "building",
         "severity": "high", "source": "self_check", "key_area": "utility_rooms",
         "photos": [upload(b"not an image", name="x.jpg")], "strip_location": "on"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "x.jpg is not an image" in response.content.decode()
