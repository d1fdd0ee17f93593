"""护学岗 operations: timetables, rosters generated and swapped, check-in and
check-out at a post (inside its window and geofence). Views, the API and commands call
these; only they write."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from campus_safety import bus, clock
from campus_safety.audit import services as audit
from campus_safety.orgs.models import School
from campus_safety.patrols.bulk import insert_rows
from campus_safety.patrols.models import (
    PeakPost,
    PostAssignment,
    PostCheckIn,
    PostMember,
    SchoolTimetable,
)
from campus_safety.patrols.post_rules import Position, Timetable, is_school_day, refusals
from campus_safety.patrols.services import (
    CheckInRefused,
    PatrolError,
    holiday_calendar,
    local_day,
)


def timetables(school_ids: Iterable[int]) -> dict[int, Timetable]:
    """Each school's timetable (schools without one are absent: use the default)."""
    return {
        row.school_id: Timetable.of(row)
        for row in SchoolTimetable.objects.filter(school_id__in=list(school_ids))
    }


def save_post(post: PeakPost | None, data: dict[str, Any]) -> PeakPost:
    """Create or change a 护学岗 post (place, geofence, head-count) from checked ``data``
    (the API's and the set-up page's, patrols/serializers.py). Roster entries already
    made keep their people; the next generated days use the new head-count."""
    post = post or PeakPost()
    for field, value in data.items():
        setattr(post, field, value)
    with transaction.atomic():
        post.save()
    return post


def save_timetable(school: School, data: dict[str, Any]) -> SchoolTimetable:
    """Set a school's 作息时间, from which its posts' arrival and dismissal windows
    follow (post_rules.Timetable); windows already rostered keep their times."""
    with transaction.atomic():
        row = SchoolTimetable.objects.select_for_update().filter(school=school).first()
        row = row or SchoolTimetable(school=school)
        for field, value in data.items():
            setattr(row, field, value)
        row.full_clean()
        row.save()
    return row


ASSIGNMENT_COLUMNS = (
    "post_id", "school_id", "day", "peak", "starts_at", "ends_at", "person_type", "user_id",
)  # fmt: skip


def generate_roster(posts: QuerySet, start: dt.date, end: dt.date, *, by=None) -> dict[str, int]:
    """Roster every school day from ``start`` to ``end`` (holidays skipped, make-up
    days included) for each post and peak: the required head-count per person type
    from the post's members, least-rostered first, nobody at two posts in one peak.
    Days already rostered for a post are kept (edit them instead). Returns counts."""
    if end < start:
        raise PatrolError(_("The roster must end on or after its first day."))
    if (end - start).days > 200:
        raise PatrolError(_("Generate at most 200 days at a time (one term)."))
    posts = list(posts.filter(is_active=True).select_related("school"))
    calendar = holiday_calendar(start, end)
    days = [
        start + dt.timedelta(days=n)
        for n in range((end - start).days + 1)
        if is_school_day(start + dt.timedelta(days=n), calendar)
    ]
    members: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for post_id, user_id, kind in PostMember.objects.filter(
        post__in=posts, user__is_active=True
    ).values_list("post_id", "user_id", "person_type"):
        members[post_id][kind].append(user_id)
    taken = PostAssignment.objects.filter(day__range=(start, end))
    rostered = set(taken.filter(post__in=posts).values_list("post_id", "day", "peak"))
    busy = set(taken.values_list("user_id", "day", "peak"))
    load = Counter(
        dict(
            PostAssignment.objects.filter(day__range=(start, end))
            .values_list("user_id")
            .annotate(n=Count("pk"))
            .values_list("user_id", "n")
        )
    )
    tables = timetables({p.school_id for p in posts})
    default = Timetable.default()
    new = []
    short = 0
    for day in days:
        for post in posts:
            windows = tables.get(post.school_id, default).windows(day)
            for peak, (opens, closes) in windows.items():
                if (post.pk, day, peak) in rostered:
                    continue
                for kind, count in post.required.items():
                    pool = [u for u in members[post.pk][kind] if (u, day, peak) not in busy]
                    pool.sort(key=lambda u: (load[u], u))
                    chosen = pool[:count]
                    short += count - len(chosen)
                    for user_id in chosen:
                        busy.add((user_id, day, peak))
                        load[user_id] += 1
                        new.append(
                            (post.pk, post.school_id, day, peak, opens, closes, kind, user_id)
                        )
    with transaction.atomic():
        insert_rows(PostAssignment, ASSIGNMENT_COLUMNS, new)
        if by is not None:
            audit.record(
                "patrol.roster.generate",
                user=by,
                detail={
                    "from": str(start),
                    "to": str(end),
                    "posts": len(posts),
                    "entries": len(new),
                },
            )
    return {"days": len(days), "posts": len(posts), "entries": len(new), "unfilled": short}


