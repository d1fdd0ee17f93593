"""信息通报: notices from the police or the education bureau to schools, with read and
confirm receipts per school, reminders, and safety warnings on the schools' banner.

A notice may also go to units (a district's education bureau, a police sub-bureau or
station: ``target["units"]``), each of which forwards it to its own schools as a notice
of its own (``forward``); ``chain`` rolls the receipts of every forwarded copy up to the
notice that started it, level by level.

The target (districts, police-station areas, school kinds, a list of schools) is
resolved once, when the notice is sent, within the sender's own scope: a receipt row
per school, so "who has not confirmed" is one query and a school added later does not
receive old notices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet, Window
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from campus_safety import bus, clock
from campus_safety.accounts.roles import WRITE, can
from campus_safety.audit import services as audit
from campus_safety.linkage.models import Notice, NoticeReceipt, NoticeRelay
from campus_safety.linkage.services import NotAllowed
from campus_safety.orgs.models import Organisation, School
from campus_safety.scoping import user_scope

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_SUFFIXES = (".pdf", ".docx", ".xlsx", ".jpg", ".jpeg", ".png", ".txt")
MAX_SCHOOLS = 5000
MAX_UNITS = 500
CHAIN_DEPTH = 3  # city → district / sub-bureau → station: deeper chains are not followed
UNIT_KINDS = (
    Organisation.Kind.EDUCATION_BUREAU,
    Organisation.Kind.POLICE_SUB_BUREAU,
    Organisation.Kind.POLICE_STATION,
)


def reminder_hours() -> float:
    """A reminder goes to schools that have not confirmed this long before the deadline."""
    return float(getattr(settings, "LINKAGE_NOTICE_REMINDER_HOURS", 24))


def target_schools(sender: Any, target: dict[str, Any]) -> QuerySet:
    """The sender's visible schools that match every part of the target given."""
    schools = School.objects.visible_to(sender)
    if target.get("regions"):
        q = Q()
        for code in target["regions"]:
            q |= Q(region__code__startswith=str(code).rstrip("0") or str(code))
        schools = schools.filter(q)
    if target.get("stations"):
        schools = schools.filter(police_station_id__in=[int(s) for s in target["stations"]])
    if target.get("kinds"):
        schools = schools.filter(kind__in=list(target["kinds"]))
    if target.get("schools"):
        schools = schools.filter(pk__in=[int(s) for s in target["schools"]])
    return schools


def target_units(sender: Any) -> QuerySet:
    """The units below the sender a notice may be passed to for forwarding: education
    bureaus, police sub-bureaus and stations within a region-wide sender's region (a
    station or a school has none below it); never the sender's own unit."""
    scope = user_scope(sender)
    units = Organisation.objects.filter(kind__in=UNIT_KINDS)
    if scope.everything:
        pass
    elif scope.region_prefix is not None and not getattr(sender, "school_id", None):
        units = units.filter(region__code__startswith=scope.region_prefix)
    else:
        return units.none()
    if getattr(sender, "organisation_id", None):
        units = units.exclude(pk=sender.organisation_id)
    return units.select_related("region").order_by("region__code", "kind", "name")


def _unit_target(unit: Organisation) -> dict[str, list[Any]]:
    """A unit's own schools, as a notice target: a station's area, else its region."""
    if unit.kind == Organisation.Kind.POLICE_STATION:
        return {"stations": [unit.pk]}
    return {"regions": [unit.region.code]}


def _check_attachment(attachment: Any) -> None:
    if attachment is None:
        return
    if attachment.size > MAX_ATTACHMENT_BYTES:
        raise ValidationError({"attachment": _("The attachment is larger than 10 MB.")})
    if not attachment.name.lower().endswith(ATTACHMENT_SUFFIXES):
        raise ValidationError({"attachment": _("Attach a PDF, Word, Excel, text or image file.")})


