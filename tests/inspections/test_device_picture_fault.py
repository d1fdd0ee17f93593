"""A camera whose latest diagnosis is faulty is a faulty device on the device pages: a
picture-fault flag beside its status (liveness keeps it online), filterable on the
device list, a line in its status history; a later sweep finding the picture fine
clears it."""

from __future__ import annotations

import random

from django.urls import reverse

from campus_safety.devices.models import Device, StatusChange
from campus_safety.inspections import quality
from campus_safety.simulator import camera_faults
from tests.factories import sign_in
from tests.inspections.support import camera
from tests.inspections.test_quality import scene


def _sweep(cams, pictures, rng=None):
    """A sweep; the second camera shows its live scene (fresh sensor noise, not frozen)."""
    rng = rng or random.Random(len(pictures))
    pictures[cams[1].pk] = camera_faults.jpeg(camera_faults.expose(scene(1), rng))
    return quality.sweep(cams, fetch=lambda d: pictures[d.pk], workers=1)


def test_a_covered_camera_is_flagged_on_the_device_pages_and_cleared_when_fine(
    client, inspector, school
):
    cams = [camera(school, "entrance"), camera(school, "gate_room")]
    rng = random.Random(3)
    pictures = {c.pk: camera_faults.jpeg(camera_faults.expose(scene(i), rng)) for i, c in
                enumerate(cams)}  # fmt: skip
    _sweep(cams, pictures, rng)
    assert not Device.objects.filter(picture_fault_since__isnull=False).exists()

    pictures[cams[0].pk] = camera_faults.jpeg(camera_faults.occlude(scene(0), rng, 2))
    _sweep(cams, pictures, rng)
    covered = Device.objects.get(pk=cams[0].pk)
    assert covered.picture_faults == ["occluded"] and covered.picture_fault_since
    assert covered.status == Device.Status.ONLINE  # the picture fault is not "offline"
    change = StatusChange.objects.get(device=covered)
    assert change.from_status == change.to_status == Device.Status.ONLINE
    assert change.reason == "picture fault: occluded"

    sign_in(client, inspector)
    listing = client.get(reverse("devices:device_list"), {"picture_fault": "true"})
    text = listing.content.decode()
    assert covered.device_id in text and cams[1].device_id not in text
    assert "picture-fault" in text
    healthy = client.get(reverse("devices:device_list"), {"picture_fault": "false"})
    assert cams[1].device_id in healthy.content.decode()
    page = client.get(reverse("devices:device_detail", args=[covered.pk])).content.decode()
    assert "Picture fault" in page

    pictures[cams[0].pk] = camera_faults.jpeg(camera_faults.occlude(scene(0), rng, 2))
    again = _sweep(cams, pictures, rng)  # still covered: no second history line
    assert again.faulty == 1 and StatusChange.objects.filter(device=covered).count() == 1

    pictures[cams[0].pk] = camera_faults.jpeg(camera_faults.expose(scene(0), rng))
    _sweep(cams, pictures, rng)
    covered.refresh_from_db()
    assert covered.picture_faults == [] and covered.picture_fault_since is None
    assert StatusChange.objects.filter(device=covered).first().reason == "picture fine again"


def test_an_offline_camera_keeps_its_status_and_its_picture_flag_apart(school):
    cam = camera(school, "entrance")
    rng = random.Random(4)
    quality.diagnose_picture(cam, camera_faults.jpeg(camera_faults.expose(scene(5), rng)))
    quality.diagnose_picture(cam, camera_faults.jpeg(camera_faults.dark(scene(5), rng, 2)))
    Device.objects.filter(pk=cam.pk).update(status=Device.Status.OFFLINE)  # liveness' word
    cam.refresh_from_db()
    assert cam.status == Device.Status.OFFLINE and cam.picture_faults == ["dark"]
    quality.diagnose_picture(cam, camera_faults.jpeg(camera_faults.expose(scene(5), rng)))
    cam.refresh_from_db()
    assert cam.status == Device.Status.OFFLINE and cam.picture_fault_since is None


def test_a_picture_fault_in_a_cameras_history_is_said_in_the_readers_words():
    from django.utils import translation

    from campus_safety.devices import status_reasons

    stored = status_reasons.PICTURE_FAULT.text(detail="dark, occluded")
    assert stored == "picture fault: dark, occluded"  # the stored sentence stays English
    with translation.override("zh-hans"):
        assert status_reasons.in_words(stored) == "视频质量诊断发现画面故障：过暗、遮挡"
    with translation.override("en"):
        assert status_reasons.in_words(stored) == (
            "video quality diagnosis finds a picture fault: Too dark, Covered"
        )
