"""The VQD sweep over cameras (fetch → diagnose → store): the first picture with a
signal becomes the reference, later faults are found against it, kept with their
picture and announced once; a camera giving no picture is counted, not crashed on."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time

import numpy as np
import pytest

from campus_safety import bus
from campus_safety.inspections import quality
from campus_safety.inspections.models import CameraQuality, QualityCheck
from campus_safety.simulator import camera_faults
from tests.inspections.support import camera


def scene(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = np.full((576, 704, 3), 110, np.uint8)
    for _ in range(60):
        x, y = rng.integers(0, 650), rng.integers(40, 520)
        frame[y : y + 50, x : x + 50] = rng.integers(20, 240, 3)
    return frame


def test_sweep_references_then_faults_then_repeats_quietly(
    school, django_capture_on_commit_callbacks
):
    cams = [camera(school, "entrance"), camera(school, "gate_room"), camera(school, "canteen")]
    rng = random.Random(1)
    pictures = {
        c.pk: camera_faults.jpeg(camera_faults.expose(scene(i), rng)) for i, c in enumerate(cams)
    }

    def fetch(device):
        if device.pk == cams[2].pk:
            raise quality.SnapshotUnavailable("refused")
        return pictures[device.pk]

    first = quality.sweep(cams, fetch=fetch, workers=2)
    assert (first.diagnosed, first.faulty, first.errors) == (2, 0, 1)
    assert all(s.reference for s in CameraQuality.objects.filter(device__in=cams[:2]))

    pictures[cams[0].pk] = camera_faults.jpeg(camera_faults.blur(scene(0), rng, 2))
    # A static scene under the very same light: only the sensor noise is new — live,
    # not frozen.
    pictures[cams[1].pk] = camera_faults.jpeg(camera_faults.expose(scene(1), rng))
    heard = []
    stop = bus.subscribe("inspection.camera_fault", lambda name, p: heard.append(p))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            second = quality.sweep(cams, fetch=fetch, workers=2)
            third = quality.sweep(cams, fetch=fetch, workers=2)
    finally:
        stop()
    assert second.by_fault == {"blur": 1}
    assert third.by_fault.get("blur") == 1
    assert third.by_fault.get("frozen") == 2  # the same bytes again: nothing moves
    assert next(p["faults"] for p in heard if p["device_id"] == cams[0].device_id) == ["blur"]
    state = CameraQuality.objects.get(device=cams[0])
    assert "blur" in state.faults and state.faulty_since is not None
    assert state.last_check.picture
    assert QualityCheck.objects.filter(device=cams[2]).exclude(error="").count() == 3


@contextlib.contextmanager
def hostile_camera(answer):
    """A snapshot server on a free port that runs ``answer(connection)`` per request."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(4096)
                with contextlib.suppress(OSError):
                    answer(conn, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/snapshot.jpg"
    finally:
        stop.set()
        thread.join()
        listener.close()


def trickle(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n")
    while not stop.wait(0.1):  # a byte well within every socket timeout, forever
        conn.sendall(b"\xff")


def garbage(conn, stop):
    conn.sendall(b"HELLO, I am not HTTP\r\n\r\n")


def too_large(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n")


@pytest.mark.parametrize("answer", [trickle, garbage, too_large])
def test_a_hostile_snapshot_server_is_an_error_in_bounded_time(school, monkeypatch, answer):
    monkeypatch.setattr(quality, "FETCH_TIMEOUT", 0.5)
    cam = camera(school, "entrance")
    with hostile_camera(answer) as url:
        cam.snapshot_url = url
        started = time.monotonic()
        result = quality.sweep([cam], workers=1)
    assert (result.diagnosed, result.errors) == (0, 1)
    assert time.monotonic() - started < 3
