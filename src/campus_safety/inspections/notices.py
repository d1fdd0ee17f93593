"""Rectification notices (整改通知). A notice is the inspection's words — which items,
which findings, by when, who answers — around ONE hazard record of source "online
inspection" (or "police inspection" when the police issue it): the hazard workflow is
the engine, so answering with evidence, accepting, returning, reminders and the
escalation of overdue notices (hazards/deadlines.py) are the hazards' own, not a copy.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campus_safety import bus, clock
from campus_safety.accounts.roles import WRITE, can
from campus_safety.audit import services as audit
from campus_safety.devices.models import KeyArea
from campus_safety.hazards import services as hazards
from campus_safety.hazards.models import Hazard
from campus_safety.inspections.models import DailyResult, Finding, Notice
from campus_safety.orgs.models import Organisation, School

MAX_ITEMS = 30
DEFAULT_DAYS = 7


class NotAllowed(PermissionError):
    """The user may not take this step on this notice (the reason is the message)."""


def reference_for(pk: int) -> str:
    return f"ZG-{pk:06d}"


def _source_for(user: Any) -> str:
    side = hazards.user_side(user)
    if side == Hazard.Side.POLICE:
        return Hazard.Source.POLICE_INSPECTION
    return Hazard.Source.ONLINE_INSPECTION


def may_issue(user: Any) -> bool:
    """Police and education bureaus issue notices; a school never issues one."""
    if not can(user, WRITE, "inspection_notices") or getattr(user, "school_id", None):
        return False
    return bool(user.is_superuser) or hazards.user_side(user) in {
        Hazard.Side.POLICE,
        Hazard.Side.EDUCATION,
    }


def _clean_items(items: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    cleaned = []
    for item in items[:MAX_ITEMS]:
        label = str(item.get("label", "")).strip()[:120]
        if not label:
            continue
        cleaned.append(
            {
                "code": str(item.get("code", "other"))[:32],
                "label": label,
                "detail": str(item.get("detail", "")).strip()[:300],
            }
        )
    return cleaned


def issue_notice(
    by: Any,
    *,
    school: School,
    source: str,
    items: Sequence[dict[str, Any]],
    deadline: dt.datetime | None = None,
    to_police_station: bool = False,
    note: str = "",
    findings: Sequence[Finding] = (),
    daily_result: DailyResult | None = None,
    key_area: str = "",
) -> Notice:
    """Send a notice to ``school`` (or to its police station, for its posts): a hazard
    is reported and assigned at once with the deadline; the school answers it."""
    if not may_issue(by):
        raise NotAllowed(_("Only the police or an education bureau may issue notices."))
    cleaned = _clean_items(items)
    errors: dict[str, str] = {}
    if source not in Notice.Source.values:
        errors["source"] = _("Unknown notice source.")
    if not cleaned:
        errors["items"] = _("List at least one item to rectify.")
    now = clock.now()
    deadline = deadline or now + dt.timedelta(days=DEFAULT_DAYS)
    if deadline <= now:
        errors["deadline"] = _("The deadline must be in the future.")
    if to_police_station and school.police_station_id is None:
        errors["to_police_station"] = _("The school has no responsible police station.")
    if errors:
        raise ValidationError(errors)
    lines = [
        f"{i}. {item['label']}" + (f"：{item['detail']}" if item["detail"] else "")
        for i, item in enumerate(cleaned, start=1)
    ]
    description = "\n".join([*lines, note.strip()]).strip()
    title = _("Rectification notice: %(first)s") % {"first": cleaned[0]["label"]}
    if len(cleaned) > 1:
        title = _("Rectification notice: %(first)s and %(more)d more") % {
            "first": cleaned[0]["label"],
            "more": len(cleaned) - 1,
        }
    category = (
        Hazard.Category.ELECTRONIC if source == Notice.Source.VQD else (Hazard.Category.MANAGEMENT)
    )
    with transaction.atomic():
        hazard = hazards.report_hazard(
            by,
            school=school,
            kind=Hazard.Kind.INTERNAL,
            title=title[:120],
            category=category,
            severity=Hazard.Severity.MEDIUM,
            source=_source_for(by),
            description=description,
            key_area=key_area if key_area in KeyArea.values else KeyArea.OTHER,
        )
        hazards.assign_hazard(
            hazard,
            by,
            responsible_kind=(
                Hazard.Responsible.POLICE_STATION
                if to_police_station
                else Hazard.Responsible.SCHOOL
            ),
            organisation=school.police_station if to_police_station else None,
            deadline=deadline,
            note=note,
        )
        notice = Notice.objects.create(
            reference=f"tmp-{secrets.token_hex(6)}",
            school=school,
            source=source,
            items=cleaned,
            hazard=hazard,
            issued_at=now,
            issued_by=by,
        )
        notice.reference = reference_for(notice.pk)
        Notice.objects.filter(pk=notice.pk).update(reference=notice.reference)
        if findings:
            Finding.objects.filter(pk__in=[f.pk for f in findings]).update(notice=notice)
        if daily_result is not None:
            DailyResult.objects.filter(pk=daily_result.pk).update(notice=notice)
        audit.record("inspection.notice", notice, user=by, detail={"hazard": hazard.reference})
        bus.publish_on_commit(
            "inspection.notice_issued",
            notice_id=notice.pk,
            school_id=school.pk,
            hazard_id=hazard.pk,
            source=source,
        )
    return notice


def items_from_result(result: DailyResult) -> list[dict[str, str]]:
    """A daily result's failed items as notice items, heaviest first."""
    from campus_safety.inspections.rules import ITEMS_BY_CODE, item_label

    failed = [(code, v) for code, v in result.items.items() if not v.get("ok", True)]
    failed.sort(key=lambda cv: -float(cv[1].get("lost", 0)))
    return [
        {
            "code": code,
            "label": item_label(code),
            "detail": str(v.get("detail", "")) if code in ITEMS_BY_CODE else "",
        }
        for code, v in failed
    ]


