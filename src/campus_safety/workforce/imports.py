"""Guards and protective equipment to and from .xlsx (rules in spreadsheets.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _

from campus_safety import spreadsheets as xl
from campus_safety.orgs.models import Organisation, School
from campus_safety.personal_data import keyed_hash, mask_id_number, mask_phone
from campus_safety.workforce.models import Equipment, Guard


def parse_id_number(value: Any) -> str:
    """GB 11643: 17 digits and a check character (digit or X), checksum verified."""
    text = str(value).strip().upper()
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise xl.CellError(_("not an 18-character national ID number"))
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(text, weights, strict=False)) % 11]
    if text[17] != check:
        raise xl.CellError(_("national ID checksum does not match"))
    return text


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise xl.CellError(_("not a date (YYYY-MM-DD)")) from None


def _schools_by_code(rows, user) -> tuple[dict[str, School], set[str]]:
    codes = {row["school"] for _, row in rows}
    visible = {s.code: s for s in School.objects.visible_to(user).filter(code__in=codes)}
    known = set(School.objects.filter(code__in=codes).values_list("code", flat=True))
    return visible, known


GUARD_KIND_ALIASES = {
    "保安公司专业保安员": "professional",
    "专业保安员": "professional",
    "专业": "professional",
    "专职保卫人员": "full_time",
    "专职": "full_time",
    "兼职保卫人员": "part_time",
    "兼职": "part_time",
}
EQUIPMENT_ALIASES = {
    "橡胶棒": "baton",
    "警棍": "baton",
    "钢叉": "steel_fork",
    "防暴钢叉": "steel_fork",
    "盾牌": "shield",
    "防暴盾牌": "shield",
    "防刺服": "stab_vest",
    "头盔": "helmet",
    "防暴头盔": "helmet",
    "防割手套": "cut_gloves",
    "催泪喷射器": "pepper_spray",
    "强光手电": "flashlight",
}

GUARD_COLUMNS = (
    xl.Column("school", "学校标识码", xl.parse_digits(10), example="1371402001"),
    xl.Column("name", "姓名", xl.parse_text(64), example="张伟"),
    xl.Column(
        "kind",
        "类别",
        xl.parse_choice(Guard.Kind.choices, GUARD_KIND_ALIASES),
        example="专职保卫人员",
        help="保安公司专业保安员/专职保卫人员/兼职保卫人员",
    ),
    xl.Column(
        "company", "保安公司", xl.parse_text(128), required=False, help="专业保安员必填，须已登记"
    ),
    xl.Column("certificate_number", "保安员证号", xl.parse_text(32), required=False),
    xl.Column("phone", "手机号", xl.parse_text(32), required=False),
    xl.Column(
        "id_number",
        "身份证号",
        parse_id_number,
        required=False,
        help="用于识别同一人员；填写后重复导入会更新而不是新增",
    ),
    xl.Column("hired_on", "入职日期", parse_date, required=False, example="2024-09-01"),
)


def check_guards(rows, user, errors):
    schools, known = _schools_by_code(rows, user)
    companies = {
        o.name: o for o in Organisation.objects.filter(kind=Organisation.Kind.SECURITY_COMPANY)
    }
    seen: dict[str, int] = {}
    good = []
    for number, row in rows:
        problems = []
        school = schools.get(row["school"])
        if school is None:
            problems.append(
                (
                    "学校标识码",
                    _("outside your scope") if row["school"] in known else _("unknown school code"),
                )
            )
        company_name = row.get("company")
        if company_name and company_name not in companies:
            problems.append(("保安公司", _("unknown security company")))
        if row["kind"] == Guard.Kind.PROFESSIONAL and not company_name:
            problems.append(("保安公司", _("a professional guard needs a security company")))
        if (ident := row.get("id_number")) and ident in seen:
            problems.append(("身份证号", _("duplicate of row %(n)s") % {"n": seen[ident]}))
        if ident:
            seen.setdefault(ident, number)
        if problems:
            errors.extend(xl.RowError(number, col, str(reason)) for col, reason in problems)
            continue
        row["school"] = school
        row["company"] = companies.get(company_name) if company_name else None
        good.append((number, row))
    return good


def write_guards(rows, user) -> tuple[int, int]:
    hashes = [keyed_hash(r["id_number"]) for r in rows if r.get("id_number")]
    existing = {
        g.id_number_hash: g
        for g in Guard.objects.visible_to(user).filter(id_number_hash__in=hashes)
    }

    def hashed(guard: Guard, row: dict[str, Any]) -> None:
        guard.phone_hash = keyed_hash(guard.phone)
        guard.id_number_hash = keyed_hash(guard.id_number)

    created, updated = xl.bulk_upsert(
        Guard,
        rows,
        existing=existing,
        key=lambda r: keyed_hash(r.get("id_number", "")),
        fields=[c.key for c in GUARD_COLUMNS] + ["phone_hash", "id_number_hash"],
        fill=hashed,
    )
    return len(created), len(updated)


def export_guard(guard: Guard, reveal: bool) -> list[Any]:
    return [
        guard.school.code,
        guard.name,
        guard.get_kind_display(),
        guard.company.name if guard.company else "",
        guard.certificate_number,
        guard.phone if reveal else mask_phone(guard.phone),
        guard.id_number if reveal else mask_id_number(guard.id_number),
        guard.hired_on,
    ]


GUARDS = xl.register(
    xl.Registry(
        kind="guards",
        title="保安员",
        columns=GUARD_COLUMNS,
        check=check_guards,
        write=write_guards,
        export_row=export_guard,
        queryset=lambda user: Guard.objects.visible_to(user).select_related("school", "company"),
    )
)


EQUIPMENT_COLUMNS = (
    xl.Column("school", "学校标识码", xl.parse_digits(10), example="1371402001"),
    xl.Column(
        "kind",
        "装备类型",
        xl.parse_choice(Equipment.Kind.choices, EQUIPMENT_ALIASES),
        example="橡胶棒",
    ),
    xl.Column("quantity", "数量", xl.parse_int, example=6),
)


def check_equipment(rows, user, errors):
    schools, known = _schools_by_code(rows, user)
    seen: dict[tuple[str, str], int] = {}
    good = []
    for number, row in rows:
        key = (row["school"], row["kind"])
        school = schools.get(row["school"])
        if school is None:
            errors.append(
                xl.RowError(
                    number,
                    "学校标识码",
                    str(
                        _("outside your scope")
                        if row["school"] in known
                        else _("unknown school code")
                    ),
                )
            )
            continue
        if key in seen:
            errors.append(
                xl.RowError(number, "装备类型", str(_("duplicate of row %(n)s") % {"n": seen[key]}))
            )
            continue
        seen[key] = number
        row["school"] = school
        good.append((number, row))
    return good


def write_equipment(rows, user) -> tuple[int, int]:
    school_ids = {r["school"].pk for r in rows}
    existing = {
        (e.school_id, e.kind): e for e in Equipment.objects.filter(school_id__in=school_ids)
    }
    created, updated = xl.bulk_upsert(
        Equipment,
        rows,
        existing=existing,
        key=lambda r: (r["school"].pk, r["kind"]),
        fields=["quantity"],
    )
    return len(created), len(updated)


EQUIPMENT = xl.register(
    xl.Registry(
        kind="equipment",
        title="防护装备",
        columns=EQUIPMENT_COLUMNS,
        check=check_equipment,
        write=write_equipment,
        export_row=lambda e, reveal: [e.school.code, e.get_kind_display(), e.quantity],
        queryset=lambda user: Equipment.objects.visible_to(user).select_related("school"),
    )
)
