"""Admin pages for the platform superuser (alarm cases are read-only here: only the
workflow services move them, so every step keeps its time, person and audit entry)."""

from django.contrib import admin

from campus_safety.alarms.models import AlarmCase, AlarmEscalation, PoliceUnit, TestWindow


@admin.register(AlarmCase)
class AlarmCaseAdmin(admin.ModelAdmin):
    list_display = ["id", "school", "device", "priority", "state", "opened_at", "closed_at"]
    list_filter = ["state", "priority", "is_test"]
    raw_id_fields = ["school", "device"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PoliceUnit)
class PoliceUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "organisation", "is_available"]
    list_filter = ["kind", "is_available"]


@admin.register(TestWindow)
class TestWindowAdmin(admin.ModelAdmin):
    list_display = ["school", "device", "starts_at", "ends_at", "reason"]
    raw_id_fields = ["school", "device"]


@admin.register(AlarmEscalation)
class AlarmEscalationAdmin(admin.ModelAdmin):
    list_display = ["case", "at", "reason", "level", "organisation"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
