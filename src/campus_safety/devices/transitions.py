"""Device state transitions (状态变化): the sweeper's memory and the one writer of them.

Only transitions are written — ``Device.status`` by a compare-and-set ``UPDATE`` (never
``save()``: that would flood the audit log), one ``StatusChange`` row (``bulk_create``:
no per-row audit entry) — and announced on the bus after commit, unless the device is
flapping or inside a maintenance window. ``liveness.py`` feeds this with last-seen times.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import deque
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from campus_safety import bus, clock
from campus_safety.devices import status_reasons as why
from campus_safety.devices.directory import ENTRY_FIELDS, STATE_AT, STATE_FIELDS, Directory
from campus_safety.devices.last_seen import Registration
from campus_safety.devices.models import Device, MaintenanceWindow, StatusChange

log = logging.getLogger(__name__)

ONLINE = Device.Status.ONLINE.value
OFFLINE = Device.Status.OFFLINE.value
FAULT = Device.Status.FAULT.value
UNKNOWN = Device.Status.UNKNOWN.value
REPORTED_FAULT = why.FAULT_REPORTED.text()  # reason prefix: cleared by the device only
CHUNK = 1000


def _ts(value: dt.datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


@dataclass
class Transition:
    """One recorded change of a device's state."""

    device_id: str
    device_pk: int
    school_id: int | None
    from_status: str
    to_status: str
    reason: str
    at: dt.datetime
    is_announced: bool = True
    silenced_by: str = ""  # "maintenance" or "flapping" when not announced


@dataclass
class DeviceState:
    """The sweeper's memory of one device (mirrors the committed database state)."""

    status: str
    since: dt.datetime | None
    db_seen: float | None
    db_registered_until: float | None
    is_flapping: bool = False
    is_reported_fault: bool = False
    changes: deque[float] = field(default_factory=deque)
    last_change: float = 0.0
    silenced_until: float | None = None  # outage not announced (maintenance) until then


