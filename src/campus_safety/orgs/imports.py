"""Schools to and from .xlsx (see spreadsheets.py for the shared rules)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from campus_safety import spreadsheets as xl
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.personal_data import mask_phone
from campus_safety.scoping import covers_region

PHONE_FIELDS = ("principal_phone", "security_director_phone", "police_room_phone")

SCHOOL_KIND_ALIASES = {
    "幼儿园": "kindergarten",
    "小学": "primary",
    "初中": "junior",
    "初级中学": "junior",
    "高中": "senior",
    "高级中学": "senior",
    "九年一贯制": "nine_year",
    "九年一贯制学校": "nine_year",
    "十二年一贯制": "twelve_year",
    "十二年一贯制学校": "twelve_year",
    "中职": "vocational",
    "中等职业学校": "vocational",
    "特殊教育": "special",
    "特殊教育学校": "special",
}

COLUMNS = (
    xl.Column(
        "code", "学校标识码", xl.parse_digits(10), example="1371402001", help="10 位学校标识码"
    ),
    xl.Column("name", "学校名称", xl.parse_text(128), example="德城区第一实验小学"),
    xl.Column(
        "kind",
        "学校类型",
        xl.parse_choice(School.Kind.choices, SCHOOL_KIND_ALIASES),
        example="小学",
        help="幼儿园/小学/初中/高中/九年一贯制/十二年一贯制/中职/特殊教育",
    ),
    xl.Column(
        "region", "区县代码", xl.parse_digits(6), example="371402", help="GB/T 2260 县级代码"
    ),
    xl.Column("is_boarding", "是否寄宿", xl.parse_bool, required=False, example="否"),
    xl.Column("students", "在校学生数", xl.parse_int, example=1200),
    xl.Column("boarders", "住宿生数", xl.parse_int, required=False, example=0),
    xl.Column("staff", "教职工数", xl.parse_int, required=False, example=80),
    xl.Column("address", "地址", xl.parse_text(255), required=False, example="德城区新华街1号"),
    xl.Column("longitude", "经度", xl.parse_float(-180, 180), required=False, example=116.30),
    xl.Column("latitude", "纬度", xl.parse_float(-90, 90), required=False, example=37.45),
    xl.Column(
        "police_station",
        "责任派出所",
        xl.parse_text(128),
        required=False,
        example="新华派出所",
        help="派出所名称，须已登记",
    ),
    xl.Column("principal_name", "校长（第一责任人）", xl.parse_text(64), required=False),
    xl.Column("principal_phone", "校长电话", xl.parse_text(32), required=False),
    xl.Column("security_director_name", "安全保卫负责人", xl.parse_text(64), required=False),
    xl.Column("security_director_phone", "保卫负责人电话", xl.parse_text(32), required=False),
    xl.Column("has_police_room", "是否设警务室", xl.parse_bool, required=False, example="是"),
    xl.Column("police_room_officer", "驻校民警", xl.parse_text(64), required=False),
    xl.Column("police_room_phone", "警务室电话", xl.parse_text(32), required=False),
    xl.Column("legal_vice_principal", "法治副校长", xl.parse_text(64), required=False),
)


def check(
    rows: list[tuple[int, dict[str, Any]]], user: Any, errors: list[xl.RowError]
) -> list[tuple[int, dict[str, Any]]]:
    regions = {r.code: r for r in Region.objects.filter(level=Region.Level.COUNTY)}
    stations = {
        o.name: o for o in Organisation.objects.filter(kind=Organisation.Kind.POLICE_STATION)
    }
    codes = [row["code"] for _, row in rows]
    existing = {s.code: s for s in School.objects.filter(code__in=codes)}
    visible = set(
        School.objects.visible_to(user).filter(code__in=codes).values_list("code", flat=True)
    )
    seen: dict[str, int] = {}
    good = []
    for number, row in rows:
        problems = []
        if row["code"] in seen:
            problems.append(("学校标识码", _("duplicate of row %(n)s") % {"n": seen[row["code"]]}))
        seen.setdefault(row["code"], number)
        region = regions.get(row["region"])
        if region is None:
            problems.append(("区县代码", _("unknown county code")))
        elif row["code"] not in existing and not covers_region(user, region):
            problems.append(("区县代码", _("outside your scope")))
        if row["code"] in existing and row["code"] not in visible:
            problems.append(("学校标识码", _("this school is outside your scope")))
        if row.get("boarders", 0) > row["students"]:
            problems.append(("住宿生数", _("more boarders than students")))
        station_name = row.get("police_station")
        if station_name and station_name not in stations:
            problems.append(("责任派出所", _("unknown police station")))
        if problems:
            errors.extend(xl.RowError(number, col, str(reason)) for col, reason in problems)
            continue
        row["region"] = region
        row["police_station"] = stations.get(station_name) if station_name else None
        good.append((number, row))
    return good


def write(rows: list[dict[str, Any]], user: Any) -> tuple[int, int]:
    existing = {s.code: s for s in School.objects.filter(code__in=[r["code"] for r in rows])}
    fields = [c.key for c in COLUMNS if c.key != "code"]
    created, updated = xl.bulk_upsert(
        School, rows, existing=existing, key=lambda r: r["code"], fields=fields
    )
    return len(created), len(updated)


def export_row(school: School, reveal: bool) -> list[Any]:
    out = []
    for column in COLUMNS:
        value = getattr(school, column.key)
        if column.key == "kind":
            value = school.get_kind_display()
        elif column.key == "region":
            value = school.region.code
        elif column.key == "police_station":
            value = school.police_station.name if school.police_station else ""
        elif isinstance(value, bool):
            value = "是" if value else "否"
        elif column.key in PHONE_FIELDS and not reveal:
            value = mask_phone(value)
        out.append(value)
    return out


def queryset(user: Any):
    return School.objects.visible_to(user).select_related("region", "police_station")


REGISTRY = xl.register(
    xl.Registry(
        kind="schools",
        title="学校",
        columns=COLUMNS,
        check=check,
        write=write,
        queryset=queryset,
        export_row=export_row,
    )
)