def send_notice(
    by: Any,
    *,
    title: str,
    body: str,
    target: dict[str, Any],
    confirm_by: dt.datetime | None = None,
    kind: str = Notice.Kind.NOTICE,
    banner_hours: float = 24,
    attachment: Any = None,
    parent: Notice | None = None,
) -> Notice:
    """Send a notice (or a safety warning) to the target's schools, a receipt each, and
    to the target's units (``units``: organisation ids), a relay each, to forward."""
    if not can(by, WRITE, "notices") or getattr(by, "school_id", None):
        raise NotAllowed(_("Only the police and the education bureau send notices."))
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("Give the notice a title.")
    if not body.strip():
        errors["body"] = _("Write the notice.")
    if kind not in Notice.Kind.values:
        errors["kind"] = _("Choose notice or safety warning.")
    now = clock.now()
    if confirm_by is not None and confirm_by <= now:
        errors["confirm_by"] = pgettext("linkage", "The deadline must be in the future.")
    target = {
        k: list(v)
        for k, v in (target or {}).items()
        if k in {"regions", "stations", "kinds", "schools", "units"} and v
    }
    if not target:
        errors["target"] = _("Choose whom the notice is for.")
    if errors:
        raise ValidationError(errors)
    _check_attachment(attachment)
    unit_ids: list[int] = []
    if target.get("units"):
        wanted = {int(u) for u in target["units"]}
        unit_ids = list(
            target_units(by).filter(pk__in=wanted).values_list("pk", flat=True)[: MAX_UNITS + 1]
        )
        if len(unit_ids) != len(wanted):
            raise ValidationError({"units": _("A unit chosen is not below yours.")})
        if len(unit_ids) > MAX_UNITS:
            raise ValidationError({"units": _("A notice goes to at most 500 units.")})
    school_target = {k: v for k, v in target.items() if k != "units"}
    school_ids = (
        list(target_schools(by, school_target).values_list("pk", flat=True)[: MAX_SCHOOLS + 1])
        if school_target
        else []
    )
    if not school_ids and not unit_ids:
        raise ValidationError({"target": _("No school in your scope matches.")})
    if len(school_ids) > MAX_SCHOOLS:
        raise ValidationError({"target": _("A notice goes to at most 5,000 schools.")})
    with transaction.atomic():
        notice = Notice(
            kind=kind,
            title=title.strip()[:120],
            body=body.strip()[:8000],
            target=target,
            created_by=by,
            sender_organisation_id=getattr(by, "organisation_id", None),
            created_at=now,
            confirm_by=confirm_by,
            banner_until=now + dt.timedelta(hours=banner_hours)
            if kind == Notice.Kind.WARNING
            else None,
            parent=parent,
        )
        if attachment is not None:
            notice.attachment = attachment
        notice.save()
        NoticeReceipt.objects.bulk_create(
            NoticeReceipt(notice=notice, school_id=pk) for pk in school_ids
        )
        NoticeRelay.objects.bulk_create(
            NoticeRelay(notice=notice, organisation_id=pk) for pk in unit_ids
        )
        audit.record(
            "notice.send",
            notice,
            user=by,
            detail={"schools": len(school_ids), "units": len(unit_ids)},
        )
        if school_ids:
            # One live event per send, addressed to its schools alone (live/addressing.py):
            # their pages refresh the banner and the list at once; those above them are
            # not told, and a city-wide warning is one event, not thousands.
            bus.publish_on_commit(
                "notice.published",
                notice_id=notice.pk,
                kind=kind,
                title=notice.title,
                schools=len(school_ids),
                recipients={"schools": school_ids},
            )
    return notice


def lineage(notice_id: int | None) -> list[int]:
    """The notice and the notices it was forwarded from, nearest first (at most
    ``CHAIN_DEPTH`` levels up; a query per level): whose chain view a change moves."""
    found: list[int] = []
    while notice_id is not None and len(found) <= CHAIN_DEPTH:
        found.append(notice_id)
        notice_id = Notice.objects.filter(pk=notice_id).values_list("parent_id", flat=True).first()
    return found