class StatusTracker:
    """Every swept device's committed state, plus flap counters and maintenance silences.

    Sweeping runs in one thread; a device-reported status may be written from any
    thread (inside its caller's transaction) and is adopted here after commit.
    """

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.started_at: float | None = None
        self._states: dict[str, DeviceState] = {}
        self._flapping: set[str] = set()
        self._silenced: set[str] = set()
        self._lock = threading.RLock()
        self._synced_changes = -1
        self._synced_load = -1.0
        self._needs_grace = False

    def start(self, now: dt.datetime | None = None) -> None:
        """Load every approved device and its state; the restart grace starts now."""
        with self._lock:
            self.started_at = (now or clock.now()).timestamp()
            self._load_states()

    def reload(self) -> None:
        """Reload the directory and adopt the database's view of every device's state."""
        with self._lock:
            self._load_states()

    def require_grace(self) -> None:
        """Last-seen times may have been unreadable (Redis away): grant a fresh grace."""
        self._needs_grace = True

    def _load_states(self) -> None:
        rows = self.directory.load(with_state=True)
        old, self._states = self._states, {}
        self._flapping.clear()
        self._adopt_rows(rows, old)
        self._silenced &= self._states.keys()
        self._synced_changes = self.directory._changes
        self._synced_load = self.directory.loaded_at

    def _adopt_rows(
        self, rows: list[tuple], old_states: dict[str, DeviceState] | None = None
    ) -> None:
        """rows: device_id, *ENTRY_FIELDS, *STATE_FIELDS (see directory.load)."""
        old_states = self._states if old_states is None else old_states
        faults = []
        for row in rows:
            device_id, parent_id = row[0], row[6]
            if parent_id is not None:
                continue  # channels follow their parent's catalog, not keepalives
            status, since, is_flapping, last_seen, register_expires = row[STATE_AT : STATE_AT + 5]
            old = old_states.get(device_id)
            state = DeviceState(status, since, _ts(last_seen), _ts(register_expires), is_flapping)
            if old is not None:
                state.changes, state.silenced_until = old.changes, old.silenced_until
                state.last_change = old.last_change
            if is_flapping:
                state.last_change = state.last_change or _ts(since) or clock.now().timestamp()
                self._flapping.add(device_id)
            else:
                self._flapping.discard(device_id)
            if status == FAULT:
                faults.append(row[1])
            self._states[device_id] = state
        if faults:
            reported = self._reported_faults(faults)
            for row in rows:
                if row[1] in reported and row[0] in self._states:
                    self._states[row[0]].is_reported_fault = True

    @staticmethod
    def _reported_faults(pks: list[int]) -> set[int]:
        """Of these faulty devices, the ones whose fault the device itself reported."""
        latest: dict[int, str] = {}
        for start in range(0, len(pks), CHUNK):
            chunk = pks[start : start + CHUNK]
            rows = (
                StatusChange.objects.filter(device_id__in=chunk, to_status=FAULT)
                .order_by("device_id", "-at", "-id")
                .values_list("device_id", "reason")
            )
            for pk, reason in rows:
                latest.setdefault(pk, reason)
        return {pk for pk, reason in latest.items() if reason.startswith(REPORTED_FAULT)}

    def _catch_up_with_directory(self) -> None:
        """Devices added or changed since the last sync get their state read once."""
        directory = self.directory
        if directory._changes == self._synced_changes and directory.loaded_at == self._synced_load:
            return
        self._synced_changes, self._synced_load = directory._changes, directory.loaded_at
        entries = directory.entries
        for device_id in [d for d in self._states if d not in entries]:
            del self._states[device_id]
            self._flapping.discard(device_id)
            self._silenced.discard(device_id)
        missing = [d for d, e in entries.items() if e.parent_id is None and d not in self._states]
        if missing:
            self._refresh_states(missing)

    def _refresh_states(self, device_ids: list[str]) -> None:
        for start in range(0, len(device_ids), CHUNK):
            chunk = device_ids[start : start + CHUNK]
            rows = list(
                Device.objects.filter(device_id__in=chunk, is_approved=True).values_list(
                    "device_id", *ENTRY_FIELDS, *STATE_FIELDS
                )
            )
            self._adopt_rows(rows)

    def sweep(
        self, now: dt.datetime, seen: dict[str, float], registrations: dict[str, Registration]
    ) -> list[Transition]:
        """Write and announce every due transition, given everyone's last-seen time."""
        if self.started_at is None:
            self.start(now)
        t = now.timestamp()
        with self._lock:
            if self._needs_grace:
                self.started_at, self._needs_grace = t, False
            self._catch_up_with_directory()
            candidates = self._due(t, now, seen, registrations)
            written = self._write(candidates, now) if candidates else []
            self._end_quiet_flapping(t, now)
            self._announce_overrun_maintenance(t, now)
        return written

    def _due(
        self,
        t: float,
        now: dt.datetime,
        seen: dict[str, float],
        registrations: dict[str, Registration],
    ) -> list[Transition]:
        grace = settings.LIVENESS_RESTART_GRACE_SECONDS
        fault_after = settings.LIVENESS_FAULT_AFTER_HOURS * 3600
        started = self.started_at or t
        entries = self.directory.entries
        due = []
        for device_id, state in self._states.items():
            entry = entries.get(device_id)
            if entry is None:
                continue
            last = seen.get(device_id) or state.db_seen
            registration = registrations.get(device_id)
            until = registration[1] if registration is not None else state.db_registered_until
            timeout = entry[3] * entry[4]
            is_alive = last is not None and t < last + timeout and (until is None or t < until)
            status = state.status
            if is_alive:
                if status == ONLINE or (status == FAULT and state.is_reported_fault):
                    continue
                to, reason = ONLINE, why.HEARD.text()
            elif status == ONLINE or (status == UNKNOWN and last is not None):
                if t < started + (grace if grace is not None else timeout):
                    continue  # restart grace: give it a chance to check in
                if until is not None and t >= until and last is not None and t < last + timeout:
                    to, reason = OFFLINE, why.REGISTRATION_ENDED.text()
                else:
                    to, reason = OFFLINE, why.NO_KEEPALIVE.text(seconds=timeout)
            elif (
                status == OFFLINE
                and state.since is not None
                and t - state.since.timestamp() >= fault_after
            ):
                hours = settings.LIVENESS_FAULT_AFTER_HOURS
                to, reason = FAULT, why.OFFLINE_TOO_LONG.text(hours=f"{hours:g}")
            else:
                continue
            due.append(Transition(device_id, entry[0], entry[1], status, to, reason, now))
        return due

    def _write(self, candidates: list[Transition], now: dt.datetime) -> list[Transition]:
        """Compare-and-set in chunks, each its own short transaction, so a mass change
        (a district's network comes back) never holds the write lock for long."""
        written: list[Transition] = []
        for start in range(0, len(candidates), CHUNK):
            chunk = candidates[start : start + CHUNK]
            try:
                with transaction.atomic():
                    done, stale = _compare_and_set_many(chunk)
                    self._record(done, now, count_flaps=True)
            except Exception:
                self._resync_after_failure()
                raise
            for tr in done:
                state = self._states.get(tr.device_id)
                if state is not None:
                    state.status, state.since = tr.to_status, tr.at
                    state.is_reported_fault = tr.reason.startswith(REPORTED_FAULT)
            if stale:  # someone else changed them (a reported fault, another process)
                self._refresh_states(stale)
            written += done
        return written

    def _resync_after_failure(self) -> None:
        """A failed commit may leave flap counters ahead of the database: reread state."""
        try:
            self._load_states()
        except Exception:
            log.exception("could not reread device state")

    def _record(self, written: list[Transition], now: dt.datetime, *, count_flaps: bool) -> None:
        """StatusChange rows, channel follow-up and on-commit announcements for
        transitions already written by compare-and-set."""
        if not written:
            return
        t = now.timestamp()
        windows = _maintenance_ends([(tr.device_pk, tr.school_id) for tr in written], now)
        rows, started_flapping = [], []
        for tr in written:
            state = self._states.get(tr.device_id)
            window_end = windows.get(tr.device_pk)
            if tr.to_status in (OFFLINE, FAULT) and window_end is not None:
                tr.is_announced, tr.silenced_by = False, "maintenance"
                if count_flaps and state is not None:
                    state.silenced_until = window_end
                    self._silenced.add(tr.device_id)
            elif tr.to_status == ONLINE and state is not None and tr.device_id in self._silenced:
                tr.is_announced, tr.silenced_by = False, "maintenance"  # outage never announced
                if count_flaps:
                    state.silenced_until = None
                    self._silenced.discard(tr.device_id)
            elif count_flaps and state is not None:
                flap = self._note_change(state, tr, t)
                if flap:
                    tr.is_announced, tr.silenced_by = False, "flapping"
                if flap == "started":
                    started_flapping.append(tr)
            rows.append(
                StatusChange(
                    device_id=tr.device_pk,
                    at=now,
                    from_status=tr.from_status,
                    to_status=tr.to_status,
                    reason=_reason(tr)[:128],
                )
            )
        announcements: list[tuple[str, dict]] = []
        for tr in started_flapping:
            changes = settings.LIVENESS_FLAP_CHANGES
            window = settings.LIVENESS_FLAP_WINDOW_SECONDS
            reason = why.FLAPPING.text(changes=changes, seconds=f"{window:g}")
            Device.objects.filter(pk=tr.device_pk).update(is_flapping=True)
            rows.append(
                StatusChange(
                    device_id=tr.device_pk,
                    at=now,
                    from_status=tr.to_status,
                    to_status=tr.to_status,
                    reason=reason,
                )
            )
            announcements.append(("device.flapping", {**_payload(tr), "flapping_reason": reason}))
        rows += self._follow_channels(written, now)
        StatusChange.objects.bulk_create(rows)  # bulk: no per-row audit entries
        # One live-log INSERT for the lot: thousands of devices come online together
        # after a restart or a district's network returns.
        announcements += [
            (f"device.{tr.to_status}", _payload(tr)) for tr in written if tr.is_announced
        ]
        bus.publish_many_on_commit(announcements)

    def _note_change(self, state: DeviceState, tr: Transition, t: float) -> str:
        """Count an online/offline change; "started" when it makes the device flap,
        "flapping" while it does, "" otherwise."""
        state.last_change = t
        if tr.from_status == UNKNOWN:
            return ""
        window = settings.LIVENESS_FLAP_WINDOW_SECONDS
        changes = state.changes
        changes.append(t)
        while changes and changes[0] <= t - window:
            changes.popleft()
        if state.is_flapping:
            return "flapping"
        if len(changes) >= settings.LIVENESS_FLAP_CHANGES:
            state.is_flapping = True
            self._flapping.add(tr.device_id)
            return "started"
        return ""

    def _follow_channels(self, written: list[Transition], now: dt.datetime) -> list[StatusChange]:
        """Channels behind an NVR cannot be reached while it is down: take them down with
        it, and bring back the ones it took down when it returns."""
        parents = self.directory.parents()
        down = [
            tr.device_pk
            for tr in written
            if tr.device_pk in parents and tr.from_status == ONLINE and tr.to_status != ONLINE
        ]
        back: dict[dt.datetime, list[int]] = {}
        for tr in written:
            state = self._states.get(tr.device_id)
            if (
                tr.device_pk in parents
                and tr.to_status == ONLINE
                and tr.from_status in (OFFLINE, FAULT)
                and state is not None
                and state.since is not None
            ):
                back.setdefault(state.since, []).append(tr.device_pk)
        rows: list[StatusChange] = []
        if down:
            rows += _move_channels(
                Device.objects.filter(parent_id__in=down, status=ONLINE),
                ONLINE,
                OFFLINE,
                why.PARENT_OFFLINE.text(),
                now,
            )
        for went_down, pks in back.items():
            # the channels it took down carry the very timestamp of its own transition
            channels = Device.objects.filter(
                parent_id__in=pks, status=OFFLINE, status_since=went_down
            )
            rows += _move_channels(channels, OFFLINE, ONLINE, why.PARENT_BACK.text(), now)
        return rows

    def _end_quiet_flapping(self, t: float, now: dt.datetime) -> None:
        stable = settings.LIVENESS_FLAP_STABLE_SECONDS
        quiet = [
            d
            for d in self._flapping
            if d in self._states and t - self._states[d].last_change >= stable
        ]
        if not quiet:
            return
        entries = self.directory.entries
        with transaction.atomic():
            for device_id in quiet:
                state, entry = self._states[device_id], entries.get(device_id)
                if entry is None:
                    continue
                Device.objects.filter(pk=entry.pk).update(is_flapping=False)
                reason = why.STABLE_AGAIN.text(seconds=f"{stable:g}")
                StatusChange.objects.bulk_create(
                    [
                        StatusChange(
                            device_id=entry.pk,
                            at=now,
                            from_status=state.status,
                            to_status=state.status,
                            reason=reason,
                        )
                    ]
                )
                if state.status != UNKNOWN:  # tell consoles the state they missed
                    tr = Transition(
                        device_id,
                        entry.pk,
                        entry.school_id,
                        state.status,
                        state.status,
                        reason,
                        now,
                    )
                    bus.publish_on_commit(
                        f"device.{state.status}", **_payload(tr), flapping_ended=True
                    )
        for device_id in quiet:
            self._states[device_id].is_flapping = False
            self._states[device_id].changes.clear()
            self._flapping.discard(device_id)

    def _announce_overrun_maintenance(self, t: float, now: dt.datetime) -> None:
        """A planned outage that outlives its window is a real one: announce it now."""
        due = [
            d
            for d in self._silenced
            if d in self._states and (self._states[d].silenced_until or 0) <= t
        ]
        if not due:
            return
        entries = self.directory.entries
        pairs = [(entries[d].pk, entries[d].school_id) for d in due if d in entries]
        windows = _maintenance_ends(pairs, now)
        for device_id in due:
            state, entry = self._states[device_id], entries.get(device_id)
            if entry is not None and entry.pk in windows:
                state.silenced_until = windows[entry.pk]  # window extended or another one
                continue
            self._silenced.discard(device_id)
            state.silenced_until = None
            if entry is not None and state.status in (OFFLINE, FAULT):
                tr = Transition(
                    device_id,
                    entry.pk,
                    entry.school_id,
                    state.status,
                    state.status,
                    why.DOWN_AFTER_MAINTENANCE.text(),
                    now,
                )
                # nothing to write: announced as soon as no transaction is open
                bus.publish_on_commit(f"device.{state.status}", **_payload(tr))

    # --- device-reported state (status messages); runs in the caller's transaction ---

    def record_reported_status(
        self, device_id: str, *, is_fault: bool, reason: str, at: dt.datetime | None = None
    ) -> Transition | None:
        """A device says it is faulty (or well again). Written at once, inside the
        caller's transaction; a reported fault is not cleared by keepalives."""
        entry = self.directory.get(device_id)
        if entry is None:
            return None
        now = at or clock.now()
        current = Device.objects.filter(pk=entry.pk).values_list("status", flat=True).first()
        if current is None:
            return None
        if is_fault and current != FAULT:
            text = why.FAULT_REPORTED_WHY.text(detail=reason) if reason else REPORTED_FAULT
            tr = Transition(device_id, entry.pk, entry.school_id, current, FAULT, text, now)
        elif not is_fault and current == FAULT:
            tr = Transition(
                device_id,
                entry.pk,
                entry.school_id,
                current,
                ONLINE,
                why.WELL_AGAIN_WHY.text(detail=reason) if reason else why.WELL_AGAIN.text(),
                now,
            )
        else:
            return None
        if not _compare_and_set(tr):
            return None
        self._record([tr], now, count_flaps=False)
        transaction.on_commit(lambda: self._adopt_reported(tr))
        return tr

    def _adopt_reported(self, tr: Transition) -> None:
        with self._lock:
            state = self._states.get(tr.device_id)
            if state is not None:
                state.status, state.since = tr.to_status, tr.at
                state.is_reported_fault = tr.to_status == FAULT


