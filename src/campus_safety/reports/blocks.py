"""The summary report's blocks (汇总表): every part of ``summary.summary`` as a short
table with translated headings, built once so the page and the Excel workbook show
the same figures under the same words.

A cell keeps its raw value (what the workbook stores: a count, a fraction for a rate,
seconds) and how it reads on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from campus_safety.devices.models import Device
from campus_safety.hazards.models import Hazard
from campus_safety.orgs.models import School
from campus_safety.workforce.models import Equipment, Guard
from campus_safety.workforce.staffing import COUNTED_KINDS, get_rule

TEXT, COUNT, RATE, SECONDS = "text", "count", "rate", "seconds"
DEVICE_STATUSES = (
    Device.Status.ONLINE,
    Device.Status.OFFLINE,
    Device.Status.FAULT,
    Device.Status.UNKNOWN,
)


@dataclass(frozen=True)
class Cell:
    value: Any
    kind: str = COUNT

    @property
    def text(self) -> str:
        """As the page shows it: 2,029 · 12.5% · 30 秒 · — for nothing."""
        if self.value is None:
            return "—"
        if self.kind == COUNT:
            return f"{int(self.value):,}"
        if self.kind == RATE:
            return f"{100 * float(self.value):.1f}%"
        if self.kind == SECONDS:
            return _("%(n)s s") % {"n": f"{float(self.value):,.0f}"}
        return str(self.value)

    @property
    def is_number(self) -> bool:
        return self.kind != TEXT


@dataclass(frozen=True)
class Block:
    key: str  # the page's table id is summary-<key>
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    total: list[Cell] | None = None
    note: str = ""
    link: tuple[str, str] | None = field(default=None)  # (URL name, resource to read)


def _label(text: Any) -> Cell:
    return Cell(str(text), TEXT)


def _share(part: int, whole: int) -> Cell:
    return Cell(round(part / whole, 4) if whole else None, RATE)


def _schools(data: dict[str, Any]) -> Block:
    total = data["schools"]
    labels = dict(School.Kind.choices)
    return Block(
        "schools",
        _("Schools"),
        [_("Kind"), _("Schools"), _("Share")],
        [
            [_label(labels.get(kind, kind)), Cell(n), _share(n, total)]
            for kind, n in _in_order(data["schools_by_kind"], School.Kind.values)
        ],
        [_label(_("Total")), Cell(total), _share(total, total)],
    )


def _guards(data: dict[str, Any]) -> Block:
    guards = data["guards"]
    labels = dict(Guard.Kind.choices)
    return Block(
        "guards",
        _("Security guards"),
        [_("Kind"), _("Guards")],
        [[_label(labels[kind]), Cell(guards[kind])] for kind in Guard.Kind.values],
        [_label(_("Total")), Cell(guards["total"])],
        note=_("Part-time staff do not count towards the requirement."),
    )


def _equipment(data: dict[str, Any]) -> Block:
    labels = dict(Equipment.Kind.choices)
    return Block(
        "equipment",
        _("Protective equipment"),
        [_("Kind"), _("Pieces")],
        [
            [_label(labels.get(kind, kind)), Cell(n)]
            for kind, n in _in_order(data["equipment_by_kind"], Equipment.Kind.values)
        ],
        [_label(_("Total")), Cell(data["equipment"])],
    )


def _staffing(data: dict[str, Any]) -> Block:
    staffing = data["staffing"]
    counted = sum(data["guards"][kind] for kind in COUNTED_KINDS)
    met = data["schools"] - staffing["schools_short"]
    return Block(
        "staffing",
        _("Guard staffing"),
        [_("Figure"), _("Value")],
        [
            [_label(_("Staffing rule")), _label(get_rule(staffing["rule"]).label)],
            [_label(_("Students")), Cell(data["students"])],
            [_label(_("Guards required")), Cell(staffing["required"])],
            [_label(_("Counted guards")), Cell(counted)],
            [_label(_("Guard gap")), Cell(staffing["gap"])],
            [_label(_("Schools short of guards")), Cell(staffing["schools_short"])],
            [_label(_("Schools meeting the requirement")), _share(met, data["schools"])],
        ],
        note=_("Counted guards are professional and full-time guards."),
        link=("workforce:staffing", "guards"),
    )


def _devices(data: dict[str, Any]) -> Block:
    devices = data["devices"]
    labels = dict(Device.Kind.choices)
    statuses = dict(Device.Status.choices)

    def row(label: Any, counts: dict[str, int]) -> list[Cell]:
        return [
            _label(label),
            *(Cell(counts.get(status, 0)) for status in DEVICE_STATUSES),
            Cell(counts.get("total", 0)),
            _share(counts.get(Device.Status.ONLINE, 0), counts.get("total", 0)),
        ]

    return Block(
        "devices",
        _("Devices and online rate"),
        [
            _("Kind"),
            *(str(statuses[status]) for status in DEVICE_STATUSES),
            _("Total"),
            _("Online rate"),
        ],
        [
            row(labels.get(kind, kind), counts)
            for kind, counts in _in_order(devices["by_kind"], Device.Kind.values)
        ],
        row(_("Total"), {**devices["by_status"], "total": devices["total"]}),
        note=_("Approved devices; the online rate is online devices out of all of them."),
        link=("devices:device_list", "devices"),
    )


def _alarms(data: dict[str, Any]) -> Block:
    alarms = data["alarms"]
    return Block(
        "alarms",
        _("Alarms"),
        [_("Figure"), _("Value")],
        [
            [_label(_("Real alarms")), Cell(alarms["total"])],
            [_label(_("False-alarm rate")), Cell(alarms["false_alarm_rate"], RATE)],
            [_label(_("Median time to acknowledge")), Cell(alarms["p50_ack_s"], SECONDS)],
            [_label(_("90th percentile time to arrive")), Cell(alarms["p90_arrival_s"], SECONDS)],
        ],
        note=_("All real alarms on record; drills are left out."),
        link=("alarms:statistics", "alarms"),
    )


def _hazards(data: dict[str, Any]) -> Block:
    hazards = data["hazards"]
    names = {
        Hazard.Kind.INTERNAL: _("Inside campuses"),
        Hazard.Kind.SURROUNDING: _("Trouble spots around campuses"),
    }
    figures = ("found", "rectified", "open", "overdue")
    return Block(
        "hazards",
        _("Hazards and trouble spots"),
        ["", _("Found"), _("Rectified"), _("Still open"), _("Overdue")],
        [
            [_label(names.get(kind, kind)), *(Cell(counts[f]) for f in figures)]
            for kind, counts in hazards.items()
        ],
        [_label(_("Total")), *(Cell(sum(c[f] for c in hazards.values())) for f in figures)],
        link=("hazards:list", "hazards"),
    )


def _patrols(data: dict[str, Any]) -> Block:
    patrols = data["patrols"]
    return Block(
        "patrols",
        _("Patrols and gate posts"),
        [_("Figure"), _("Value")],
        [
            [_label(_("Active 护学岗 gate posts")), Cell(patrols["posts"])],
            [
                _label(_("护学岗 coverage rate (closed windows of the last 7 days fully staffed)")),
                Cell(patrols["post_coverage_rate"], RATE),
            ],
            [
                _label(
                    _(
                        "Guard-tour compliance rate (schools with at least 5 rounds walked"
                        " yesterday)"
                    )
                ),
                Cell(patrols["tour_compliance_rate"], RATE),
            ],
        ],
        link=("patrols:posts_today", "posts"),
    )


def _districts(data: dict[str, Any]) -> Block:
    def row(first: list[Cell], d: dict[str, Any]) -> list[Cell]:
        guards = d["guards"]
        return [
            *first,
            Cell(d["schools"]),
            Cell(d["students"]),
            *(Cell(guards[kind]) for kind in Guard.Kind.values),
            Cell(d["required"]),
            Cell(d["gap"]),
            Cell(d["schools_short"]),
            Cell(d["equipment"]),
        ]

    totals = {
        "schools": data["schools"],
        "students": data["students"],
        "guards": data["guards"],
        "required": data["staffing"]["required"],
        "gap": data["staffing"]["gap"],
        "schools_short": data["staffing"]["schools_short"],
        "equipment": data["equipment"],
    }
    return Block(
        "districts",
        _("By district"),
        [
            _("District"),
            _("Code"),
            _("Schools"),
            _("Students"),
            _("Professional"),
            _("Full-time"),
            _("Part-time"),
            _("Required"),
            _("Gap"),
            _("Schools short"),
            _("Equipment"),
        ],
        [row([_label(d["name"]), _label(d["code"])], d) for d in data["districts"]],
        row([_label(_("Total")), _label("")], totals) if data["districts"] else None,
    )


def _in_order(counts: dict[str, Any], order: list[str]) -> list[tuple[str, Any]]:
    """The choices' order, unknown keys last."""
    rank = {key: i for i, key in enumerate(order)}
    return sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


BUILDERS = (
    _schools,
    _guards,
    _equipment,
    _staffing,
    _devices,
    _alarms,
    _hazards,
    _patrols,
    _districts,
)


def summary_blocks(data: dict[str, Any]) -> list[Block]:
    """Every block of a ``summary.summary`` result, in the active language."""
    return [build(data) for build in BUILDERS]