# --- the notice's life: the hazard engine's steps -------------------------------------------


def answer_notice(notice: Notice, by: Any, note: str, photos: Sequence[Any] = ()) -> Notice:
    """The school (or station) answers with what it did and a photo of it."""
    hazards.submit_fix(notice.hazard, by, note, photos)
    audit.record("inspection.notice_answer", notice, user=by)
    return notice


def accept_notice(notice: Notice, by: Any, note: str = "") -> Notice:
    """The issuing side accepts the answer: verified and closed."""
    with transaction.atomic():
        hazard = hazards.verify_fix(notice.hazard, by, note)
        hazards.close_hazard(hazard, by, "")
        audit.record("inspection.notice_accept", notice, user=by)
    return notice


def return_notice(
    notice: Notice, by: Any, note: str, deadline: dt.datetime | None = None
) -> Notice:
    """Not accepted: back to the school with the reason (and perhaps a new deadline)."""
    hazards.return_fix(notice.hazard, by, note, deadline)
    audit.record("inspection.notice_return", notice, user=by)
    return notice


def steps_for(user: Any, notice: Notice) -> set[str]:
    """answer / accept / return: what this user may do now (buttons)."""
    allowed = hazards.allowed_steps(user, notice.hazard)
    steps = set()
    if hazards.Step.SUBMITTED in allowed:
        steps.add("answer")
    if hazards.Step.VERIFIED in allowed:
        steps.add("accept")
    if hazards.Step.RETURNED in allowed:
        steps.add("return")
    return steps


def state_label(notice: Notice) -> str:
    """The notice's state in words (the hazard's, said as a notice)."""
    status = notice.hazard.status
    if status in {Hazard.Status.ASSIGNED, Hazard.Status.RECTIFYING}:
        if notice.hazard.deadline and notice.hazard.deadline < clock.now():
            return _("Overdue")
        return _("Awaiting answer") if not notice.hazard.return_count else _("Returned")
    if status == Hazard.Status.SUBMITTED:
        return _("Answered, awaiting acceptance")
    if status in {Hazard.Status.VERIFIED, Hazard.Status.CLOSED}:
        return _("Accepted")
    return str(notice.hazard.get_status_display())


def deadline_local(notice: Notice) -> str:
    deadline = notice.hazard.deadline
    return timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M") if deadline else ""


# --- notices the daily run issues by itself ---------------------------------------------------

SYSTEM_USERNAME = "system.inspection.{pk}"


def district_bureau(school: School) -> Organisation | None:
    """The education bureau of the school's district (the one the hazard escalation
    tells first), if the registry has one."""
    return (
        Organisation.objects.filter(
            kind=Organisation.Kind.EDUCATION_BUREAU, region_id=school.region_id
        )
        .order_by("pk")
        .first()
    )