def _publish_receipt(receipt: NoticeReceipt) -> None:
    """Tell the school's supervisors (the sender among them) its copy was read or
    confirmed: the receipts page refreshes, and the chain view of every notice it was
    forwarded from (``notice_ids``)."""
    bus.publish_on_commit(
        "notice.receipt",
        school_id=receipt.school_id,
        notice_id=receipt.notice_id,
        notice_ids=lineage(receipt.notice_id),
        read=receipt.read_at is not None,
        confirmed=receipt.confirmed_at is not None,
    )


def _publish_relay(relay: NoticeRelay) -> None:
    """A unit read or forwarded a notice passed to it: tell the senders up its chain
    (their units and themselves, addressed — never the unit's siblings), so the chain
    view refreshes."""
    ids = lineage(relay.notice_id)
    senders = list(
        Notice.objects.filter(pk__in=ids).values_list("sender_organisation_id", "created_by_id")
    )
    bus.publish_on_commit(
        "notice.relay",
        notice_id=relay.notice_id,
        notice_ids=ids,
        organisation_id=relay.organisation_id,
        read=relay.read_at is not None,
        forwarded=relay.forwarded_id is not None,
        recipients={
            "organisations": sorted({org for org, _user in senders if org}),
            "users": sorted({user for _org, user in senders}),
        },
    )


def _own_receipt(user: Any, notice: Notice) -> NoticeReceipt:
    if not getattr(user, "school_id", None):
        raise NotAllowed(_("Only a school reads and confirms its copy."))
    receipt = NoticeReceipt.objects.filter(notice=notice, school_id=user.school_id).first()
    if receipt is None:
        raise NotAllowed(_("This notice was not sent to your school."))
    return receipt


def own_relay(user: Any, notice: Notice) -> NoticeRelay | None:
    """The relay of ``notice`` to the user's unit, if it was passed to it."""
    if getattr(user, "school_id", None) or not getattr(user, "organisation_id", None):
        return None
    return NoticeRelay.objects.filter(notice=notice, organisation_id=user.organisation_id).first()


def mark_relay_read(user: Any, notice: Notice) -> NoticeRelay | None:
    """The unit's first reader marks the relay read (a unit's user opening the notice)."""
    relay = own_relay(user, notice)
    if relay is not None and relay.read_at is None:
        updated = NoticeRelay.objects.filter(pk=relay.pk, read_at__isnull=True).update(
            read_at=clock.now(), read_by=user
        )
        if updated:
            relay.refresh_from_db()
            _publish_relay(relay)
    return relay


def forward(
    user: Any,
    notice: Notice,
    *,
    note: str = "",
    units: list[int] | None = None,
    confirm_by: dt.datetime | None = None,
) -> Notice:
    """The unit a notice was passed to forwards it to its own schools (and, a sub-bureau,
    to the units below it): a notice of its own, the same kind, text and attachment, the
    unit's note on top, the original deadline unless it sets an earlier one. Once."""
    if not can(user, WRITE, "notices") or getattr(user, "school_id", None):
        raise NotAllowed(_("Your role does not allow this."))
    relay = own_relay(user, notice)
    if relay is None:
        raise NotAllowed(_("This notice was not passed to your unit."))
    if relay.forwarded_id:
        raise ValidationError(_("Your unit has forwarded this notice already."))
    now = clock.now()
    deadline = confirm_by or notice.confirm_by
    if deadline is not None and deadline <= now:
        deadline = None  # the original deadline has passed: the unit sets its own or none
    target: dict[str, list[Any]] = _unit_target(user.organisation)
    if units:
        target["units"] = [int(u) for u in units]
    body = notice.body if not note.strip() else f"{note.strip()[:1000]}\n\n{notice.body}"
    with transaction.atomic():
        relay = NoticeRelay.objects.select_for_update().get(pk=relay.pk)
        if relay.forwarded_id:
            raise ValidationError(_("Your unit has forwarded this notice already."))
        banner_hours = 24.0
        if notice.banner_until is not None:
            banner_hours = max((notice.banner_until - now).total_seconds() / 3600, 1.0)
        child = send_notice(
            user,
            title=notice.title,
            body=body,
            target=target,
            confirm_by=deadline,
            kind=notice.kind,
            banner_hours=banner_hours,
            parent=notice,
        )
        if notice.attachment:
            Notice.objects.filter(pk=child.pk).update(attachment=notice.attachment.name)
        relay.forwarded, relay.forwarded_at, relay.forwarded_by = child, now, user
        if relay.read_at is None:
            relay.read_at, relay.read_by = now, user
        relay.save(
            update_fields=["forwarded", "forwarded_at", "forwarded_by", "read_at", "read_by"]
        )
        audit.record("notice.forward", notice, user=user, detail={"forwarded_as": child.pk})
        _publish_relay(relay)
    return child