def swap_assignment(assignment: PostAssignment, to_user, by, note: str = "") -> PostAssignment:
    """换班 — give a roster entry to another member of the post (same person type is
    not required: a volunteer may stand in for a teacher, the coverage shows it)."""
    if hasattr(assignment, "check_in"):
        raise PatrolError(_("Someone already checked in for this entry; it cannot be swapped."))
    if assignment.ends_at <= clock.now():
        raise PatrolError(_("This window is over; it cannot be swapped."))
    member = PostMember.objects.filter(post=assignment.post_id, user=to_user).first()
    if member is None:
        raise PatrolError(_("%(user)s is not a member of this post.") % {"user": to_user})
    if to_user.pk == assignment.user_id:
        raise PatrolError(_("That person is already rostered here."))
    if PostAssignment.objects.filter(
        user=to_user, day=assignment.day, peak=assignment.peak
    ).exists():
        raise PatrolError(_("%(user)s is already rostered in this peak.") % {"user": to_user})
    previous = assignment.user
    if assignment.swapped_from_id is None:
        assignment.swapped_from = previous
    assignment.user, assignment.person_type = to_user, member.person_type
    assignment.note = note[:255]
    assignment.save(update_fields=["user", "person_type", "swapped_from", "note"])
    audit.record(
        "patrol.roster.swap", assignment, user=by, detail={"from": previous.pk, "to": to_user.pk}
    )
    return assignment


def current_assignment(user, post: PeakPost, now: dt.datetime) -> PostAssignment | None:
    """The user's entry at ``post`` today whose window is nearest to ``now``."""
    entries = list(
        PostAssignment.objects.filter(post=post, user=user, day=local_day(now)).select_related(
            "post"
        )
    )
    if not entries:
        return None

    def distance(entry: PostAssignment) -> float:
        if entry.starts_at <= now <= entry.ends_at:
            return 0
        return min(
            abs((entry.starts_at - now).total_seconds()), abs((entry.ends_at - now).total_seconds())
        )

    return min(entries, key=distance)


def check_in(
    user, post: PeakPost, position: Position, *, note: str = "", as_exception: bool = False
) -> PostCheckIn:
    """Check in at a post: on today's roster, inside the geofence, inside the window.
    Refused with every reason, unless accepted as an exception with a note."""
    now = clock.now()
    assignment = current_assignment(user, post, now)
    if assignment is None:
        raise CheckInRefused([_("You are not on the roster at this post today.")])
    if PostCheckIn.objects.filter(assignment=assignment).exists():
        raise CheckInRefused([_("You are already checked in for this window.")])
    reasons, distance = refusals(
        post_longitude=post.longitude,
        post_latitude=post.latitude,
        radius_m=post.radius_m,
        opens=assignment.starts_at,
        closes=assignment.ends_at,
        at=now,
        position=position,
    )
    if reasons and not (as_exception and note.strip()):
        raise CheckInRefused(reasons)
    exception_note = ""
    if reasons:
        exception_note = f"{note.strip()} [{'; '.join(reasons)}]"[:255]
    try:
        with transaction.atomic():
            row = PostCheckIn.objects.create(
                assignment=assignment,
                post=post,
                school_id=post.school_id,
                user=user,
                person_type=assignment.person_type,
                checked_in_at=now,
                in_longitude=position.longitude,
                in_latitude=position.latitude,
                in_accuracy_m=position.accuracy_m,
                in_distance_m=round(distance, 1),
                is_exception=bool(reasons),
                note=exception_note or note.strip()[:255],
            )
            audit.record(
                "patrol.post.check_in", row, user=user, detail={"exception": bool(reasons)}
            )
            bus.publish_on_commit(
                "post.checked_in", post_id=post.pk, school_id=post.school_id, user_id=user.pk
            )
    except IntegrityError:
        raise CheckInRefused([_("You are already checked in for this window.")]) from None
    return row


def check_out(
    user, post: PeakPost, position: Position, *, note: str = "", as_exception: bool = False
) -> PostCheckIn:
    """Check out: inside the geofence, before the window closes (plus a short grace)."""
    now = clock.now()
    row = (
        PostCheckIn.objects.filter(
            post=post, user=user, checked_out_at__isnull=True, assignment__day=local_day(now)
        )
        .select_related("assignment")
        .order_by("-checked_in_at")
        .first()
    )
    if row is None:
        raise CheckInRefused([_("You are not checked in at this post.")])
    grace = dt.timedelta(minutes=settings.POST_CHECKOUT_GRACE_MINUTES)
    reasons, distance = refusals(
        post_longitude=post.longitude,
        post_latitude=post.latitude,
        radius_m=post.radius_m,
        opens=row.checked_in_at,
        closes=row.assignment.ends_at + grace,
        at=now,
        position=position,
    )
    if reasons and not (as_exception and note.strip()):
        raise CheckInRefused(reasons)
    row.checked_out_at = now
    row.out_longitude, row.out_latitude = position.longitude, position.latitude
    row.out_distance_m = round(distance, 1)
    if reasons:
        row.is_exception = True
        row.note = f"{row.note} {note.strip()} [{'; '.join(reasons)}]".strip()[:255]
    row.save()
    audit.record("patrol.post.check_out", row, user=user, detail={"exception": bool(reasons)})
    bus.publish_on_commit(
        "post.checked_in", post_id=post.pk, school_id=post.school_id, user_id=user.pk
    )
    return row
