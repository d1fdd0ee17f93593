"""Device domain operations: device events, channels from a catalog, pending devices
and their approval, maintenance windows, faults to repair, online rates (在线率).

Keepalives and state transitions live in ``liveness.py``/``transitions.py``; this module
holds what views, the API, reports and the gateway ask of the registry.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from campus_safety import bus, clock
from campus_safety.audit import services as audit
from campus_safety.devices import identifiers, liveness, status_reasons, type_names
from campus_safety.devices.directory import announce_change
from campus_safety.devices.models import (
    Device,
    DeviceEvent,
    KeyArea,
    MaintenanceWindow,
    StatusChange,
)
from campus_safety.orgs.models import School
from campus_safety.scoping import region_prefix, scope_q

log = logging.getLogger(__name__)


def record_device_event(
    *,
    device_pk: int,
    device_id: str,
    school_id: int | None,
    kind: str,
    event_id: str,
    occurred_at: dt.datetime,
    received_at: dt.datetime,
    payload: dict[str, Any],
) -> tuple[int, bool]:
    """Store a status report or patrol scan once per (device, event_id); returns
    (pk, created). A retried delivery is answered with the stored row."""
    event = DeviceEvent(
        device_id=device_pk,
        kind=kind,
        event_id=event_id,
        occurred_at=occurred_at,
        received_at=received_at,
        payload=payload,
    )
    try:
        with transaction.atomic():
            DeviceEvent.objects.bulk_create([event])  # bulk: no audit entry per scan
    except IntegrityError:
        existing = (
            DeviceEvent.objects.filter(device_id=device_pk, event_id=event_id)
            .values_list("pk", flat=True)
            .first()
        )
        if existing is None:
            raise
        return existing, False
    if kind == DeviceEvent.Kind.PATROL:
        bus.publish_on_commit(
            "patrol.scan",
            device_event_id=event.pk,
            device_pk=device_pk,
            device_id=device_id,
            school_id=school_id,
            checkpoint_id=payload.get("checkpoint_id", ""),
            card_id=payload.get("card_id", ""),
            guard_id=payload.get("guard_id", ""),
            occurred_at=occurred_at.isoformat(),
        )
    return event.pk, True


def faults_to_repair(
    devices: QuerySet[Device] | None = None, now: dt.datetime | None = None
) -> QuerySet[Device]:
    """Devices to send someone to: faulty, or offline beyond ``LIVENESS_FAULT_AFTER_HOURS``
    (even before the sweeper has marked them), longest-broken first."""
    devices = Device.objects.all() if devices is None else devices
    cutoff = (now or clock.now()) - dt.timedelta(hours=settings.LIVENESS_FAULT_AFTER_HOURS)
    return devices.filter(
        Q(status=Device.Status.FAULT) | Q(status=Device.Status.OFFLINE, status_since__lte=cutoff)
    ).order_by("status_since", "device_id")


def set_picture_faults(changes: dict[int, list[str]], at: dt.datetime) -> int:
    """Cameras whose picture faults changed (video quality diagnosis): device pk → the
    faults now (empty: the picture is fine again). Sets the picture-fault flag beside
    the status — liveness keeps saying online or offline — and records each change in
    the status history (status unchanged, the reason says what the picture shows).
    Returns how many devices changed."""
    if not changes:
        return 0
    rows = Device.objects.filter(pk__in=list(changes)).values_list("pk", "picture_faults", "status")
    current = {pk: faults for pk, faults, _status in rows}
    statuses = {pk: status for pk, _faults, status in rows}
    records: list[StatusChange] = []
    groups: dict[tuple[tuple[str, ...], bool], list[int]] = {}  # one UPDATE per group
    for pk, faults in changes.items():
        if pk not in current or sorted(current[pk] or []) == sorted(faults):
            continue
        groups.setdefault((tuple(faults), not current[pk]), []).append(pk)
    with transaction.atomic():
        for (faults, is_new), pks in groups.items():
            if faults:
                update: dict[str, Any] = {"picture_faults": list(faults)}
                if is_new:
                    update["picture_fault_since"] = at
                reason = status_reasons.PICTURE_FAULT.text(detail=", ".join(faults))
            else:
                update = {"picture_faults": [], "picture_fault_since": None}
                reason = status_reasons.PICTURE_FINE.text()
            Device.objects.filter(pk__in=pks).update(**update)
            records.extend(
                StatusChange(
                    device_id=pk,
                    at=at,
                    from_status=statuses[pk],
                    to_status=statuses[pk],
                    reason=reason,
                )
                for pk in pks
            )
        StatusChange.objects.bulk_create(records)
    return len(records)


@dataclass(frozen=True)
class OnlineRate:
    """Online devices out of all devices in a group (the key is the group's id/code)."""

    key: Any
    name: str
    total: int
    online: int

    @property
    def rate(self) -> float:
        return self.online / self.total if self.total else 0.0

    @property
    def not_online(self) -> int:
        return self.total - self.online


_COUNTS = {"total": Count("pk"), "online": Count("pk", filter=Q(status=Device.Status.ONLINE))}


def online_rate(devices: QuerySet[Device]) -> OnlineRate:
    """The rate over a whole queryset (a city, a district, one user's scope)."""
    row = devices.order_by().aggregate(**_COUNTS)
    return OnlineRate(None, "", row["total"], row["online"])


def _grouped(devices: QuerySet[Device], key: str, name: str) -> list[OnlineRate]:
    rows = devices.order_by().values(key, name).annotate(**_COUNTS).order_by(name, key)
    return [OnlineRate(r[key], r[name] or "", r["total"], r["online"]) for r in rows]


def online_rate_by_school(devices: QuerySet[Device]) -> list[OnlineRate]:
    """Per school, computed in the database (one GROUP BY)."""
    return _grouped(devices, "school_id", "school__name")


def online_rate_by_district(devices: QuerySet[Device]) -> list[OnlineRate]:
    """Per district/county (the school's GB/T 2260 region); key = region code."""
    return _grouped(devices, "school__region__code", "school__region__name")


def online_rate_by_key_area(devices: QuerySet[Device]) -> list[OnlineRate]:
    """Per GB/T 29315-2022 key area; name is the area's label."""
    labels = dict(KeyArea.choices)
    rows = devices.order_by().values("key_area").annotate(**_COUNTS).order_by("key_area")
    return [
        OnlineRate(r["key_area"], str(labels.get(r["key_area"], "")), r["total"], r["online"])
        for r in rows
    ]


def online_rate_by_kind(devices: QuerySet[Device]) -> list[OnlineRate]:
    """Per kind of device (cameras, alarm boxes …); name is the kind's label."""
    labels = dict(Device.Kind.choices)
    rows = devices.order_by().values("kind").annotate(**_COUNTS).order_by("kind")
    return [
        OnlineRate(r["kind"], str(labels.get(r["kind"], r["kind"])), r["total"], r["online"])
        for r in rows
    ]


def online_rate_by_city(devices: QuerySet[Device]) -> list[OnlineRate]:
    """Per city: GB/T 2260 codes share their first four digits with the city's."""
    rows = (
        devices.order_by()
        .annotate(city=Substr("school__region__code", 1, 4))
        .values("city")
        .annotate(**_COUNTS)
        .order_by("city")
    )
    return [
        OnlineRate(f"{r['city']}00" if r["city"] else "", "", r["total"], r["online"]) for r in rows
    ]


# --- kinds and GB/T 28181 type codes ------------------------------------------------------

# GB/T 28181 type code (ID digits 11–13) → the kind a catalog channel or an unknown
# device gets; servers, business groups and virtual organisations are structure.
KIND_BY_TYPE = {
    "111": Device.Kind.NVR,
    "118": Device.Kind.NVR,
    "130": Device.Kind.NVR,
    "131": Device.Kind.CAMERA,
    "132": Device.Kind.CAMERA,
    "117": Device.Kind.ALARM_CONTROLLER,
    "134": Device.Kind.ONE_KEY_ALARM,
}
# The type codes each kind may carry in a 20-digit ID (RULES.md §5): a camera is 131/132,
# an NVR 111/118/130, a one-key alarm box an alarm input (134) …
TYPES_BY_KIND = {
    Device.Kind.CAMERA: {"131", "132"},
    Device.Kind.NVR: {"111", "118", "130"},
    Device.Kind.ONE_KEY_ALARM: {"134"},
    Device.Kind.ALARM_CONTROLLER: {"117"},
    Device.Kind.INTRUSION_DETECTOR: {"134", "139"},
    Device.Kind.EMERGENCY_BUTTON: {"134", "139"},
    Device.Kind.PATROL_CHECKPOINT: {"139"},
    Device.Kind.ACCESS_CONTROLLER: {"139"},
}
PARENT_KINDS = (Device.Kind.NVR,)


def kind_for_type(type_code: str) -> str | None:
    """The device kind for a GB/T 28181 type code; None for structure nodes."""
    kind = KIND_BY_TYPE.get(type_code)
    return kind.value if kind is not None else None


def type_mismatch(device_id: str, kind: str) -> str:
    """Why a 20-digit ID's type code does not fit ``kind`` ("" when it fits). Shorter
    legacy IDs (18–19 digits) carry no reliable type code and are not checked."""
    if len(device_id) != 20 or kind not in TYPES_BY_KIND:
        return ""
    code = identifiers.type_code(device_id)
    allowed = TYPES_BY_KIND[kind]
    if code in allowed:
        return ""
    return _("type code %(code)s (%(name)s) does not fit a %(kind)s; expected %(allowed)s") % {
        "code": code,
        "name": type_names.type_name(device_id),
        "kind": Device.Kind(kind).label,
        "allowed": "/".join(sorted(allowed)),
    }


# --- channels from a catalog ----------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ONLINE_WORDS = {"ON", "ONLINE", "OK"}
OFFLINE_WORDS = {"OFF", "OFFLINE"}
CHANNEL_FIELDS = ("name", "manufacturer", "model", "address", "longitude", "latitude")


@dataclass(frozen=True)
class ChannelReport:
    """One channel (通道) as a device's catalog describes it (GB/T 28181 A.2.6.4)."""

    device_id: str
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    address: str = ""
    longitude: float | None = None
    latitude: float | None = None
    status: str = ""  # ON / OFF as reported; "" = not reported

    @property
    def reported_status(self) -> str | None:
        word = self.status.strip().upper()
        if word in ONLINE_WORDS:
            return Device.Status.ONLINE.value
        if word in OFFLINE_WORDS:
            return Device.Status.OFFLINE.value
        return None


def _clean(text: str, limit: int) -> str:
    return _CONTROL.sub(" ", text or "").strip()[:limit]


def upsert_channels(parent_id: str, channels: Iterable[ChannelReport]) -> int:
    """A catalog becomes the device's channels: new ones created under it (approved with
    it, same school), known ones refreshed, and each channel's reported ON/OFF becomes
    its status (a channel sends no keepalives: its NVR speaks for it). Nothing is
    deleted: a partial catalog must not make channels disappear. Bulk writes (an NVR
    may bring thousands): no audit entry per channel, one ``device.channels`` event.
    Returns how many channels were created or changed."""
    wanted: dict[str, tuple[ChannelReport, str]] = {}
    for channel in channels:
        if channel.device_id == parent_id:
            continue
        try:
            identifiers.validate_device_id(channel.device_id)
        except identifiers.InvalidDeviceId:
            continue  # a civil-code or organisation node of a cascaded platform
        kind = kind_for_type(identifiers.type_code(channel.device_id))
        if kind is not None and kind != Device.Kind.NVR:
            wanted[channel.device_id] = (channel, kind)
    if not wanted:
        return 0
    parent = Device.objects.filter(device_id=parent_id).first()
    if parent is None:
        return 0
    now = clock.now()
    with transaction.atomic():
        existing = {d.device_id: d for d in Device.objects.filter(device_id__in=wanted)}
        created, changed, history = [], [], []
        status_moves: dict[tuple[str, str], list[int]] = {}
        for device_id, (report, kind) in wanted.items():
            fields = {
                "name": _clean(report.name, 128) or device_id,
                "manufacturer": _clean(report.manufacturer, 64),
                "model": _clean(report.model, 64),
                "address": _clean(report.address, 255),
                "longitude": report.longitude,
                "latitude": report.latitude,
            }
            status = report.reported_status
            device = existing.get(device_id)
            if device is None:
                created.append(
                    Device(
                        device_id=device_id,
                        kind=kind,
                        protocol=parent.protocol,
                        parent=parent,
                        school_id=parent.school_id,
                        is_approved=parent.is_approved,
                        status=status or Device.Status.UNKNOWN,
                        status_since=now if status else None,
                        **fields,
                    )
                )
                continue
            if device.parent_id not in (None, parent.pk):
                continue  # another device's channel: not ours to change
            # keep a name an operator gave the channel when the device reports none
            if not report.name.strip():
                fields["name"] = device.name
            updates = {k: v for k, v in fields.items() if getattr(device, k) != v}
            if updates or device.parent_id is None:
                for name, value in updates.items():
                    setattr(device, name, value)
                device.parent = parent
                changed.append(device)
            if status is not None and device.status != status:
                status_moves.setdefault((device.status, status), []).append(device.pk)
        Device.objects.bulk_create(created, batch_size=500)
        Device.objects.bulk_update(changed, [*CHANNEL_FIELDS, "parent"], batch_size=500)
        for device in created:
            if device.status != Device.Status.UNKNOWN:
                history.append(
                    _catalog_change(device.pk, Device.Status.UNKNOWN, device.status, now)
                )
        moved = 0
        for (from_status, to_status), pks in status_moves.items():
            for start in range(0, len(pks), 500):
                chunk = pks[start : start + 500]
                done = list(
                    Device.objects.filter(pk__in=chunk, status=from_status).values_list(
                        "pk", flat=True
                    )
                )
                Device.objects.filter(pk__in=done).update(status=to_status, status_since=now)
                history += [_catalog_change(pk, from_status, to_status, now) for pk in done]
                moved += len(done)
        StatusChange.objects.bulk_create(history, batch_size=1000)
        if created or changed or moved:
            bus.publish_on_commit(
                "device.channels",
                device_pk=parent.pk,
                device_id=parent_id,
                school_id=parent.school_id,
                created=len(created),
                updated=len(changed),
                status_changed=moved,
                total=len(wanted),
            )
    refresh_directory([d.device_id for d in (*created, *changed)])
    return len(created) + len(changed) + moved


def _catalog_change(pk: int, from_status: str, to_status: str, at: dt.datetime) -> StatusChange:
    is_on = to_status == Device.Status.ONLINE
    return StatusChange(
        device_id=pk,
        at=at,
        from_status=from_status,
        to_status=to_status,
        reason=(status_reasons.CHANNEL_ON if is_on else status_reasons.CHANNEL_OFF).text(),
    )


def refresh_directory(device_ids: list[str]) -> None:
    """Bulk writes send no signals: patch this process's device directory (and tell
    other processes through Redis) so the hot path knows the devices at once."""
    if not device_ids:
        return
    directory = liveness.default().directory
    for start in range(0, len(device_ids), 1000):
        for device in Device.objects.filter(device_id__in=device_ids[start : start + 1000]):
            directory.saved(device)
    announce_change()


# --- registrations ----------------------------------------------------------------------------

# (device ID, seconds granted — 0 to unregister —, remote address or "", when)
Registering = tuple[str, int, str, dt.datetime]


def save_registrations(registrations: list[Registering], *, protocol: str) -> None:
    """Write registrations to the devices table in one transaction, record them in
    liveness (memory or Redis) and announce them once committed (``device.registered``).
    An unregistration keeps the address on record: it vouches for the device's alarms
    until it registers again. Keepalives never come here."""
    rows = []
    for device_id, expires, remote, at in registrations:
        start = at.timestamp()
        rows.append((device_id, (start, start + max(0, expires), remote)))
    with transaction.atomic():
        liveness.save_registrations(rows)
        for device_id, expires, remote, at in registrations:
            known = liveness.record_registration(
                device_id, expires, at, remote=remote, protocol=protocol
            )
            if expires <= 0:
                continue
            if not known:
                log.warning("%s registered but is not in the device directory yet", device_id)
            bus.publish_on_commit(
                "device.registered", device_id=device_id, expires=expires, remote=remote
            )


# --- one device added or changed by hand ----------------------------------------------------


def create_device(data: dict[str, Any]) -> Device:
    """A device registered by hand (the device page or the API, whose serializer checked
    ``data``): approved at once, its credentials stored encrypted."""
    with transaction.atomic():
        return Device.objects.create(**data)


def update_device(device: Device, data: dict[str, Any]) -> Device:
    """Change a device's registration; a field absent from ``data`` (a credential left
    blank) keeps its stored value."""
    for field, value in data.items():
        setattr(device, field, value)
    with transaction.atomic():
        device.save()
    return device


# --- devices waiting for approval -----------------------------------------------------------


class NotPending(ValueError):
    """Only a device waiting for approval can be approved or rejected."""


def register_pending(device_id: str, remote: str, protocol: str) -> tuple[Device, bool]:
    """An unknown device asked to connect: keep it, unapproved, for an administrator.
    Returns (device, created); announced once, when first seen."""
    kind = kind_for_type(identifiers.type_code(device_id)) or Device.Kind.CAMERA
    with transaction.atomic():
        device, created = Device.objects.get_or_create(
            device_id=device_id,
            defaults={
                "name": device_id,
                "kind": kind,
                "protocol": protocol,
                "is_approved": False,
                "remote_address": remote[:64],
            },
        )
        if created:
            bus.publish_on_commit(
                "device.pending", device_pk=device.pk, device_id=device_id, remote=remote
            )
    return device, created


def _approval_prefix(user: Any) -> str | None:
    """The GB/T 2260 prefix of device IDs a user may claim while they belong to no school
    yet (the first six digits of an ID are its region): region-wide scopes only."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return ""
    if user.school_id:
        return None
    org = user.organisation
    if org is not None:
        if org.kind == org.Kind.POLICE_STATION:
            return None
        return region_prefix(org.region.code)
    if user.region_id:
        return region_prefix(user.region.code)
    return None


def pending_devices(user: Any) -> QuerySet[Device]:
    """Devices waiting for approval that ``user`` may see: those of schools in scope,
    and unassigned ones whose ID lies in the user's region (region-wide scopes)."""
    pending = Device.objects.filter(is_approved=False)
    visible = scope_q(user, Device.scope_paths)
    prefix = _approval_prefix(user)
    if prefix == "" or visible is None:
        return pending
    q = visible
    if prefix is not None:
        q = q | Q(school__isnull=True, device_id__startswith=prefix)
    return pending.filter(q)


def approve_device(
    device: Device,
    *,
    by: Any,
    school: School,
    kind: str | None = None,
    key_area: str | None = None,
    name: str | None = None,
) -> Device:
    """Admit a pending device (audited): it is placed at ``school`` and may connect; its
    channels, if any arrived meanwhile, come with it."""
    if device.is_approved:
        raise NotPending(_("This device is already approved."))
    kind = kind or device.kind
    if mismatch := type_mismatch(device.device_id, kind):
        raise ValidationError({"kind": mismatch})
    with transaction.atomic():
        device.school = school
        device.kind = kind
        device.key_area = key_area if key_area is not None else device.key_area
        device.name = (name or "").strip() or device.name
        device.is_approved = True
        device.save()
        Device.objects.filter(parent=device).update(is_approved=True, school=school)
        audit.record(
            "device.approve",
            device,
            user=by,
            detail={"school": school.code, "kind": kind, "remote": device.remote_address},
        )
    refresh_directory(list(device.channels.values_list("device_id", flat=True)))
    return device


def reject_device(device: Device, *, by: Any) -> None:
    """Refuse a pending device (audited): it is removed; if it keeps trying and automatic
    registration is on, it shows up as pending again."""
    if device.is_approved:
        raise NotPending(_("An approved device is removed in the registry, not rejected."))
    with transaction.atomic():
        audit.record(
            "device.reject",
            device,
            user=by,
            detail={"device_id": device.device_id, "remote": device.remote_address},
        )
        device.delete()


# --- maintenance windows --------------------------------------------------------------------


def create_maintenance_window(
    *,
    school: School,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
    device: Device | None = None,
    by: Any = None,
) -> MaintenanceWindow:
    """A planned outage (计划停机): offline changes inside it are recorded, not announced.
    Saved through the model, so the audit log has it."""
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The window must end after it starts.")})
    if device is not None and device.school_id != school.pk:
        raise ValidationError({"device": _("The device belongs to another school.")})
    window = MaintenanceWindow(
        school=school, device=device, starts_at=starts_at, ends_at=ends_at, reason=reason.strip()
    )
    window.full_clean()
    window.save()
    return window


# --- figures --------------------------------------------------------------------------------


def counts_by_kind_and_status(devices: QuerySet[Device]) -> dict[str, dict[str, int]]:
    """{kind: {status: n, "total": n}} in one GROUP BY."""
    rows = devices.order_by().values("kind", "status").annotate(n=Count("pk"))
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        kind = counts.setdefault(row["kind"], {"total": 0})
        kind[row["status"]] = kind.get(row["status"], 0) + row["n"]
        kind["total"] += row["n"]
    return dict(sorted(counts.items()))


def live_last_seen(devices: Iterable[Device]) -> dict[str, dt.datetime]:
    """The freshest last-seen time of each device: this process's liveness store (or
    Redis) where it knows better than ``Device.last_seen_at``, which is flushed only
    every ``LIVENESS_FLUSH_SECONDS``. Channels report through their parent."""
    devices = list(devices)
    times = {d.device_id: d.last_seen_at for d in devices if d.last_seen_at is not None}
    live = liveness.default().store
    ids = [d.device_id for d in devices]
    fresh: dict[str, float] = {}
    client = getattr(live, "client", None)
    if client is not None and ids:  # Redis: only the rows shown, not the whole hash
        try:
            values = client.hmget(live.seen_key, ids)
        except Exception:
            values = []
        fresh = {i: float(v) for i, v in zip(ids, values, strict=False) if v is not None}
    elif ids:
        seen, _registrations = live.snapshot()
        fresh = {i: seen[i] for i in ids if i in seen}
    for device_id, ts in fresh.items():
        at = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
        if device_id not in times or times[device_id] < at:
            times[device_id] = at
    return times