def mark_read(user: Any, notice: Notice) -> NoticeReceipt | None:
    """The school's first reader marks its copy read (a school user opening it)."""
    if not getattr(user, "school_id", None):
        return None
    receipt = NoticeReceipt.objects.filter(
        notice=notice, school_id=user.school_id, read_at__isnull=True
    ).first()
    if receipt is not None:
        receipt.read_at, receipt.read_by = clock.now(), user
        receipt.save(update_fields=["read_at", "read_by"])
        _publish_receipt(receipt)
    return receipt


def confirm(user: Any, notice: Notice, reply: str = "") -> NoticeReceipt:
    """The school confirms it received the notice (and may reply: the way back)."""
    if not can(user, WRITE, "notices"):
        raise NotAllowed(_("Your role does not allow this."))
    with transaction.atomic():
        receipt = NoticeReceipt.objects.select_for_update().get(pk=_own_receipt(user, notice).pk)
        now = clock.now()
        if receipt.read_at is None:
            receipt.read_at, receipt.read_by = now, user
        if receipt.confirmed_at is None:
            receipt.confirmed_at, receipt.confirmed_by = now, user
        receipt.reply = reply.strip()[:500] or receipt.reply
        receipt.save(update_fields=["read_at", "read_by", "confirmed_at", "confirmed_by", "reply"])
        audit.record("notice.confirm", notice, user=user, detail={"school": user.school_id})
        _publish_receipt(receipt)
    return receipt


@dataclass
class Reminded:
    """Who a reminder went to: schools that had not confirmed, units that had not
    forwarded."""

    schools: int = 0
    units: int = 0

    def __int__(self) -> int:
        return self.schools + self.units


def remind(notice: Notice, by: Any = None, now: dt.datetime | None = None) -> Reminded:
    """Remind every school that has not confirmed and every unit the notice was passed
    to that has not forwarded it."""
    now = now or clock.now()
    if by is not None and not (can(by, WRITE, "notices") and not getattr(by, "school_id", None)):
        raise NotAllowed(_("Your role does not allow this."))
    if by is not None and own_relay(by, notice) is not None:
        # a unit it was passed to forwards it; reminding is for those above (its siblings
        # are none of its business)
        raise NotAllowed(_("Your role does not allow this."))
    with transaction.atomic():
        pending = NoticeReceipt.objects.select_for_update().filter(
            notice=notice, confirmed_at__isnull=True
        )
        school_ids = list(pending.values_list("school_id", flat=True))
        waiting = NoticeRelay.objects.select_for_update().filter(
            notice=notice, forwarded__isnull=True
        )
        unit_ids = list(waiting.values_list("organisation_id", flat=True))
        if not school_ids and not unit_ids:
            return Reminded()
        NoticeReceipt.objects.filter(notice=notice, school_id__in=school_ids).update(
            reminders=F("reminders") + 1, reminded_at=now
        )
        NoticeRelay.objects.filter(notice=notice, organisation_id__in=unit_ids).update(
            reminders=F("reminders") + 1, reminded_at=now
        )
        audit.record(
            "notice.remind",
            notice,
            user=by,
            detail={"schools": len(school_ids), "units": len(unit_ids)},
        )
        bus.publish_on_commit(
            "notice.reminder",
            notice_id=notice.pk,
            school_ids=school_ids,
            unit_ids=unit_ids,
            recipients={"schools": school_ids, "organisations": unit_ids},
        )
    return Reminded(len(school_ids), len(unit_ids))


