"""重点学校: a transparent risk score per school, every point with its reason.

score = Σ incidents within 1 km in the last 90 days × kind weight
      + 3 × open trouble spots (治安乱点) + 1 × other open hazards
      + 2 × guards missing + 1 × cameras/alarms offline or faulty
      + 5 × open early-warning alerts covering the school
The weights are settings-free on purpose: the list shows them, so anyone can redo it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.intel.models import Alert, Incident, IncidentKind

KIND_WEIGHTS = {
    IncidentKind.INTRUSION: 3, IncidentKind.ASSAULT: 4, IncidentKind.ROBBERY: 4,
    IncidentKind.MENTAL: 3, IncidentKind.BULLYING: 3, IncidentKind.HARASSMENT: 2,
    IncidentKind.THEFT: 2, IncidentKind.FRAUD: 2, IncidentKind.TRAFFIC: 1,
    IncidentKind.OTHER: 1,
}  # fmt: skip


@dataclass
class SchoolRisk:
    school: object
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def add(self, points: float, reason: str) -> None:
        if points > 0:
            self.score += points
            self.reasons.append(f"{reason} (+{points:g})")


def risk_ranking(schools_qs, limit: int | None = 100, police: bool = False) -> list[SchoolRisk]:
    """The ``limit`` riskiest of ``schools_qs`` (already scoped to the viewer; all with
    points when ``limit`` is None); police-only incidents count only for a police
    viewer."""
    from campus_safety.devices.models import Device
    from campus_safety.hazards.models import Hazard

    since = clock.now() - dt.timedelta(days=90)
    schools = {s.pk: SchoolRisk(s) for s in schools_qs.select_related("region", "police_station")}
    if not schools:
        return []
    ids = list(schools)
    by_kind: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    links = Incident.schools.through.objects.filter(
        school_id__in=ids, incident__occurred_at__gte=since
    )
    if not police:
        links = links.filter(incident__police_only=False)
    for school_id, kind in links.values_list("school_id", "incident__kind"):
        by_kind[school_id][kind] += 1
    labels = dict(IncidentKind.choices)
    for school_id, kinds in by_kind.items():
        for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
            schools[school_id].add(
                n * KIND_WEIGHTS.get(kind, 1),
                _("%(n)d × %(kind)s within 1 km in 90 days") % {"n": n, "kind": labels[kind]},
            )
    hazards = (
        Hazard.objects.filter(school_id__in=ids, status__in=Hazard.OPEN_STATUSES)
        .values("school_id")
        .annotate(
            spots=Count("pk", filter=Q(kind=Hazard.Kind.SURROUNDING)),
            inside=Count("pk", filter=Q(kind=Hazard.Kind.INTERNAL)),
        )
    )
    for row in hazards:
        risk = schools[row["school_id"]]
        risk.add(3 * row["spots"], _("%(n)d open trouble spots") % {"n": row["spots"]})
        risk.add(row["inside"], _("%(n)d open hazards") % {"n": row["inside"]})
    try:
        from campus_safety.workforce.staffing import annotate_staffing

        for school in annotate_staffing(schools_qs.filter(pk__in=ids)):
            gap = max(0, int(getattr(school, "guard_gap", 0) or 0))
            schools[school.pk].add(2 * gap, _("%(n)d guards missing") % {"n": gap})
    except ImportError:  # staffing figures unavailable: leave that part out
        pass
    for row in (
        Device.objects.filter(school_id__in=ids, status__in=["offline", "fault"])
        .values("school_id")
        .annotate(n=Count("pk"))
    ):
        schools[row["school_id"]].add(row["n"], _("%(n)d devices offline or faulty") % row)
    for row in (
        Alert.schools.through.objects.filter(
            school_id__in=ids, alert__status__in=Alert.OPEN_STATUSES
        )
        .values("school_id")
        .annotate(n=Count("pk"))
    ):
        schools[row["school_id"]].add(5 * row["n"], _("%(n)d open early-warning alerts") % row)
    ranked = sorted(schools.values(), key=lambda r: (-r.score, r.school.name))
    ranked = [r for r in ranked if r.score > 0]
    return ranked if limit is None else ranked[:limit]


@dataclass
class RiskGroup:
    """One station's or district's key schools with their subtotals."""

    key: object  # the station or the district (None: schools without one)
    rows: list[SchoolRisk]

    @property
    def schools(self) -> int:
        return len(self.rows)

    @property
    def total(self) -> float:
        return sum(r.score for r in self.rows)

    @property
    def top(self) -> float:
        return max((r.score for r in self.rows), default=0.0)

    @property
    def mean(self) -> float:
        return self.total / len(self.rows) if self.rows else 0.0


def group_ranking(ranking: list[SchoolRisk], by: str) -> list[RiskGroup]:
    """The ranking split per police station (``by="station"``) or district
    (``"district"``), groups by their total score, schools by theirs within each."""
    attr = {"station": "police_station", "district": "region"}[by]
    groups: dict[object, list[SchoolRisk]] = defaultdict(list)
    for row in ranking:
        groups[getattr(row.school, attr)].append(row)
    result = [RiskGroup(key, rows) for key, rows in groups.items()]
    result.sort(key=lambda g: (-g.total, getattr(g.key, "name", "") or ""))
    return result
