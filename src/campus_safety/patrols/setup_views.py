"""Set-up pages of a school's patrols: guard-tour checkpoints (with their QR codes to
print), routes (checkpoints in walking order), plans (a route, times, days, guards),
and 护学岗 gate posts (place, geofence, head-count) with the school's windows.

Parse, call a service, render: the forms check with the API's rules (patrols/forms.py)
and the services of the API write (services.save_checkpoint, save_route, save_plan;
peak_posts.save_post, save_timetable). A school administrator sees their school; a
district's user chooses among their schools (the select lists only those).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Model, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from campus_safety import clock
from campus_safety.accounts.access import role_required
from campus_safety.accounts.roles import WRITE, can
from campus_safety.orgs.models import School
from campus_safety.patrols import peak_posts, services
from campus_safety.patrols.forms import (
    CheckpointForm,
    PlanForm,
    PostForm,
    RouteForm,
    TimetableForm,
)
from campus_safety.patrols.models import (
    Checkpoint,
    PeakPost,
    RouteStop,
    SchoolTimetable,
    TourPlan,
    TourRoute,
)
from campus_safety.patrols.page_params import PAGE_SIZE, query_without_page
from campus_safety.patrols.post_rules import Timetable
from campus_safety.scoping import get_visible_or_404

TOURS, POSTS = "patrols", "posts"


def _schools(request: HttpRequest) -> QuerySet[School]:
    return School.objects.visible_to(request.user).order_by("name")


def _chosen_school(request: HttpRequest, schools: QuerySet[School]) -> School | None:
    """The school named in the form or the address (one of the user's), or the user's
    only school; None while a district's user has not chosen."""
    raw = request.POST.get("school") or request.GET.get("school") or ""
    chosen = schools.filter(pk=int(raw)).first() if raw.isdigit() else None
    if chosen is not None:
        return chosen
    only = list(schools[:2])
    return only[0] if len(only) == 1 else None


def _list(
    request: HttpRequest,
    rows: QuerySet,
    template: str,
    resource: str,
    extra: Callable[[list[Any]], dict[str, Any]] | None = None,
) -> HttpResponse:
    """A set-up list, narrowed to one school with ``?school=``, a page at a time;
    ``extra`` adds to the context what the page's rows need."""
    schools = _schools(request)
    school = _chosen_school(request, schools) if request.GET.get("school") else None
    if school is not None:
        rows = rows.filter(school=school)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        template,
        {
            "page": page,
            "query": query_without_page(request),
            "school": school,
            "schools": schools if len(schools[:2]) > 1 else None,
            "may_write": can(request.user, WRITE, resource),
            **(extra(list(page.object_list)) if extra else {}),
        },
    )


def _edit(
    request: HttpRequest,
    form_class: type,
    instance: Model | None,
    save: Callable[[Model | None, dict[str, Any]], Model],
    *,
    back: str,
    title: str,
    saved: str,
) -> HttpResponse:
    """Show the form (its choices those of the chosen school), or save it through
    ``save`` and go back to the list; refused input is answered 400 with the reasons."""
    schools = _schools(request)
    school = instance.school if instance is not None else _chosen_school(request, schools)
    form = form_class(
        request.POST or None, request=request, instance=instance, schools=schools, school=school
    )
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(instance, form.validated_data)
        except (services.PatrolError, ValidationError) as exc:
            form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, saved % {"name": obj})
            return redirect(f"{back}?school={obj.school_id}")
    return render(
        request,
        "patrols/setup_form.html",
        {"form": form, "instance": instance, "school": school, "title": title, "back": back},
        status=400 if form.errors else 200,
    )


# --- guard-tour checkpoints ---


@login_required
@role_required(TOURS)
def checkpoints(request: HttpRequest) -> HttpResponse:
    """巡更点 of the user's schools, each with its QR code to print."""
    rows = (
        Checkpoint.objects.visible_to(request.user)
        .select_related("school", "device")
        .order_by("school__name", "code")
    )
    return _list(request, rows, "patrols/setup_checkpoints.html", TOURS)


@login_required
@role_required(TOURS, action=WRITE)
def checkpoint_new(request: HttpRequest) -> HttpResponse:
    return _edit(
        request, CheckpointForm, None, services.save_checkpoint,
        back=reverse("patrols:checkpoints"), title=_("New checkpoint"),
        saved=_("Checkpoint %(name)s saved."),
    )  # fmt: skip


@login_required
@role_required(TOURS, action=WRITE)
def checkpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    checkpoint = get_visible_or_404(
        Checkpoint.objects.select_related("school"), request.user, pk=pk
    )
    return _edit(
        request, CheckpointForm, checkpoint, services.save_checkpoint,
        back=reverse("patrols:checkpoints"), title=_("Edit checkpoint"),
        saved=_("Checkpoint %(name)s saved."),
    )  # fmt: skip


# --- routes ---


