"""Inspection campaigns (专项检查): a checklist template sent to a set of schools; every
item answered "no" becomes a hazard linked to its answer, so a campaign's findings are
tracked to a verified fix like any other hazard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.accounts.roles import READ, WRITE, can
from campus_safety.audit import services as audit
from campus_safety.devices.models import KeyArea
from campus_safety.hazards import checklists, services
from campus_safety.hazards.models import Campaign, Checklist, ChecklistAnswer, Hazard
from campus_safety.orgs.models import School

Answer = ChecklistAnswer.Answer


def create_campaign(
    by: Any,
    *,
    name: str,
    template: str,
    schools: Iterable[School],
    starts_on: dt.date,
    due_on: dt.date,
    description: str = "",
    source: str = Hazard.Source.EDUCATION_INSPECTION,
) -> Campaign:
    """Open a campaign and one checklist per school (the caller passes schools already
    limited to the user's scope)."""
    if not can(by, WRITE, "campaigns"):
        raise services.NotAllowed(_("Your role does not allow starting campaigns."))
    schools = list(schools)
    errors: dict[str, str] = {}
    if template not in checklists.TEMPLATES:
        errors["template"] = _("Unknown checklist template.")
    if not schools:
        errors["schools"] = _("Choose at least one school.")
    if due_on < starts_on:
        errors["due_on"] = _("Answers cannot be due before the campaign starts.")
    if not name.strip():
        errors["name"] = _("Give the campaign a name.")
    if source not in Hazard.Source.values:
        errors["source"] = _("Unknown source.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name.strip()[:120],
            template=template,
            description=description.strip(),
            source=source,
            starts_on=starts_on,
            due_on=due_on,
            created_at=clock.now(),
            created_by=by,
        )
        Checklist.objects.bulk_create([Checklist(campaign=campaign, school=s) for s in schools])
        audit.record("campaign.create", campaign, user=by, detail={"schools": len(schools)})
    return campaign


def checklist_items(checklist: Checklist) -> tuple[checklists.Item, ...]:
    """The template's items that apply to this school."""
    template = checklists.get_template(checklist.campaign.template)
    school = checklist.school
    return template.items_for(school.kind, school.is_boarding)


def may_answer(user: Any, checklist: Checklist) -> bool:
    """The school answers its own checklist (self-check); inspectors of the campaign's
    side may fill it in on an inspection visit."""
    if not (can(user, WRITE, "hazards") and can(user, READ, "campaigns")):
        return False
    if getattr(user, "is_superuser", False):
        return True
    side = services.user_side(user)
    if side == Hazard.Side.SCHOOL:
        return user.school_id == checklist.school_id
    allowed = services.SOURCES_BY_SIDE.get(side, set())
    return checklist.campaign.source in allowed


def _hazard_source(user: Any, campaign: Campaign) -> str:
    """A school answering for itself is a self-check, whatever the campaign calls it."""
    if services.user_side(user) == Hazard.Side.SCHOOL:
        return Hazard.Source.SELF_CHECK
    return campaign.source


def answer_checklist(
    checklist: Checklist, by: Any, answers: Mapping[str, tuple[str, str]]
) -> list[Hazard]:
    """Store every item's answer (``{code: (yes|no|na, note)}``) at once and open a
    hazard for each "no"; returns the hazards opened. A checklist is answered once."""
    if not may_answer(by, checklist):
        raise services.NotAllowed(_("You may not answer this checklist."))
    if checklist.status != Checklist.Status.PENDING:
        raise ValidationError({"answers": _("This checklist has already been answered.")})
    items = checklist_items(checklist)
    errors: dict[str, str] = {}
    for item in items:
        answer, note = answers.get(item.code, ("", ""))
        if answer not in Answer.values:
            errors[item.code] = _("Answer yes, no or not applicable.")
        elif answer == Answer.NO and not (note or "").strip():
            errors[item.code] = _("Say briefly what is missing or wrong.")
    unknown = set(answers) - {i.code for i in items}
    if unknown:
        errors["answers"] = _("Unknown items: %(codes)s") % {"codes": ", ".join(sorted(unknown))}
    if errors:
        raise ValidationError(errors)
    source = _hazard_source(by, checklist.campaign)
    opened: list[Hazard] = []
    now = clock.now()
    with transaction.atomic():
        for item in items:
            answer, note = answers[item.code]
            row = ChecklistAnswer.objects.create(
                checklist=checklist,
                item_code=item.code,
                key_area=item.key_area,
                facility=str(item.facility),
                answer=answer,
                note=(note or "").strip()[:500],
            )
            if answer != Answer.NO:
                continue
            area = KeyArea(item.key_area).label
            opened.append(
                services.report_hazard(
                    by,
                    school=checklist.school,
                    kind=Hazard.Kind.INTERNAL,
                    title=f"{area} — {item.facility}: {_('missing or inadequate')}"[:120],
                    description=f"{checklist.campaign.name} · {item.code} {item.question}\n"
                    f"{row.note}",
                    category=item.category,
                    severity=item.severity,
                    source=source,
                    key_area=item.key_area,
                    facility=str(item.facility),
                    checklist_answer=row,
                )
            )
        checklist.status, checklist.submitted_at, checklist.submitted_by = (
            Checklist.Status.SUBMITTED,
            now,
            by,
        )
        checklist.save(update_fields=["status", "submitted_at", "submitted_by"])
    return opened
