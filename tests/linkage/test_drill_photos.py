"""Drill photos on the drill board: a thumbnail per drill held that has one, opening the
photo, served with its real type to the readers of that school's drills only."""

import datetime as dt
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campus_safety import clock
from campus_safety.linkage import services
from tests.factories import sign_in
from tests.linkage.support import make_world

pytestmark = pytest.mark.django_db


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return make_world()


def test_the_board_shows_a_drills_photo_and_serves_it_to_its_readers_only(client, world):
    drill = services.record_drill(
        world.contact,
        world.school,
        kind="fire",
        held_at=clock.now() - dt.timedelta(hours=2),
        evacuation_seconds=110,
        participants=600,
        photo=SimpleUploadedFile("drill.png", png_bytes(), content_type="image/png"),
    )
    plain = services.record_drill(
        world.contact, world.school, kind="earthquake", held_at=clock.now() - dt.timedelta(hours=1)
    )
    photo_url = reverse("linkage:drill_photo", args=[drill.pk])
    sign_in(client, world.bureau_staff)
    board = client.get(reverse("linkage:drills")).content.decode()
    assert f'<img src="{photo_url}"' in board
    assert reverse("linkage:drill_photo", args=[plain.pk]) not in board
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert b"".join(photo.streaming_content) == png_bytes()
    assert "max-age=86400" in photo["Cache-Control"] and "private" in photo["Cache-Control"]
    assert client.get(reverse("linkage:drill_photo", args=[plain.pk])).status_code == 404
    sign_in(client, world.other_contact)  # another school's administrator
    assert client.get(photo_url).status_code == 404
    assert photo_url not in client.get(reverse("linkage:drills")).content.decode()