def _compare_and_set(tr: Transition) -> bool:
    """Write the new status only if the database still holds the old one."""
    return bool(
        Device.objects.filter(pk=tr.device_pk, status=tr.from_status).update(
            status=tr.to_status, status_since=tr.at
        )
    )


def _compare_and_set_many(
    transitions: list[Transition],
) -> tuple[list[Transition], list[str]]:
    """Compare-and-set for many devices in two queries per (from, to) pair: lock the
    rows still in the old state (PostgreSQL; SQLite writers are serialised anyway),
    then update exactly those. Returns (written, device IDs someone else changed)."""
    groups: dict[tuple[str, str, dt.datetime], list[Transition]] = {}
    for tr in transitions:
        groups.setdefault((tr.from_status, tr.to_status, tr.at), []).append(tr)
    written, stale = [], []
    for (from_status, to_status, at), group in groups.items():
        pks = [tr.device_pk for tr in group]
        still = set(
            Device.objects.select_for_update()
            .filter(pk__in=pks, status=from_status)
            .values_list("pk", flat=True)
        )
        if still:
            Device.objects.filter(pk__in=still).update(status=to_status, status_since=at)
        for tr in group:
            (written if tr.device_pk in still else stale).append(tr)
    return written, [tr.device_id for tr in stale]


