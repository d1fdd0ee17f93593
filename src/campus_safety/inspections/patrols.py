"""Video patrols (视频巡查): an inspector goes through a set of schools' cameras (their
snapshots now; live video where the video capability offers it, see ``live_view``),
marks findings with the snapshot kept as evidence, and a finding opens a notice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.accounts.roles import WRITE, can
from campus_safety.audit import services as audit
from campus_safety.devices.models import Device
from campus_safety.inspections import notices, quality, vqd
from campus_safety.inspections.models import (
    Finding,
    Notice,
    PatrolPlan,
    PatrolStop,
    VideoPatrol,
)
from campus_safety.orgs.models import School

MAX_SCHOOLS = 50


class NotAllowed(PermissionError):
    pass


def may_patrol(user: Any) -> bool:
    """Inspectors of the police or an education bureau (never a school)."""
    return (
        can(user, WRITE, "inspections")
        and not getattr(user, "school_id", None)
        and (user.is_superuser or getattr(user, "organisation_id", None) is not None)
    )


def start_patrol(by: Any, schools: Sequence[School], plan: PatrolPlan | None = None) -> VideoPatrol:
    """Open a patrol over ``schools`` (in that order), or over the plan's schools."""
    if not may_patrol(by):
        raise NotAllowed(_("Only police or education-bureau inspectors patrol by video."))
    if plan is not None and not schools:
        schools = list(plan.schools.order_by("code"))
    unique = list(dict.fromkeys(schools))
    if not unique:
        raise ValidationError({"schools": _("Choose at least one school.")})
    if len(unique) > MAX_SCHOOLS:
        raise ValidationError({"schools": _("At most 50 schools in one patrol.")})
    organisation = by.organisation or (plan.organisation if plan else None)
    if organisation is None:
        raise ValidationError({"schools": _("Your account belongs to no organisation.")})
    with transaction.atomic():
        patrol = VideoPatrol.objects.create(
            plan=plan, organisation=organisation, inspector=by, started_at=clock.now()
        )
        PatrolStop.objects.bulk_create(
            PatrolStop(patrol=patrol, school=school, position=index)
            for index, school in enumerate(unique, start=1)
        )
        audit.record("inspection.patrol_start", patrol, user=by, detail={"schools": len(unique)})
    return patrol


def create_plan(by: Any, *, name: str, schools: Sequence[School], every_days: int) -> PatrolPlan:
    """A standing plan: these schools, every N days, patrolled by ``by``."""
    if not may_patrol(by) or by.organisation is None:
        raise NotAllowed(_("Only police or education-bureau inspectors patrol by video."))
    errors = {}
    if not name.strip():
        errors["name"] = _("Give the plan a name.")
    if not schools:
        errors["schools"] = _("Choose at least one school.")
    if not 1 <= every_days <= 90:
        errors["every_days"] = _("Every 1 to 90 days.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        plan = PatrolPlan.objects.create(
            name=name.strip()[:80], organisation=by.organisation, inspector=by,
            every_days=every_days,
        )  # fmt: skip
        plan.schools.set(list(dict.fromkeys(schools))[:MAX_SCHOOLS])
        audit.record("inspection.plan", plan, user=by)
    return plan


def cameras_of(school: School) -> list[Device]:
    return list(
        Device.objects.filter(school=school, kind=Device.Kind.CAMERA, is_approved=True)
        .select_related("quality")
        .order_by("key_area", "device_id")
    )


def live_view(device: Device) -> str | None:
    """The live-video page of a camera when the video capability (issue #16) offers
    one (URL name ``video:live`` taking the device's pk); None until then."""
    try:
        return reverse("video:live", args=[device.pk])
    except NoReverseMatch:
        return None


def visit(stop: PatrolStop, cameras_seen: int) -> PatrolStop:
    """The inspector has looked at the school's cameras."""
    stop.visited_at = stop.visited_at or clock.now()
    stop.cameras_seen = max(stop.cameras_seen, cameras_seen)
    stop.save(update_fields=["visited_at", "cameras_seen"])
    return stop


def record_finding(
    patrol: VideoPatrol,
    by: Any,
    *,
    school: School,
    kind: str,
    note: str = "",
    device: Device | None = None,
    snapshot: bytes | None = None,
    open_notice: bool = True,
    deadline: dt.datetime | None = None,
) -> Finding:
    """A finding on ``school`` (on one camera, with its snapshot as evidence); by
    default it opens a notice to the school at once."""
    if patrol.inspector_id != by.pk or patrol.status != VideoPatrol.Status.OPEN:
        raise NotAllowed(_("Only the inspector of an open patrol records findings."))
    if not patrol.stops.filter(school=school).exists():
        raise ValidationError({"school": _("This school is not in the patrol.")})
    if kind not in Finding.Kind.values:
        raise ValidationError({"kind": _("Choose what was found.")})
    if device is not None and device.school_id != school.pk:
        raise ValidationError({"device": _("The camera is not the school's.")})
    if snapshot is not None:
        try:
            vqd.decode(snapshot)
        except vqd.UnreadablePicture as exc:
            raise ValidationError({"snapshot": str(exc)}) from exc
    now = clock.now()
    with transaction.atomic():
        finding = Finding(
            patrol=patrol,
            school=school,
            device=device,
            kind=kind,
            note=note.strip()[:500],
            at=now,
            by=by,
        )
        if snapshot:
            finding.snapshot.save(f"{now:%Y%m%d%H%M%S}.jpg", ContentFile(snapshot), save=False)
        finding.save()
        PatrolStop.objects.filter(patrol=patrol, school=school, visited_at__isnull=True).update(
            visited_at=now
        )
        audit.record("inspection.finding", finding, user=by, detail={"kind": kind})
        if open_notice:
            label = str(Finding.Kind(kind).label)
            detail = f"{device.name}" if device else ""
            if finding.note:
                detail = f"{detail} {finding.note}".strip()
            notices.issue_notice(
                by,
                school=school,
                source=Notice.Source.PATROL,
                items=[{"code": kind, "label": label, "detail": detail}],
                deadline=deadline,
                findings=[finding],
                key_area=device.key_area if device else "",
            )
            finding.refresh_from_db(fields=["notice"])
    return finding


def snapshot_for(device: Device) -> bytes | None:
    """The camera's picture now (its snapshot URL), or None when it gives none."""
    try:
        return quality.fetch_snapshot(device)
    except quality.SnapshotUnavailable:
        return None


def finish_patrol(patrol: VideoPatrol, by: Any) -> VideoPatrol:
    if patrol.inspector_id != by.pk:
        raise NotAllowed(_("Only the patrol's inspector may finish it."))
    if patrol.status == VideoPatrol.Status.DONE:
        return patrol
    patrol.status, patrol.finished_at = VideoPatrol.Status.DONE, clock.now()
    patrol.save(update_fields=["status", "finished_at"])
    audit.record("inspection.patrol_finish", patrol, user=by)
    return patrol


def plan_completion(plans: Sequence[PatrolPlan], now: dt.datetime | None = None) -> dict[int, Any]:
    """Per plan: its last completed patrol and whether one is due (every N days)."""
    now = now or clock.now()
    last = dict(
        VideoPatrol.objects.filter(plan__in=plans, status=VideoPatrol.Status.DONE)
        .values("plan")
        .annotate(last=Max("finished_at"))
        .values_list("plan", "last")
    )
    out = {}
    for plan in plans:
        done = last.get(plan.pk)
        out[plan.pk] = {
            "last": done,
            "due": done is None or done + dt.timedelta(days=plan.every_days) <= now,
        }
    return out