def system_issuer(bureau: Organisation) -> Any:
    """The bureau's online-inspection system: an explicit account of the bureau (role
    education staff, scope the bureau) that cannot sign in (no usable password), in
    whose name the daily run issues notices. The bureau's inspectors accept or return
    the answers, as for their own notices (the hazard's verifying side is education)."""
    from campus_safety.accounts.models import User

    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME.format(pk=bureau.pk),
        defaults={
            "role": User.Role.EDUCATION_STAFF,
            "organisation": bureau,
            "region_id": bureau.region_id,
            "display_name": f"{bureau.name}·网上巡查系统"[:64],
            "is_active": True,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit.record("inspection.system_issuer", user, user=None, detail={"bureau": bureau.pk})
    return user


@dataclass
class AutoNotices:
    issued: list[Notice] = field(default_factory=list)
    below: int = 0  # schools below the line
    streaks: int = 0  # schools failing a critical item day after day
    already: int = 0  # schools whose failed items are all on open notices
    no_bureau: int = 0  # schools whose district has no education bureau


def open_items(school_ids: set[int]) -> dict[int, set[str]]:
    """Item codes on each school's open notices."""
    rows = Notice.objects.filter(
        school_id__in=school_ids, hazard__status__in=Hazard.OPEN_STATUSES
    ).values_list("school_id", "items")
    out: dict[int, set[str]] = {}
    for school_id, items in rows:
        out.setdefault(school_id, set()).update(str(i.get("code", "")) for i in items or ())
    return out


def _streaks(day: dt.date, candidates: dict[int, set[str]]) -> dict[int, set[str]]:
    """Of each candidate's critical items failed on ``day``, those failed every one of
    the ``NOTICE_STREAK_DAYS - 1`` days before as well."""
    from campus_safety.inspections import rules

    days = rules.NOTICE_STREAK_DAYS
    if days <= 1:
        return candidates
    first = day - dt.timedelta(days=days - 1)
    failed_days: dict[tuple[int, str], int] = {}
    rows = DailyResult.objects.filter(
        school_id__in=candidates, day__gte=first, day__lt=day
    ).values_list("school_id", "items")
    for school_id, items in rows:
        for code in candidates[school_id]:
            if not (items or {}).get(code, {}).get("ok", True):
                failed_days[(school_id, code)] = failed_days.get((school_id, code), 0) + 1
    out: dict[int, set[str]] = {}
    for school_id, codes in candidates.items():
        kept = {c for c in codes if failed_days.get((school_id, c), 0) >= days - 1}
        if kept:
            out[school_id] = kept
    return out


def issue_daily_notices(day: dt.date) -> AutoNotices:
    """Issue the notices the rule set asks for on ``day``'s stored results (rules.py
    NOTICE_*), each in the name of the school's district education bureau. Idempotent:
    an item already on an open notice of the school is left out, and a school with no
    item left gets none."""
    from campus_safety.inspections import rules

    outcome = AutoNotices()
    results = {r.school_id: r for r in DailyResult.objects.filter(day=day).select_related("school")}
    wanted: dict[int, set[str]] = {}
    critical: dict[int, set[str]] = {}
    for school_id, result in results.items():
        failed = {code for code, v in result.items.items() if not v.get("ok", True)}
        if result.score < rules.NOTICE_BELOW and failed:
            wanted[school_id] = failed
            outcome.below += 1
        elif failed & set(rules.NOTICE_CRITICAL):
            critical[school_id] = failed & set(rules.NOTICE_CRITICAL)
    streaks = _streaks(day, critical) if critical else {}
    outcome.streaks = len(streaks)
    wanted.update(streaks)
    if not wanted:
        return outcome
    on_notices = open_items(set(wanted))
    issuers: dict[int, Any] = {}
    deadline = clock.now() + dt.timedelta(days=rules.NOTICE_DEADLINE_DAYS)
    for school_id in sorted(wanted):
        result = results[school_id]
        codes = wanted[school_id] - on_notices.get(school_id, set())
        if not codes:
            outcome.already += 1
            continue
        school = result.school
        bureau = district_bureau(school)
        if bureau is None:
            outcome.no_bureau += 1
            continue
        if bureau.pk not in issuers:
            issuers[bureau.pk] = system_issuer(bureau)
        items = [i for i in items_from_result(result) if i["code"] in codes]
        note = _("Issued automatically by the daily inspection of %(day)s (rule set %(v)s).") % {
            "day": day.isoformat(),
            "v": result.ruleset,
        }
        with transaction.atomic():
            notice = issue_notice(
                issuers[bureau.pk],
                school=school,
                source=Notice.Source.DAILY,
                items=items,
                deadline=deadline,
                note=note,
                daily_result=result if result.notice_id is None else None,
            )
            audit.record(
                "inspection.notice_auto",
                notice,
                user=issuers[bureau.pk],
                detail={
                    "day": day.isoformat(),
                    "ruleset": rules.VERSION,
                    "score": result.score,
                    "items": sorted(codes),
                    "bureau": bureau.pk,
                },
            )
        outcome.issued.append(notice)
    return outcome
