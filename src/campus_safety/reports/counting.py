"""How the reports count two things they all show, defined once (issue #21).

* A rectified hazard (整改): a hazard verified as rectified or closed, dated by its
  verification — or by its closing, if it was closed without one. The campaign report,
  the scheduled reports and the big screen count "rectified" (this month, in a period,
  over the whole history) through ``rectified_hazards``, so their figures agree.
* Alarm cases a reader may count: a watch-list hit's case is police-only
  (``AlarmCase.police_only``, scoping's ``police_only_flag``), so a report read by
  anyone else (the education bureau's screen, a scheduled report kept for every reader
  of its area) counts without it: ``alarm_cases``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from campus_safety import scoping
from campus_safety.alarms.models import AlarmCase
from campus_safety.hazards.models import Hazard


def rectified_hazards(
    hazards: QuerySet[Hazard], lo: dt.datetime | None = None, hi: dt.datetime | None = None
) -> QuerySet[Hazard]:
    """The hazards of ``hazards`` rectified in [``lo``, ``hi``) (either end open)."""
    rows = hazards.filter(status__in=Hazard.RECTIFIED_STATUSES)
    if lo is None and hi is None:
        return rows
    rows = rows.alias(rectified_at=Coalesce("verified_at", "closed_at"))
    if lo is not None:
        rows = rows.filter(rectified_at__gte=lo)
    if hi is not None:
        rows = rows.filter(rectified_at__lt=hi)
    return rows


def reads_police_only(reader: Any) -> bool:
    """Does ``reader`` count police-only cases? A police user does; so does no reader
    at all (the operator's command line); everyone else does not."""
    return reader is None or scoping.is_police(reader)


def alarm_cases(schools: QuerySet, police: bool) -> QuerySet[AlarmCase]:
    """The alarm cases of ``schools`` a reader counts: without the police-only ones
    unless ``police``."""
    cases = AlarmCase.objects.filter(school__in=schools.order_by().values("pk"))
    return cases if police else cases.filter(police_only=False)
