"""Students and their pick-up persons from .xlsx (issue #17 item 6), through the
platform's import machinery: the upload is checked at once and run as a background job
(imports app), hostile workbooks are refused by ``spreadsheets``, and every bad row is
reported by row, column and reason — without the person's data in the reason.

One row is a student, optionally with one pick-up person; a student with two guardians
takes two rows with the same school code and student number. Students are matched by
(school, student number), pick-up persons by (student, keyed hash of the name), so a
file imported again updates instead of adding. What the school imports is approved.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from campus_safety import spreadsheets as xl
from campus_safety.gate import validators
from campus_safety.gate.models import PickupPerson, Student
from campus_safety.orgs.models import School
from campus_safety.personal_data import keyed_hash, mask_id_number, mask_phone

# Pick-up is checked where children are released to adults: not at secondary schools.
PICKUP_SCHOOL_KINDS = frozenset(
    {
        School.Kind.KINDERGARTEN,
        School.Kind.PRIMARY,
        School.Kind.NINE_YEAR,
        School.Kind.TWELVE_YEAR,
        School.Kind.SPECIAL,
    }
)

RELATION_ALIASES = {
    "父亲": "father",
    "爸爸": "father",
    "母亲": "mother",
    "妈妈": "mother",
    "爷爷": "grandparent",
    "奶奶": "grandparent",
    "外公": "grandparent",
    "外婆": "grandparent",
    "姥姥": "grandparent",
    "姥爷": "grandparent",
    "祖父母": "grandparent",
    "亲属": "relative",
    "其他亲属": "relative",
    "委托人": "delegate",
    "受托人": "delegate",
}


def parse_mobile(value: Any) -> str:
    """An 11-digit mainland mobile number (spaces and dashes ignored)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "".join(ch for ch in str(value) if ch not in " -")
    if not (text.isascii() and text.isdigit() and len(text) == 11 and text.startswith("1")):
        raise xl.CellError(_("not an 11-digit mobile number"))
    return text


def parse_id(value: Any) -> str:
    """GB 11643 with its check character (the gate's own validator)."""
    from django.core.exceptions import ValidationError

    try:
        return validators.validate_id_number(str(value))
    except ValidationError as exc:
        raise xl.CellError(exc.messages[0]) from None


COLUMNS = (
    xl.Column("school", "学校标识码", xl.parse_digits(10), example="1371402001"),
    xl.Column("student_number", "学号", xl.parse_text(32), example="K2024001"),
    xl.Column("name", "学生姓名", xl.parse_text(64), example="王小明"),
    xl.Column("class_name", "班级", xl.parse_text(32), example="大一班"),
    xl.Column("class_teacher", "班主任", xl.parse_text(64), required=False, example="刘老师"),
    xl.Column("teacher_phone", "班主任手机号", parse_mobile, required=False, example="13900000001"),
    xl.Column(
        "person_name",
        "接送人姓名",
        xl.parse_text(64),
        required=False,
        example="王大明",
        help="一行一位接送人；同一学生有多位接送人时写多行（学校标识码和学号相同）",
    ),
    xl.Column(
        "relation",
        "关系",
        xl.parse_choice(PickupPerson.Relation.choices, RELATION_ALIASES),
        required=False,
        example="父亲",
        help="父亲/母亲/祖父母/其他亲属/委托人；填写接送人姓名时必填",
    ),
    xl.Column("person_phone", "接送人手机号", parse_mobile, required=False, example="13800000002"),
    xl.Column(
        "person_id",
        "接送人身份证号",
        parse_id,
        required=False,
        help="校验码须正确；用于门口核验",
    ),
)

_PERSON_FIELDS = ("person_name", "relation", "person_phone", "person_id")


