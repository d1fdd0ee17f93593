"""The VQD sweep: fetch every camera's snapshot (its HTTP snapshot URL; the simulator
serves them), diagnose it against the camera's reference and previous signature
(vqd.py) and store the outcome — set-based, a chunk of cameras per transaction.

The first clean picture of a camera becomes its reference (until then the absolute
rules judge it, and a faulty first picture does not make its fault the camera's
normal); an inspector resets the reference after a repair or a deliberate move
(``reset_reference``). A faulty picture
is kept as evidence (QualityCheck.picture) and a new fault is announced on the bus.
Live video (issue #16) can replace the snapshot by a frame from a short stream by
passing another ``fetch``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db import connections, router, transaction

from campus_safety import bus, clock
from campus_safety.devices import services as device_services
from campus_safety.devices import snapshots
from campus_safety.devices.models import Device
from campus_safety.devices.snapshots import SnapshotUnavailable
from campus_safety.inspections import vqd
from campus_safety.inspections.models import CameraQuality, QualityCheck

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 5.0
CHUNK = 200
Fetch = Callable[[Device], bytes]


def fetch_snapshot(device: Device) -> bytes:
    """The camera's current snapshot over HTTP, at most 4 MiB, within about 5 s."""
    data, _content_type = snapshots.fetch_snapshot(
        device.snapshot_url, max_bytes=vqd.MAX_JPEG_BYTES, timeout=FETCH_TIMEOUT
    )
    return data


@dataclass
class Outcome:
    device: Device
    data: bytes = b""
    diagnosis: vqd.Diagnosis | None = None
    signature: str = ""  # the diagnosis's signature as stored (made in the worker)
    error: str = ""
    fetch_s: float = 0.0
    diagnose_s: float = 0.0


@dataclass
class SweepResult:
    cameras: int = 0
    diagnosed: int = 0
    faulty: int = 0
    new_faults: int = 0
    errors: int = 0
    seconds: float = 0.0
    by_fault: dict[str, int] = field(default_factory=dict)
    # Where the time went, in thread-seconds (the workers' fetch and diagnosis overlap;
    # reading states and storing run on the sweep's own thread).
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _diagnose(device: Device, data: bytes, state: CameraQuality | None) -> Outcome:
    reference = vqd.Signature.from_json(state.reference) if state and state.reference else None
    previous = vqd.Signature.from_json(state.last) if state and state.last else None
    try:
        diagnosis = vqd.diagnose_jpeg(data, reference, previous)
    except vqd.UnreadablePicture as exc:
        return Outcome(device, error=str(exc))
    return Outcome(device, data, diagnosis, signature=diagnosis.signature.to_json())


def diagnose_picture(device: Device, data: bytes) -> QualityCheck:
    """One camera, one picture (a test, an upload, a patrol's snapshot)."""
    state = CameraQuality.objects.filter(device=device).first()
    checks = _store([_diagnose(device, data, state)], {device.pk: state} if state else {})
    return checks[0]


