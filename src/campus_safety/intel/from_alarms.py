"""Alarm cases closed as real (resolved, not a drill) become school-related incidents.

The alarms app knows nothing of intel (the layer contract: intel sits above alarms), so
intel listens: a ``post_save`` on ``AlarmCase`` that closes it as resolved schedules the
conversion after the closing commits, and the daily job sweeps the last days for any a
crash or a failed conversion left behind. The incident keeps the link (``alarm_case``,
and ``source_ref`` = the case's id under the unique (source, source_ref) constraint), so
a retry, a second process or the sweep never makes a second one. A police-only case (a
watch-list hit) makes a police-only incident."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.alarms.models import AlarmCase
from campus_safety.intel.dispatch_import import kind_in_words
from campus_safety.intel.models import Incident, IncidentKind
from campus_safety.intel.services import record_incident

log = logging.getLogger(__name__)

# What the alarming device says about the incident: a detector or a forced door is an
# intrusion; a panic button or a watch-list hit says that something happened, not what.
KIND_BY_DEVICE = {
    "intrusion_detector": IncidentKind.INTRUSION,
    "access_controller": IncidentKind.INTRUSION,
}
# GB/T 28181 video-analytics alarm types (AlarmMethod 5): 5 tripwire, 6 intrusion.
VIDEO_INTRUSION_TYPES = {"5", "6"}
VIDEO_METHOD = 5


def kind_for_case(case: AlarmCase) -> str:
    """The incident kind of a case closed as real, from the most telling evidence first:
    what the dispatcher wrote when closing it (翻墙 → intrusion, 打架 → assault, …), the
    alarm's description (a watch-list hit names its reason, e.g. 精神障碍), the alarm type
    (video tripwire or intrusion detection; a loitering vehicle at the gate is a traffic
    danger), the device (intrusion detector, access controller) or its place (the
    perimeter); otherwise "other"."""
    for text in (case.disposition, case.description):
        kind = kind_in_words(text)
        if kind:
            return kind
    alarm_type = (case.alarm_type or "").strip()
    if alarm_type == "vehicle_loiter":
        return IncidentKind.TRAFFIC
    if alarm_type in VIDEO_INTRUSION_TYPES:
        methods = set(case.events.values_list("method", flat=True))
        if VIDEO_METHOD in methods:
            return IncidentKind.INTRUSION
    if case.device.kind in KIND_BY_DEVICE:
        return KIND_BY_DEVICE[case.device.kind]
    if (case.key_area or case.device.key_area) == "perimeter":
        return IncidentKind.INTRUSION
    return IncidentKind.OTHER


def is_real(case: AlarmCase) -> bool:
    return (
        case.closed_at is not None and case.state == AlarmCase.State.RESOLVED and not case.is_test
    )


def incident_from_case(case_id: int) -> Incident | None:
    """The incident of a case closed as real: made once, found again on every retry."""
    existing = Incident.objects.filter(
        source=Incident.Source.ALARM, source_ref=str(case_id)
    ).first()
    if existing is not None:
        return existing
    case = AlarmCase.objects.select_related("school", "device", "closed_by").filter(pk=case_id)
    case = case.first()
    if case is None or not is_real(case):
        return None
    place = case.device if case.device.latitude is not None else case.school
    if place is None or place.latitude is None or place.longitude is None:
        log.warning("alarm case %s closed as real has no position: no incident", case_id)
        return None
    kind = kind_for_case(case)
    summary = "\n".join(
        part
        for part in (
            case.description,
            _("Disposition: %(text)s") % {"text": case.disposition} if case.disposition else "",
        )
        if part
    )
    try:
        with transaction.atomic():
            incident = record_incident(
                kind=kind,
                occurred_at=case.opened_at,
                latitude=place.latitude,
                longitude=place.longitude,
                address=case.school.address if case.school else "",
                summary=summary,
                source=Incident.Source.ALARM,
                source_ref=str(case.pk),
                user=case.closed_by,
                alarm_case=case,
                police_only=case.police_only,
            )
            # the case was handled and closed: so is the incident, its outcome the
            # disposition (an investigation reopens it)
            Incident.objects.filter(pk=incident.pk).update(
                status=Incident.Status.CLOSED, outcome=case.disposition[:400]
            )
            incident.status = Incident.Status.CLOSED
    except IntegrityError:  # another process made it meanwhile
        return Incident.objects.filter(
            source=Incident.Source.ALARM, source_ref=str(case_id)
        ).first()
    return incident


def on_case_saved(sender: Any, instance: AlarmCase, update_fields: Any = None, **kwargs: Any):
    """A save that closes a case as real: convert it once the closing has committed."""
    if update_fields is not None and "closed_at" not in update_fields:
        return
    if not is_real(instance):
        return
    case_id = instance.pk

    def convert() -> None:
        try:
            incident_from_case(case_id)
        except Exception:  # the daily sweep tries again; the closing stands regardless
            log.exception("alarm case %s: incident not made", case_id)

    transaction.on_commit(convert)


def sweep_closed_cases(now: dt.datetime | None = None, days: int = 7) -> int:
    """Cases closed as real in the last ``days`` without their incident: make them."""
    now = now or clock.now()
    done = Incident.objects.filter(alarm_case__isnull=False).values("alarm_case_id")
    missing = (
        AlarmCase.objects.filter(
            state=AlarmCase.State.RESOLVED,
            is_test=False,
            closed_at__gte=now - dt.timedelta(days=days),
        )
        .exclude(pk__in=done)
        .values_list("pk", flat=True)
    )
    made = 0
    for case_id in list(missing):
        if incident_from_case(case_id) is not None:
            made += 1
    return made
