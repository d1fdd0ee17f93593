"""Admin pages for the platform superuser. Hazards are read-only here: only the
workflow services move them, so every step keeps its time, person and audit entry."""

from django.contrib import admin

from campus_safety.hazards.models import Campaign, Checklist, Hazard, HazardEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Hazard)
class HazardAdmin(ReadOnlyAdmin):
    list_display = ["reference", "kind", "school", "severity", "status", "deadline"]
    list_filter = ["kind", "status", "severity", "source"]
    search_fields = ["reference", "title"]
    raw_id_fields = ["school"]


@admin.register(HazardEvent)
class HazardEventAdmin(ReadOnlyAdmin):
    list_display = ["hazard", "step", "at", "by"]
    list_filter = ["step"]


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["name", "template", "starts_on", "due_on"]


@admin.register(Checklist)
class ChecklistAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "school", "status", "submitted_at"]
    list_filter = ["status"]