def sweep(
    devices: Iterable[Device] | None = None,
    fetch: Fetch = fetch_snapshot,
    workers: int = 8,
) -> SweepResult:
    """Diagnose every camera with a snapshot URL (or ``devices``)."""
    started = time.perf_counter()
    if devices is None:
        devices = Device.objects.filter(kind=Device.Kind.CAMERA, is_approved=True).exclude(
            snapshot_url=""
        )
    cameras = list(devices)
    result = SweepResult(cameras=len(cameras))
    stages = {"fetch": 0.0, "diagnose": 0.0, "states": 0.0, "store": 0.0}

    def one(device: Device, state: CameraQuality | None) -> Outcome:
        started = time.perf_counter()
        try:
            data = fetch(device)
        except SnapshotUnavailable as exc:
            return Outcome(device, error=str(exc), fetch_s=time.perf_counter() - started)
        fetched = time.perf_counter()
        outcome = _diagnose(device, data, state)
        outcome.fetch_s, outcome.diagnose_s = fetched - started, time.perf_counter() - fetched
        return outcome

    def submit(pool: ThreadPoolExecutor, chunk: list[Device]):
        started = time.perf_counter()
        states = {
            s.device_id: s for s in CameraQuality.objects.filter(device__in=[d.pk for d in chunk])
        }
        stages["states"] += time.perf_counter() - started
        return states, [pool.submit(one, device, states.get(device.pk)) for device in chunk]

    chunks = [cameras[start : start + CHUNK] for start in range(0, len(cameras), CHUNK)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vqd") as pool:
        # The next chunk is fetched and diagnosed while this one is stored: the
        # workers never wait for the database.
        pending = submit(pool, chunks[0]) if chunks else None
        for index in range(len(chunks)):
            states, futures = pending
            if index + 1 < len(chunks):
                pending = submit(pool, chunks[index + 1])
            outcomes = [future.result() for future in futures]
            for outcome in outcomes:
                stages["fetch"] += outcome.fetch_s
                stages["diagnose"] += outcome.diagnose_s
            storing = time.perf_counter()
            checks = _store(outcomes, states)
            stages["store"] += time.perf_counter() - storing
            for check in checks:
                if check.error:
                    result.errors += 1
                    continue
                result.diagnosed += 1
                if check.faults:
                    result.faulty += 1
                    for fault in check.faults:
                        result.by_fault[fault] = result.by_fault.get(fault, 0) + 1
            result.new_faults += sum(1 for c in checks if getattr(c, "is_new_fault", False))
    result.seconds = round(time.perf_counter() - started, 2)
    result.stage_seconds = {k: round(v, 2) for k, v in stages.items()}
    return result


def _store(outcomes: list[Outcome], states: dict[int, CameraQuality]) -> list[QualityCheck]:
    """Write a chunk: a check per camera (picture kept when faulty), the cameras' states."""
    now = clock.now()
    checks: list[QualityCheck] = []
    with transaction.atomic():
        new_states, changed_states = [], []
        for outcome in outcomes:
            device = outcome.device
            diagnosis = outcome.diagnosis
            check = QualityCheck(
                device=device,
                school_id=device.school_id,
                at=now,
                faults=list(diagnosis.faults) if diagnosis else [],
                measures=diagnosis.measures if diagnosis else {},
                error=outcome.error[:255],
            )
            state = states.get(device.pk)
            if state is None:
                state = CameraQuality(device=device, school_id=device.school_id)
                states[device.pk] = state
                new_states.append(state)
            else:
                changed_states.append(state)
            if diagnosis is not None:
                before = set(state.faults)
                if diagnosis.faults:
                    check.picture.save(
                        f"{now:%Y%m%d%H%M%S}.jpg", ContentFile(outcome.data), save=False
                    )
                check.is_new_fault = bool(set(diagnosis.faults) - before)  # type: ignore[attr-defined]
                state.last = outcome.signature or diagnosis.signature.to_json()
                state.checked_at = now
                state.faults = list(diagnosis.faults)
                if diagnosis.faults and not before:
                    state.faulty_since = now
                elif not diagnosis.faults:
                    state.faulty_since = None
                # The first clean picture becomes the reference (a camera's picture "as
                # installed"): a dark, covered or blurred one would make the fault the
                # camera's normal. Until then the absolute rules judge it; an inspector
                # resets the reference after a fix or a deliberate move.
                if not state.reference and not diagnosis.faults:
                    state.reference, state.reference_at = state.last, now
                if check.is_new_fault:  # type: ignore[attr-defined]
                    bus.publish_on_commit(
                        "inspection.camera_fault",
                        device_id=device.device_id,
                        school_id=device.school_id,
                        faults=list(diagnosis.faults),
                    )
            checks.append(check)
        created = QualityCheck.objects.bulk_create(checks)
        for check, state in zip(created, [states[o.device.pk] for o in outcomes], strict=True):
            state.last_check = check
        CameraQuality.objects.bulk_create(new_states)
        _update_states(changed_states)
        # The device pages show and filter a camera whose picture is faulty (a flag
        # beside the status: liveness keeps online/offline), and clear it when fine.
        device_services.set_picture_faults(
            {o.device.pk: list(o.diagnosis.faults) for o in outcomes if o.diagnosis}, now
        )
    return checks


STATE_FIELDS = (
    "last",
    "checked_at",
    "faults",
    "faulty_since",
    "reference",
    "reference_at",
    "last_check",
)


def _update_states(states: list[CameraQuality]) -> None:
    """One prepared UPDATE run for every row (``executemany``): ``bulk_update`` would
    build a CASE expression per field per row, which cost more of a sweep's time than
    diagnosing the pictures. Values are prepared by the fields themselves, as the ORM
    does (JSON, time zones)."""
    if not states:
        return
    connection = connections[router.db_for_write(CameraQuality)]
    fields = [CameraQuality._meta.get_field(name) for name in STATE_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    table = quote(CameraQuality._meta.db_table)
    sql = f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608 - names from the model
    rows = [
        [field.get_db_prep_save(field.pre_save(state, False), connection) for field in fields]
        + [state.pk]
        for state in states
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def reset_reference(state: CameraQuality, by, at: dt.datetime | None = None) -> CameraQuality:
    """Take the camera's last picture as its new reference (after a deliberate move)."""
    from campus_safety.audit import services as audit

    with transaction.atomic():
        state.reference, state.reference_at = state.last, at or clock.now()
        state.faults = [f for f in state.faults if f != vqd.MOVED]
        state.save(update_fields=["reference", "reference_at", "faults"])
        device_services.set_picture_faults({state.device_id: list(state.faults)}, clock.now())
        audit.record("inspection.vqd_reference", state, user=by)
    return state