def remind_due(now: dt.datetime | None = None) -> int:
    """The periodic task: once the deadline is near (``LINKAGE_NOTICE_REMINDER_HOURS``),
    a reminder to the schools that have not confirmed and the units that have not
    forwarded — once per notice before the deadline. Returns schools + units reminded."""
    now = now or clock.now()
    soon = now + dt.timedelta(hours=reminder_hours())
    near = Notice.objects.filter(confirm_by__gt=now, confirm_by__lte=soon)
    schools_due = NoticeReceipt.objects.filter(
        notice__in=near.values("pk"), confirmed_at__isnull=True, reminded_at__isnull=True
    ).values("notice_id")
    units_due = NoticeRelay.objects.filter(
        notice__in=near.values("pk"), forwarded__isnull=True, reminded_at__isnull=True
    ).values("notice_id")
    due = near.filter(Q(pk__in=schools_due) | Q(pk__in=units_due)).order_by("pk")
    return sum(int(remind(notice, None, now)) for notice in due)


def receipt_counts(notices: QuerySet) -> dict[int, dict[str, int]]:
    """Per notice: schools, read, confirmed (one GROUP BY)."""
    rows = (
        NoticeReceipt.objects.filter(notice__in=notices.order_by().values("pk"))
        .order_by()
        .values("notice_id")
        .annotate(
            total=Count("pk"),
            read=Count("pk", filter=Q(read_at__isnull=False)),
            confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)),
        )
    )
    return {r["notice_id"]: r for r in rows}


def active_warnings(user: Any, now: dt.datetime | None = None) -> list[Notice]:
    """Safety warnings for the user's school still on its banner."""
    if not getattr(user, "school_id", None):
        return []
    now = now or clock.now()
    return list(
        Notice.objects.filter(
            kind=Notice.Kind.WARNING,
            banner_until__gt=now,
            receipts__school_id=user.school_id,
        ).order_by("-created_at")[:3]
    )


def unconfirmed_count(schools: QuerySet, now: dt.datetime | None = None) -> int:
    """Receipts of ``schools`` not yet confirmed on notices with a deadline."""
    return NoticeReceipt.objects.filter(
        school__in=schools.order_by().values("pk"),
        confirmed_at__isnull=True,
        notice__confirm_by__isnull=False,
    ).count()


@dataclass
class Tally:
    """A subtree's receipts: summed over every copy (``raw``), and the copies at schools
    reached more than once, so those count once (``distinct``)."""

    raw: dict[str, int]
    repeated: dict[int, list[int]] = field(default_factory=dict)

    def add(self, school_id: int, copies: tuple[int, int, int]) -> None:
        held = self.repeated.setdefault(school_id, [0, 0, 0])
        for i, n in enumerate(copies):
            held[i] += n

    def merge(self, other: Tally) -> None:
        for key, value in other.raw.items():
            self.raw[key] = self.raw.get(key, 0) + value
        for school_id, copies in other.repeated.items():
            self.add(school_id, (copies[0], copies[1], copies[2]))

    def distinct(self) -> dict[str, int]:
        """Schools, read, confirmed with each school once (read or confirmed if any of
        its copies is)."""
        extra = [0, 0, 0]
        for copies in self.repeated.values():
            for i, n in enumerate(copies):
                extra[i] += max(n - 1, 0)
        return {
            key: self.raw.get(key, 0) - extra[i]
            for i, key in enumerate(("total", "read", "confirmed"))
        }


@dataclass
class ChainNode:
    """One notice of a forwarding chain and what it reached: its own schools' receipts
    (``own``), the units it was passed to (``children``: relays, each with the node of
    the notice that unit forwarded), and the totals rolled up from everything below."""

    notice_id: int
    relay: NoticeRelay | None = None
    own: dict[str, int] = field(default_factory=dict)
    children: list[ChainNode] = field(default_factory=list)
    total: dict[str, int] = field(default_factory=dict)

    @property
    def unread(self) -> int:
        return self.total.get("total", 0) - self.total.get("read", 0)

    @property
    def unconfirmed(self) -> int:
        return self.total.get("total", 0) - self.total.get("confirmed", 0)


