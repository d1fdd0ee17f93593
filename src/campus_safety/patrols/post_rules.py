"""护学岗 rules without the database: post windows from a timetable, the school-day
calendar, the geofence and window checks for check-in, and a window's coverage.

RULES.md §3: on post 20–30 min before arrival until ~15 min after classes start, and
from before dismissal until 30 min after; every value is a setting (settings.POST_*)
or a school's own timetable.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

PERSON_TYPES = (
    "police",
    "traffic_police",
    "auxiliary_police",
    "guard",
    "teacher",
    "volunteer",
)
STAFFED, UNDERSTAFFED, EMPTY = "staffed", "understaffed", "empty"
EARTH_RADIUS_M = 6_371_008.8


def clean_required(value: object) -> dict[str, int]:
    """``{"police": 1, "guard": 2}`` checked: known person types, 0–20 each, ≥1 in all."""
    if not isinstance(value, Mapping):
        raise ValueError(_("give the head-count as {person type: number}"))
    cleaned = {}
    for key, count in value.items():
        if key not in PERSON_TYPES:
            raise ValueError(
                _("unknown person type %(type)s; use %(types)s")
                % {"type": key, "types": ", ".join(PERSON_TYPES)}
            )
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 20:
            raise ValueError(_("head-count for %(type)s must be 0 to 20") % {"type": key})
        if count:
            cleaned[key] = count
    if not cleaned:
        raise ValueError(_("a post needs at least one person"))
    return cleaned


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine; plenty for a gate's geofence)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Timetable:
    """A school's day as far as the gate is concerned (minutes are on-post margins)."""

    class_starts_at: dt.time
    dismissal_at: dt.time
    arrival_lead: int
    arrival_tail: int
    dismissal_lead: int
    dismissal_tail: int

    @classmethod
    def default(cls) -> Timetable:
        return cls(
            dt.time.fromisoformat(settings.POST_CLASS_STARTS_AT),
            dt.time.fromisoformat(settings.POST_DISMISSAL_AT),
            settings.POST_ARRIVAL_LEAD_MINUTES,
            settings.POST_ARRIVAL_TAIL_MINUTES,
            settings.POST_DISMISSAL_LEAD_MINUTES,
            settings.POST_DISMISSAL_TAIL_MINUTES,
        )

    @classmethod
    def of(cls, row: object | None) -> Timetable:
        """From a SchoolTimetable row, or the city default when there is none."""
        if row is None:
            return cls.default()
        return cls(
            row.class_starts_at,
            row.dismissal_at,
            row.arrival_lead_minutes,
            row.arrival_tail_minutes,
            row.dismissal_lead_minutes,
            row.dismissal_tail_minutes,
        )

    def windows(self, day: dt.date) -> dict[str, tuple[dt.datetime, dt.datetime]]:
        """The day's two windows, {peak: (opens, closes)}, as aware datetimes."""
        zone = ZoneInfo(settings.TIME_ZONE)
        start = dt.datetime.combine(day, self.class_starts_at, zone)
        dismissal = dt.datetime.combine(day, self.dismissal_at, zone)
        return {
            "arrival": (
                start - dt.timedelta(minutes=self.arrival_lead),
                start + dt.timedelta(minutes=self.arrival_tail),
            ),
            "dismissal": (
                dismissal - dt.timedelta(minutes=self.dismissal_lead),
                dismissal + dt.timedelta(minutes=self.dismissal_tail),
            ),
        }


def is_school_day(day: dt.date, calendar: Mapping[dt.date, bool]) -> bool:
    """Monday–Friday unless a holiday; a weekend day only as a make-up school day.
    ``calendar`` maps holiday dates to their ``is_school_day`` flag."""
    if day in calendar:
        return calendar[day]
    return day.weekday() < 5


@dataclass(frozen=True)
class Position:
    """Where the phone says it is (the browser's Geolocation API)."""

    longitude: float
    latitude: float
    accuracy_m: float | None = None


def refusals(
    *,
    post_longitude: float,
    post_latitude: float,
    radius_m: int,
    opens: dt.datetime,
    closes: dt.datetime,
    at: dt.datetime,
    position: Position,
) -> tuple[list[str], float]:
    """Why a check-in at ``at`` from ``position`` breaks the rules (empty: it does not),
    and the distance to the post. Both window edges count as inside."""
    reasons = []
    distance = distance_m(position.longitude, position.latitude, post_longitude, post_latitude)
    if distance > radius_m:
        reasons.append(
            _("%(distance)d m from the post, outside its %(radius)d m geofence")
            % {"distance": round(distance), "radius": radius_m}
        )
    limit = settings.POST_MAX_ACCURACY_M
    if position.accuracy_m is not None and position.accuracy_m > limit:
        reasons.append(
            _("location accurate to %(accuracy)d m only; %(limit)d m or better is needed")
            % {"accuracy": round(position.accuracy_m), "limit": limit}
        )
    if at < opens:
        reasons.append(
            _("the window opens at %(time)s")
            % {"time": opens.astimezone(_zone()).strftime("%H:%M")}
        )
    elif at > closes:
        reasons.append(
            _("the window closed at %(time)s")
            % {"time": closes.astimezone(_zone()).strftime("%H:%M")}
        )
    return reasons, distance


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def coverage_state(required: Mapping[str, int], present: Mapping[str, int]) -> str:
    """A window is staffed when every required person type is there in number, empty
    when nobody is, understaffed otherwise."""
    if not any(present.values()):
        return EMPTY
    if all(present.get(kind, 0) >= count for kind, count in required.items()):
        return STAFFED
    return UNDERSTAFFED
