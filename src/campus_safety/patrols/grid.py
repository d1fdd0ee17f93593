"""Police grid patrols (网格巡逻): a patrol log with its GPS track, and field stops (盘查)
with the school they were nearest to. Written by the officer, for the officer's own
police unit; police eyes only (scoping)."""

from __future__ import annotations

import itertools
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from campus_safety.orgs.models import School
from campus_safety.patrols.models import FieldStop, PatrolLog
from campus_safety.patrols.post_rules import distance_m
from campus_safety.patrols.services import PatrolError

NEAR_BOX_DEGREES = 0.05  # ~5 km: schools farther away are not "near" a stop


def _officer_unit(officer: Any) -> int:
    if getattr(officer, "organisation_id", None) is None:
        raise PatrolError(_("Only an officer of a police unit can record this."))
    return officer.organisation_id


def _once(model: type[Model], officer: Any, fields: dict[str, Any]) -> Any:
    """Create the row, or — when the page's one-off ``event_id`` was stored already (a
    resend, a double tap) — return the stored one: what was acknowledged stays one row."""
    event_id = fields.get("event_id", "")
    if event_id and len(event_id) > 64:
        raise PatrolError(_("event_id must be 1 to 64 characters"))
    if event_id:
        stored = model.objects.filter(officer=officer, event_id=event_id).first()
        if stored is not None:
            return stored
    try:
        with transaction.atomic():
            return model.objects.create(officer=officer, **fields)
    except IntegrityError:
        stored = (
            model.objects.filter(officer=officer, event_id=event_id).first() if event_id else None
        )
        if stored is None:
            raise
        return stored


def record_patrol_log(officer: Any, data: dict[str, Any]) -> PatrolLog:
    """A patrol of ``officer``'s unit; its length is the sum of its track's legs. With an
    ``event_id`` (the phone page's), a patrol sent again is stored once."""
    track = data.get("track") or []
    length = sum(distance_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(track))
    return _once(
        PatrolLog,
        officer,
        {**data, "organisation_id": _officer_unit(officer), "distance_m": round(length, 1)},
    )


def nearest_school(longitude: float, latitude: float) -> tuple[School | None, float | None]:
    """The school nearest a position within ``NEAR_BOX_DEGREES``, and its distance (m)."""
    box = NEAR_BOX_DEGREES
    nearest, best = None, None
    for school in School.objects.filter(
        longitude__range=(longitude - box, longitude + box),
        latitude__range=(latitude - box, latitude + box),
    ).only("pk", "longitude", "latitude"):
        d = distance_m(longitude, latitude, school.longitude, school.latitude)
        if best is None or d < best:
            nearest, best = school, d
    return nearest, (round(best, 1) if best is not None else None)


def record_field_stop(officer: Any, data: dict[str, Any]) -> FieldStop:
    """A stop by ``officer``'s unit, tied to the nearest school when it has a position.
    With an ``event_id`` (the phone page's), a stop sent again is stored once."""
    unit = _officer_unit(officer)
    school, distance = None, None
    if data.get("longitude") is not None and data.get("latitude") is not None:
        school, distance = nearest_school(data["longitude"], data["latitude"])
    return _once(
        FieldStop,
        officer,
        {**data, "organisation_id": unit, "nearest_school": school, "distance_m": distance},
    )