def _repeated_schools(notice_ids: list[int]) -> dict[int, list[tuple[int, bool, bool]]]:
    """Per notice, its copies at schools that hold more than one copy in the chain (a
    district's and a station's): (school, read, confirmed). One query, a window count
    over the chain's receipts (a GROUP BY … HAVING subquery took 5x as long)."""
    rows = (
        NoticeReceipt.objects.filter(notice_id__in=notice_ids)
        .annotate(
            copies=Window(Count("pk"), partition_by=[F("school_id")]),
            was_read=ExpressionWrapper(Q(read_at__isnull=False), output_field=BooleanField()),
            was_confirmed=ExpressionWrapper(
                Q(confirmed_at__isnull=False), output_field=BooleanField()
            ),
        )
        .filter(copies__gt=1)
        .order_by()
        .values_list("notice_id", "school_id", "was_read", "was_confirmed")
    )
    found: dict[int, list[tuple[int, bool, bool]]] = {}
    for notice_id, school_id, was_read, was_confirmed in rows:
        found.setdefault(notice_id, []).append((school_id, bool(was_read), bool(was_confirmed)))
    return found


def chain(notice: Notice) -> ChainNode:
    """The notice's forwarding tree with receipts rolled up, level by level: a query for
    each level's relays, one GROUP BY for every notice's receipts (not one per unit),
    and one for the schools reached by more than one path. Units that have not read or
    not forwarded are counted at every level.

    A school reached twice below a node (its district's copy and its station's) counts
    once in that node's totals: read if it read either copy, confirmed if it confirmed
    either; every unit's row counts its own part of the tree the same way."""
    relays_of: dict[int, list[NoticeRelay]] = {}
    frontier, every = [notice.pk], [notice.pk]
    for _depth in range(CHAIN_DEPTH):
        relays = list(
            NoticeRelay.objects.filter(notice_id__in=frontier).select_related(
                "organisation", "organisation__region", "read_by", "forwarded_by"
            )
        )
        for relay in relays:
            relays_of.setdefault(relay.notice_id, []).append(relay)
        frontier = [r.forwarded_id for r in relays if r.forwarded_id]
        if not frontier:
            break
        every += frontier
    counts = receipt_counts(Notice.objects.filter(pk__in=every))
    repeated = _repeated_schools(every) if len(every) > 1 else {}
    keys = ("total", "read", "confirmed")

    def build(notice_id: int, relay: NoticeRelay | None, depth: int) -> tuple[ChainNode, Tally]:
        """The node, and what its subtree holds: every copy's counts (``raw``) and, per
        school reached more than once, its copies, read copies, confirmed copies."""
        row = counts.get(notice_id, {})
        own = {k: row.get(k, 0) for k in keys}
        node = ChainNode(notice_id, relay, own, total=dict(own))
        node.total.update(units=0, units_unread=0, units_not_forwarded=0)
        tally = Tally(raw=dict(own))
        for school_id, was_read, was_confirmed in repeated.get(notice_id, []):
            tally.add(school_id, (1, int(was_read), int(was_confirmed)))
        for child_relay in relays_of.get(notice_id, []) if depth < CHAIN_DEPTH else []:
            if child_relay.forwarded_id:
                child, below = build(child_relay.forwarded_id, child_relay, depth + 1)
                tally.merge(below)
            else:
                child = ChainNode(0, child_relay, total=dict.fromkeys(keys, 0))
                child.total.update(units=0, units_unread=0, units_not_forwarded=0)
            node.children.append(child)
            for key in ("units", "units_unread", "units_not_forwarded"):
                node.total[key] += child.total[key]
            node.total["units"] += 1
            node.total["units_unread"] += child_relay.read_at is None
            node.total["units_not_forwarded"] += child_relay.forwarded_id is None
        node.total.update(tally.distinct())
        return node, tally

    return build(notice.pk, None, 0)[0]
