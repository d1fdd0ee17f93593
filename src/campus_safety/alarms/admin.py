"""Admin pages for the platform superuser (alarm cases are read-only here: only the
workflow services move them, so every step keeps its time, person and audit entry)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from campus_safety.alarms.models import AlarmCase, AlarmEscalation, PoliceUnit, TestWindow
from campus_safety.devices.models import KeyArea


@admin.register(AlarmCase)
class AlarmCaseAdmin(admin.ModelAdmin):
    list_display = ["id", "school", "device", "priority", "state", "opened_at", "closed_at"]
    list_filter = ["state", "priority", "is_test"]
    raw_id_fields = ["school", "device"]
    exclude = ["key_area"]
    readonly_fields = ["key_area_in_words"]

    @admin.display(description=_("key area"))
    def key_area_in_words(self, case: AlarmCase) -> str:
        """The case keeps the area's code; the admin shows its name."""
        return KeyArea(case.key_area).label if case.key_area in KeyArea.values else case.key_area

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
