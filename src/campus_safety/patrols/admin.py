"""Admin for the calendar and timetables (superusers); everyday editing is in the app."""

from django.contrib import admin

from campus_safety.patrols.models import (
    Checkpoint,
    FieldStop,
    GridRoute,
    Holiday,
    PeakPost,
    PostMember,
    RouteStop,
    SchoolTimetable,
    Term,
    TourPlan,
    TourRoute,
)


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ["name", "starts_on", "ends_on"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "is_school_day"]
    list_filter = ["is_school_day"]


@admin.register(SchoolTimetable)
class SchoolTimetableAdmin(admin.ModelAdmin):
    list_display = ["school", "class_starts_at", "dismissal_at"]
    raw_id_fields = ["school"]


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "school", "is_active"]
    raw_id_fields = ["school", "device"]
    search_fields = ["code", "name", "school__name"]


class RouteStopInline(admin.TabularInline):
    model = RouteStop
    raw_id_fields = ["checkpoint"]


@admin.register(TourRoute)
class TourRouteAdmin(admin.ModelAdmin):
    list_display = ["name", "school"]
    raw_id_fields = ["school"]
    inlines = [RouteStopInline]


@admin.register(TourPlan)
class TourPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "school", "days", "is_active"]
    raw_id_fields = ["school", "route", "guards"]


class PostMemberInline(admin.TabularInline):
    model = PostMember
    raw_id_fields = ["user"]


@admin.register(PeakPost)
class PeakPostAdmin(admin.ModelAdmin):
    list_display = ["name", "school", "radius_m", "is_active"]
    raw_id_fields = ["school"]
    inlines = [PostMemberInline]


@admin.register(GridRoute)
class GridRouteAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation"]
    raw_id_fields = ["schools"]


@admin.register(FieldStop)
class FieldStopAdmin(admin.ModelAdmin):
    list_display = ["at", "place", "outcome", "organisation"]
    raw_id_fields = ["officer", "nearest_school"]