def _move_channels(
    channels, from_status: str, to_status: str, reason: str, now: dt.datetime
) -> list[StatusChange]:
    pks = list(channels.values_list("pk", flat=True))
    if pks:
        Device.objects.filter(pk__in=pks, status=from_status).update(
            status=to_status, status_since=now
        )
    return [
        StatusChange(
            device_id=pk, at=now, from_status=from_status, to_status=to_status, reason=reason
        )
        for pk in pks
    ]


def _reason(tr: Transition) -> str:
    if tr.silenced_by == "maintenance":
        return why.SILENCED_BY_MAINTENANCE.text(reason=tr.reason)
    if tr.silenced_by == "flapping":
        return why.SILENCED_BY_FLAPPING.text(reason=tr.reason)
    return tr.reason


def _payload(tr: Transition) -> dict:
    return {
        "device_pk": tr.device_pk,
        "device_id": tr.device_id,
        "school_id": tr.school_id,
        "from_status": tr.from_status,
        "status": tr.to_status,
        "reason": tr.reason,
        "at": tr.at.isoformat(),
    }


def _maintenance_ends(devices: list[tuple[int, int | None]], now: dt.datetime) -> dict[int, float]:
    """device pk → end of the latest maintenance window covering it now."""
    if not devices:
        return {}
    pks = {pk for pk, _ in devices}
    schools = {school for _, school in devices if school is not None}
    windows = (
        MaintenanceWindow.objects.filter(starts_at__lte=now, ends_at__gt=now)
        .filter(Q(device_id__in=pks) | Q(device__isnull=True, school_id__in=schools))
        .values_list("device_id", "school_id", "ends_at")
    )
    ends: dict[int, float] = {}
    for device_pk, school_id, ends_at in windows:
        covered = [device_pk] if device_pk else [pk for pk, s in devices if s == school_id]
        for pk in covered:
            ends[pk] = max(ends.get(pk, 0.0), ends_at.timestamp())
    return ends
