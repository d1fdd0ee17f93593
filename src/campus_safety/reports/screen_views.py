"""指挥大屏 — the command-centre big screen: one page for a 1920×1080 (or 4K) wall that
runs unattended. The page draws itself from two JSON parts (``screen_data``) and stays
live over the platform's one event stream (``/live/stream``, live.js: reconnects with
Last-Event-ID, so what happened while it was away is replayed): an alarm, unit, device
or post event refetches the live part at once; the KPIs are refetched every few
minutes; a polling fallback refetches every ``POLL_SECONDS`` whatever the stream does,
and the page shows "stale" when its newest data is older than ``STALE_SECONDS``.

Scoped like every page: ``School.objects.visible_to(user)``, so a district's screen
shows its district; ``?region=<code>`` narrows a city screen to one district.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from campus_safety import clock, scoping
from campus_safety.accounts.access import role_required
from campus_safety.orgs import map_data
from campus_safety.orgs.map_data import county_regions_of
from campus_safety.reports import screen_data, screen_snapshot
from campus_safety.reports.models import ScreenSnapshot
from campus_safety.reports.views import scope_title, visible_schools
from campus_safety.workforce.rule_choice import with_staffing_rule
from campus_safety.workforce.staffing import StaffingRule, get_rule

POLL_SECONDS = 30  # defaults; settings REPORTS_SCREEN_POLL_SECONDS etc. override
STALE_SECONDS = 90
KPI_SECONDS = 300
KPI_CACHE_SECONDS = 60
POSTS_CACHE_SECONDS = 15
TREND_CACHE_SECONDS = 3600  # the key names the hour; this only bounds its life
LIVE_PARTS = ("alarms", "posts", "devices", "hazards")
LIVE_EVENTS = (
    "alarm.case_opened",
    "alarm.case_updated",
    "alarm.case_closed",
    "alarm.escalated",
    "device.online",
    "device.offline",
    "device.fault",
    "post.checked_in",
)


@login_required
@role_required("big_screen")
def big_screen(request: HttpRequest) -> HttpResponse:
    """The page, sent with its first figures (``screen_snapshot``): the alarms counted
    now, the rest as last computed for this scope; the page then fetches every part."""
    schools, district = visible_schools(request)
    query = f"?region={district.code}" if district else ""
    now = clock.now()
    row = screen_snapshot.viewed(request.user, district.code if district else "", get_rule(), now)
    first = screen_snapshot.first_data(row, schools, now, scoping.is_police(request.user))
    regions = county_regions_of(schools)
    config = {
        **map_data.map_config("", regions),
        "liveUrl": reverse("reports:big_screen_live") + query,
        "liveParts": [k for k in LIVE_PARTS if k != "alarms"],
        "kpiUrl": reverse("reports:big_screen_kpi") + query,
        "streamUrl": reverse("live:stream"),
        "events": list(LIVE_EVENTS),
        "pollSeconds": getattr(settings, "REPORTS_SCREEN_POLL_SECONDS", POLL_SECONDS),
        "staleSeconds": getattr(settings, "REPORTS_SCREEN_STALE_SECONDS", STALE_SECONDS),
        "kpiSeconds": getattr(settings, "REPORTS_SCREEN_KPI_SECONDS", KPI_SECONDS),
        "caseUrlPrefix": reverse("alarms:case_detail", args=[0]).removesuffix("0/"),
        "words": {
            "live": pgettext("big screen connection", "Live"),
            "stale": _("Data stale"),
            "reconnecting": _("Reconnecting"),
            "updated": _("Updated"),
            "noAlarms": _("No open alarms"),
            "more": _("%(n)s more open alarms"),
            "online": _("online"),
            "seconds": _("s"),
            "ack": _("acknowledged in"),
            "enRoute": _("en route"),
            "onScene": _("on scene"),
            "staffed": _("staffed"),
            "understaffed": _("understaffed"),
            "empty": _("empty"),
            "troubleSpot": _("Trouble spot"),
            "post": _("School-gate post"),
            "cluster": _("Early-warning cluster"),
            "noAlerts": _("No open early-warning clusters"),
            "noRanking": _("No inspection yet"),
            "openCount": _("%(n)s open"),
            "incidents": _("%(observed)s incidents (expected %(expected)s)"),
            "worstDistricts": _("Lowest districts (mean score)"),
        },
    }
    return render(
        request,
        "reports/big_screen.html",
        {
            "config": config,
            "first": first,
            "title": district.name if district else scope_title(request.user),
            "districts": regions.order_by("code"),
            "district": district,
        },
    )


def _scope_key(request: HttpRequest, district: Any) -> str:
    scope = hashlib.sha256(repr(scoping.user_scope(request.user)).encode()).hexdigest()[:16]
    return f"{scope}:{district.code if district else ''}"


def _part_response(now: dt.datetime, part: str, data: dict[str, Any]) -> JsonResponse:
    return JsonResponse(
        {"generated_at": screen_data._iso(now), part: data},
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
@role_required("big_screen")
def big_screen_live(request: HttpRequest) -> JsonResponse:
    """The live part (``?part=alarms|posts|devices|hazards``: that one alone, which a
    screen opened without a kept snapshot fetches one by one, drawing each as it
    comes instead of waiting for the slowest); today's 护学岗 windows are kept
    ``POSTS_CACHE_SECONDS`` per scope (refetched by every screen on every event), and
    the devices' 24-hour trend for the hour it ends in (its points are whole hours:
    walking a day of transitions on every device event would redo the same sums)."""
    schools, district = visible_schools(request)
    scope, now = _scope_key(request, district), clock.now()
    part = request.GET.get("part", "")
    if part and part not in LIVE_PARTS:
        return JsonResponse({"detail": "unknown part"}, status=400)
    police = scoping.is_police(request.user)
    if part == "alarms":
        return _part_response(now, part, screen_data.alarms_part(schools, now, police))
    if part == "hazards":
        return _part_response(now, part, screen_data.hazards_part(schools, now))
    posts = None
    if part in ("", "posts"):
        key = f"reports:posts:{scope}"
        posts = cache.get(key)
        if posts is None:
            posts = screen_data.posts_part(schools, now)
            cache.set(key, posts, POSTS_CACHE_SECONDS)
        if part:
            return _part_response(now, part, posts)
    trend_key = f"reports:trend:{scope}:{screen_data.trend_hour(now).isoformat()}"
    trend = cache.get(trend_key)
    if part == "devices":
        devices = screen_data.devices_part(schools, now, trend)
        if trend is None:
            cache.set(trend_key, devices["trend"], TREND_CACHE_SECONDS)
        return _part_response(now, part, devices)
    data = screen_data.live_part(schools, now, posts=posts, trend=trend, police=police)
    if trend is None:
        cache.set(trend_key, data["devices"]["trend"], TREND_CACHE_SECONDS)
    code = district.code if district else ""
    screen_snapshot.store_live(
        screen_snapshot.scope_key(request.user, code, get_rule().key), data, now
    )
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


@login_required
@role_required("big_screen")
@with_staffing_rule
def big_screen_kpi(request: HttpRequest, rule: StaffingRule) -> JsonResponse:
    """The 4×100% part; kept a minute per scope, area and rule (the board is the screen's
    heaviest query, and every screen of a command centre asks for it): in this process,
    and in the scope's snapshot row, which every process (and the periodic job) shares."""
    schools, district = visible_schools(request)
    key = f"reports:kpi:{_scope_key(request, district)}:{rule.key}"
    data = cache.get(key)
    if data is None:
        now = clock.now()
        row_key = screen_snapshot.scope_key(
            request.user, district.code if district else "", rule.key
        )
        data = (
            ScreenSnapshot.objects.filter(
                key=row_key,
                kpi__isnull=False,
                kpi_at__gte=now - dt.timedelta(seconds=KPI_CACHE_SECONDS),
            )
            .values_list("kpi", flat=True)
            .first()
        )
        if data is None:
            data = screen_data.kpi_part(schools, rule)
            screen_snapshot.store_kpi(row_key, data, now)
        cache.set(key, data, KPI_CACHE_SECONDS)
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})
