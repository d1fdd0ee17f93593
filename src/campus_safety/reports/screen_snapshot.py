"""The big screen's first paint from a kept summary (issue #21: first data ≤ 2 s).

Working out a whole city's 护学岗 windows, device trend and 4×100% board takes seconds
on a busy machine, and a screen opened (or reloaded at 3 a.m.) would wait for all of
it. So the figures last computed for a scope are kept in one row
(``ScreenSnapshot``: the reader's scope, area and staffing rule) and the page is sent
with them: the open alarms are always counted afresh (cheap, and the one thing a
screen must never show late), the rest comes from the row, and the page then fetches
every part fresh as before (progressive fill) and says how old what it shows is.

The row is refreshed:

* by the periodic job ``screen-snapshots`` (``refresh_due``, every
  ``REPORTS_SCREEN_SNAPSHOT_SECONDS``) for every scope a screen viewed within a day,
  so a screen's reload finds figures at most that old;
* by the screens' own refetches (``store_live`` / ``store_kpi``, at most once per
  ``WRITE_SECONDS`` per scope), so it also stays warm where no job process runs.

Scopes not viewed for ``FORGET_DAYS`` are dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from campus_safety import clock, scoping
from campus_safety.orgs.models import School
from campus_safety.reports import screen_data
from campus_safety.reports.models import ScreenSnapshot
from campus_safety.workforce.staffing import StaffingRule, get_rule

log = logging.getLogger(__name__)

LIVE_KEYS = ("posts", "devices", "hazards")  # the alarms are never taken from the row
WRITE_SECONDS = 30
REFRESH_DAYS = 1
FORGET_DAYS = 7


def refresh_seconds() -> float:
    return float(getattr(settings, "REPORTS_SCREEN_SNAPSHOT_SECONDS", 60))


def scope_key(user: Any, region_code: str, rule_key: str) -> str:
    """What a screen shows depends on its reader's scope (police or not), its area and
    the staffing rule: screens that share all three share a row."""
    scope = hashlib.sha256(repr(scoping.user_scope(user)).encode()).hexdigest()[:16]
    return f"{scope}:{region_code}:{rule_key}"


def viewed(user: Any, region_code: str, rule: StaffingRule, now: dt.datetime) -> ScreenSnapshot:
    """The scope's row, made when first viewed, its ``viewed_at`` moved to ``now``."""
    row, created = ScreenSnapshot.objects.get_or_create(
        key=scope_key(user, region_code, rule.key),
        defaults={"user": user, "region_code": region_code, "rule": rule.key, "viewed_at": now},
    )
    if not created:
        ScreenSnapshot.objects.filter(pk=row.pk).update(user=user, viewed_at=now)
    return row


def first_data(
    row: ScreenSnapshot, schools: QuerySet[School], now: dt.datetime, police: bool
) -> dict[str, Any]:
    """What the page is sent with: today's alarms counted now, the rest from the row
    (None for a part never computed yet), and how old each kept part is."""

    def age(at: dt.datetime | None) -> float | None:
        return round((now - at).total_seconds(), 1) if at else None

    alarms = screen_data.alarms_part(schools, now, police)
    live = None
    if row.live and all(k in row.live for k in LIVE_KEYS):
        live = {
            **{k: row.live[k] for k in LIVE_KEYS},
            "alarms": alarms,
            "generated_at": screen_data._iso(row.live_at),
        }
    return {
        "live": live,
        "live_age_s": age(row.live_at),
        "kpi": row.kpi,
        "kpi_age_s": age(row.kpi_at),
        # a scope never shown before has no row to draw from: the page still comes with
        # its alarms, and fetches the other parts one by one (drawn as each comes)
        "alarms": None if live else alarms,
    }


def _stale(at_field: str, now: dt.datetime, seconds: float) -> Q:
    return Q(**{f"{at_field}__isnull": True}) | Q(
        **{f"{at_field}__lt": now - dt.timedelta(seconds=seconds)}
    )


def store_live(key: str, live: dict[str, Any], now: dt.datetime) -> None:
    """Keep a freshly computed live part (its alarms left out) unless the row was
    written within ``WRITE_SECONDS``: screens refetch on every event."""
    ScreenSnapshot.objects.filter(_stale("live_at", now, WRITE_SECONDS), key=key).update(
        live={k: live[k] for k in LIVE_KEYS}, live_at=now
    )


def store_kpi(key: str, kpi: dict[str, Any], now: dt.datetime) -> None:
    ScreenSnapshot.objects.filter(_stale("kpi_at", now, WRITE_SECONDS), key=key).update(
        kpi=kpi, kpi_at=now
    )


def schools_of(row: ScreenSnapshot) -> QuerySet[School]:
    """The schools the row's screen shows: its reader's, narrowed to its area."""
    schools = School.objects.visible_to(row.user)
    return schools.filter(region__code=row.region_code) if row.region_code else schools


def refresh(row: ScreenSnapshot, now: dt.datetime | None = None) -> bool:
    """Compute the row's figures again; a row whose reader's scope changed since (its
    key no longer matches) is dropped instead — its figures would be someone else's."""
    now = now or clock.now()
    user = row.user
    if not user.is_active or scope_key(user, row.region_code, row.rule) != row.key:
        row.delete()
        return False
    schools = schools_of(row)
    rule = get_rule(row.rule)
    live = {
        "posts": screen_data.posts_part(schools, now),
        "devices": screen_data.devices_part(schools, now),
        "hazards": screen_data.hazards_part(schools, now),
    }
    kpi = screen_data.kpi_part(schools, rule)
    ScreenSnapshot.objects.filter(pk=row.pk).update(live=live, live_at=now, kpi=kpi, kpi_at=now)
    return True


def refresh_due(now: dt.datetime | None = None) -> int:
    """The periodic job: refresh every scope viewed within ``REFRESH_DAYS``, forget the
    ones not viewed for ``FORGET_DAYS``; returns how many were refreshed."""
    now = now or clock.now()
    ScreenSnapshot.objects.filter(viewed_at__lt=now - dt.timedelta(days=FORGET_DAYS)).delete()
    done = 0
    recent = now - dt.timedelta(days=REFRESH_DAYS)
    for row in ScreenSnapshot.objects.filter(viewed_at__gte=recent).select_related("user"):
        try:
            done += refresh(row, now)
        except Exception:  # one scope's failure must not starve the others
            log.exception("big-screen snapshot %s failed", row.key)
    return done
