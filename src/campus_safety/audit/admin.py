from django.contrib import admin

from campus_safety.accounts.roles import READ, can
from campus_safety.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log cannot be edited or deleted through the admin."""

    list_display = [
        "at",
        "username",
        "role",
        "action",
        "object_type",
        "object_id",
        "outcome",
        "source_ip",
        "channel",
    ]
    list_filter = ["outcome", "channel", "action"]
    search_fields = ["username", "action", "object_repr", "object_id"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        return AuditEntry.objects.visible_to(request.user)

    def has_module_permission(self, request) -> bool:
        return can(request.user, READ, "audit")  # not a superuser's (三权分立)

    def has_view_permission(self, request, obj=None) -> bool:
        return can(request.user, READ, "audit")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
