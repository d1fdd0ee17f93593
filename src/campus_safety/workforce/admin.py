from django.contrib import admin

from campus_safety.workforce.models import Equipment, Guard


@admin.register(Guard)
class GuardAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "school", "company", "certificate_number"]
    list_filter = ["kind", "school__region"]
    search_fields = ["name", "certificate_number", "school__name"]
    list_select_related = ["school", "company"]
    autocomplete_fields = ["school", "company"]


@admin.register(Equipment)
class EquipmentAdmin(admin.ModelAdmin):
    list_display = ["school", "kind", "quantity"]
    list_filter = ["kind", "school__region"]
    search_fields = ["school__name"]
    list_select_related = ["school"]
    autocomplete_fields = ["school"]
