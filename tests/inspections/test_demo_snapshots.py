"""The demo's snapshots read as real cameras' pictures (issue #19 review): a healthy
camera is judged healthy from its first sweep, before it has a reference; the cameras
given a fault (camera_faults.DEMO_RATES), whose reference the demo seeds, are found on
the first sweep — and only those (a frozen feed from the second, by its repeat)."""

from __future__ import annotations

from campus_safety.devices.identifiers import make_device_id
from campus_safety.inspections import vqd
from campus_safety.simulator import camera_faults, snapshots

CAMERAS = [make_device_id("371499", "132", 700000 + i * 13) for i in range(240)]


def _snapshot(device_id: str, **kw) -> bytes:
    return snapshots.render_snapshot(device_id, "南门摄像机", "德城区实验小学", **kw)


def test_healthy_cameras_are_healthy_without_a_reference():
    healthy = [d for d in CAMERAS if camera_faults.demo_fault(d) is None]
    flagged = [d for d in healthy if vqd.diagnose_jpeg(_snapshot(d)).faults]
    assert len(healthy) > 200 and flagged == []


def test_the_first_sweep_finds_the_faulty_cameras_against_their_seeded_reference():
    found, faulty = set(), set()
    for device_id in CAMERAS:
        reference = vqd.measure_jpeg(_snapshot(device_id, clean=True))
        first = vqd.diagnose_jpeg(_snapshot(device_id), reference, None)
        second = vqd.diagnose_jpeg(_snapshot(device_id), reference, first.signature)
        if first.faults or second.faults:
            found.add(device_id)
        if camera_faults.demo_fault(device_id):
            faulty.add(device_id)
        if camera_faults.demo_fault(device_id) not in (None, "frozen"):
            assert first.faults, device_id
    assert faulty, "the sample holds some faulty cameras"
    assert found == faulty


def test_cameras_look_at_different_scenes():
    views = {snapshots.camera_view(d).tobytes()[:5000] for d in CAMERAS[:40]}
    assert len(views) > 20