def check(rows: list[tuple[int, dict[str, Any]]], user: Any, errors: list[xl.RowError]):
    """Schools in the uploader's scope and of a pick-up kind; a student's rows agree on
    name and class; each pick-up person once per student; name and relation together."""
    codes = {row["school"] for _n, row in rows}
    visible = {s.code: s for s in School.objects.visible_to(user).filter(code__in=codes)}
    known = set(School.objects.filter(code__in=codes).values_list("code", flat=True))
    students: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    persons: dict[tuple[str, str, str], int] = {}
    good = []
    for number, row in rows:
        problems: list[tuple[str, Any]] = []
        school = visible.get(row["school"])
        if school is None:
            unknown = row["school"] not in known
            problems.append(
                ("学校标识码", _("unknown school code") if unknown else _("outside your scope"))
            )
        elif school.kind not in PICKUP_SCHOOL_KINDS:
            problems.append(
                ("学校标识码", _("pick-up lists are kept for kindergartens and primary schools"))
            )
        key = (row["school"], row["student_number"])
        first = students.get(key)
        if first is not None and (
            first[1]["name"] != row["name"] or first[1]["class_name"] != row["class_name"]
        ):
            problems.append(
                (
                    "学号",
                    _("same student number as row %(n)s with another name or class")
                    % {"n": first[0]},
                )
            )
        person = row.get("person_name")
        if person and not row.get("relation"):
            problems.append(("关系", _("a pick-up person needs a relation")))
        if not person and any(row.get(k) for k in _PERSON_FIELDS[1:]):
            problems.append(("接送人姓名", _("the pick-up person's name is missing")))
        if person:
            person_key = (*key, keyed_hash(person))
            if person_key in persons:
                problems.append(
                    ("接送人姓名", _("duplicate of row %(n)s") % {"n": persons[person_key]})
                )
        if problems:
            errors.extend(xl.RowError(number, col, str(reason)) for col, reason in problems)
            continue
        students.setdefault(key, (number, row))
        if person:
            persons[(*key, keyed_hash(person))] = number
        row["school"] = school
        good.append((number, row))
    return good


def write(rows: list[dict[str, Any]], user: Any) -> tuple[int, int]:
    """Students first (one bulk upsert), then their pick-up persons: no save() per row,
    so no audit entry per row — the import's own ``import.students`` stands for them."""
    school_ids = {r["school"].pk for r in rows}
    existing = {
        (s.school_id, s.student_number): s for s in Student.objects.filter(school_id__in=school_ids)
    }
    by_student: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["school"].pk, row["student_number"])
        merged = by_student.setdefault(
            key,
            {
                "school": row["school"],
                "student_number": row["student_number"],
                "name": row["name"],
                "class_name": row["class_name"],
                "is_active": True,
            },
        )
        for field in ("class_teacher", "teacher_phone"):
            if row.get(field) and field not in merged:
                merged[field] = row[field]
    created, updated = xl.bulk_upsert(
        Student,
        by_student.values(),
        existing=existing,
        key=lambda r: (r["school"].pk, r["student_number"]),
        fields=["name", "class_name", "class_teacher", "teacher_phone", "is_active"],
    )
    saved = {(s.school_id, s.student_number): s for s in (*created, *updated)}
    people = [
        (saved[(r["school"].pk, r["student_number"])], r) for r in rows if r.get("person_name")
    ]
    known = {
        (p.student_id, p.name_hash): p
        for p in PickupPerson.objects.filter(student__in=[s for s, _r in people])
    }
    new, changed = [], []
    for student, row in people:
        name_hash = keyed_hash(row["person_name"])
        person = known.get((student.pk, name_hash)) or PickupPerson(student=student)
        person.name = row["person_name"]
        person.name_hash = name_hash
        person.relation = row["relation"]
        person.is_guardian = row["relation"] != PickupPerson.Relation.DELEGATE
        person.is_approved = True  # the school itself lists them
        person.is_active = True
        if row.get("person_phone"):
            person.phone = row["person_phone"]
        if row.get("person_id"):
            person.document_number = row["person_id"]
            person.document_hash = keyed_hash(row["person_id"])
            person.birth_date = validators.birth_date_from_id(row["person_id"])
        (changed if person.pk else new).append(person)
    PickupPerson.objects.bulk_create(new, batch_size=500)
    PickupPerson.objects.bulk_update(
        changed,
        [
            "name",
            "name_hash",
            "relation",
            "is_guardian",
            "is_approved",
            "is_active",
            "phone",
            "document_number",
            "document_hash",
            "birth_date",
        ],
        batch_size=500,
    )
    return len(created) + len(new), len(updated) + len(changed)


def export_row(person: PickupPerson, reveal: bool) -> list[Any]:
    student = person.student
    return [
        student.school.code,
        student.student_number,
        student.name if reveal else student.masked_name,
        student.class_name,
        student.class_teacher,
        student.teacher_phone if reveal else mask_phone(student.teacher_phone),
        person.name if reveal else person.masked_name,
        person.get_relation_display(),
        person.phone if reveal else mask_phone(person.phone),
        person.document_number if reveal else mask_id_number(person.document_number),
    ]


STUDENTS = xl.register(
    xl.Registry(
        kind="students",
        title="学生及接送人",
        columns=COLUMNS,
        check=check,
        write=write,
        export_row=export_row,
        queryset=lambda user: PickupPerson.objects.visible_to(user).select_related(
            "student__school"
        ),
    )
)