@login_required
@role_required(TOURS)
def routes(request: HttpRequest) -> HttpResponse:
    """巡更路线: each route's checkpoints in walking order."""
    stops = RouteStop.objects.select_related("checkpoint").order_by("position")
    rows = (
        TourRoute.objects.visible_to(request.user)
        .select_related("school")
        .prefetch_related(Prefetch("stops", queryset=stops))
        .order_by("school__name", "name")
    )
    return _list(request, rows, "patrols/setup_routes.html", TOURS)


@login_required
@role_required(TOURS, action=WRITE)
def route_new(request: HttpRequest) -> HttpResponse:
    return _edit(
        request, RouteForm, None, services.save_route,
        back=reverse("patrols:routes"), title=_("New route"), saved=_("Route %(name)s saved."),
    )  # fmt: skip


@login_required
@role_required(TOURS, action=WRITE)
def route_edit(request: HttpRequest, pk: int) -> HttpResponse:
    route = get_visible_or_404(TourRoute.objects.select_related("school"), request.user, pk=pk)
    return _edit(
        request, RouteForm, route, services.save_route,
        back=reverse("patrols:routes"), title=_("Edit route"), saved=_("Route %(name)s saved."),
    )  # fmt: skip


# --- plans ---


@login_required
@role_required(TOURS)
def plans(request: HttpRequest) -> HttpResponse:
    """巡更计划: which route is walked when, on which days, by whom."""
    rows = (
        TourPlan.objects.visible_to(request.user)
        .select_related("school", "route")
        .annotate(guard_count=Count("guards"))
        .order_by("school__name", "name")
    )
    return _list(request, rows, "patrols/setup_plans.html", TOURS)


@login_required
@role_required(TOURS, action=WRITE)
def plan_new(request: HttpRequest) -> HttpResponse:
    return _edit(
        request, PlanForm, None, services.save_plan,
        back=reverse("patrols:plans"), title=_("New tour plan"), saved=_("Plan %(name)s saved."),
    )  # fmt: skip


@login_required
@role_required(TOURS, action=WRITE)
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_visible_or_404(TourPlan.objects.select_related("school"), request.user, pk=pk)
    return _edit(
        request, PlanForm, plan, services.save_plan,
        back=reverse("patrols:plans"), title=_("Edit tour plan"), saved=_("Plan %(name)s saved."),
    )  # fmt: skip


# --- 护学岗 posts ---


@login_required
@role_required(POSTS)
def posts(request: HttpRequest) -> HttpResponse:
    """护学岗 posts, and each school's arrival and dismissal windows (its timetable, or
    the city's default) on a school day."""
    rows = (
        PeakPost.objects.visible_to(request.user)
        .select_related("school")
        .order_by("school__name", "name")
    )
    return _list(request, rows, "patrols/setup_posts.html", POSTS, _windows)


def _windows(rows: list[PeakPost]) -> dict[str, Any]:
    """Each post's arrival and dismissal windows today, from its school's timetable."""
    day = services.local_day(clock.now())
    tables = peak_posts.timetables({post.school_id for post in rows})
    default = Timetable.default()
    for post in rows:
        windows = tables.get(post.school_id, default).windows(day)
        post.arrival, post.dismissal = windows["arrival"], windows["dismissal"]
        post.has_own_timetable = post.school_id in tables
    return {}


@login_required
@role_required(POSTS, action=WRITE)
def post_new(request: HttpRequest) -> HttpResponse:
    return _edit(
        request, PostForm, None, peak_posts.save_post,
        back=reverse("patrols:posts"), title=_("New gate post"), saved=_("Post %(name)s saved."),
    )  # fmt: skip


@login_required
@role_required(POSTS, action=WRITE)
def post_edit(request: HttpRequest, pk: int) -> HttpResponse:
    post = get_visible_or_404(PeakPost.objects.select_related("school"), request.user, pk=pk)
    return _edit(
        request, PostForm, post, peak_posts.save_post,
        back=reverse("patrols:posts"), title=_("Edit gate post"), saved=_("Post %(name)s saved."),
    )  # fmt: skip


@login_required
@role_required(POSTS, action=WRITE)
def timetable_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A school's 作息时间: the windows its posts are staffed in (RULES.md §3)."""
    school = get_visible_or_404(School, request.user, pk=pk)
    row = SchoolTimetable.objects.filter(school=school).first()
    default = Timetable.default()
    initial = {
        "class_starts_at": default.class_starts_at,
        "dismissal_at": default.dismissal_at,
        "arrival_lead_minutes": default.arrival_lead,
        "arrival_tail_minutes": default.arrival_tail,
        "dismissal_lead_minutes": default.dismissal_lead,
        "dismissal_tail_minutes": default.dismissal_tail,
    }
    form = TimetableForm(request.POST or None, instance=row, initial=None if row else initial)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in TimetableForm.Meta.fields}
        try:
            peak_posts.save_timetable(school, fields)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Windows of %(school)s saved.") % {"school": school.name})
            return redirect(f"{reverse('patrols:posts')}?school={school.pk}")
    windows = Timetable.of(row).windows(services.local_day(clock.now()))
    return render(
        request,
        "patrols/setup_timetable.html",
        {"form": form, "school": school, "windows": windows, "is_default": row is None},
        status=400 if form.errors else 200,
    )
