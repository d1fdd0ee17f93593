"""Whether a school keeps its gate register (门卫登记): the evidence that closed
management (封闭化管理, 4×100%) and the daily inspection ask for.

A school keeps its register on a day when the gate recorded visitors, vehicles or
pick-ups there. A school whose gate has never recorded anyone (no gate terminal yet)
is not judged by the register; one that used it in the last ``IN_SERVICE_DAYS`` and
recorded nobody on a school day is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from campus_safety.gate.models import Pickup, VehiclePassage, Visit
from campus_safety.patrols.models import Holiday
from campus_safety.patrols.post_rules import is_school_day

IN_SERVICE_DAYS = 30


def schools_with_entries(
    schools: QuerySet | Iterable[int] | None, start: dt.datetime, end: dt.datetime
) -> set[int]:
    """The schools among ``schools`` (ids, or a query of ids: a city's two thousand
    are better sent as a subquery than as parameters; None for all) whose gate
    recorded someone in [start, end)."""
    kept: set[int] = set()
    for model, at in ((Visit, "checked_in_at"), (VehiclePassage, "at"), (Pickup, "at")):
        rows = model.objects.filter(**{f"{at}__gte": start, f"{at}__lt": end})
        if schools is not None:
            rows = rows.filter(school_id__in=schools)
        kept |= set(rows.order_by().values_list("school_id", flat=True).distinct())
    return kept


def unkept(day: dt.date) -> set[int]:
    """Schools whose register is in service but recorded nobody on ``day``, a school day."""
    calendar = dict(Holiday.objects.values_list("date", "is_school_day"))
    if not is_school_day(day, calendar):
        return set()
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    end = start + dt.timedelta(days=1)
    in_service = schools_with_entries(None, start - dt.timedelta(days=IN_SERVICE_DAYS), start)
    return in_service - schools_with_entries(None, start, end)
