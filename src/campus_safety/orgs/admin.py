from django.contrib import admin

from campus_safety.orgs.models import Organisation, Region, School


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    exclude = ["outline"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region", "parent", "phone"]
    list_filter = ["kind", "region"]
    search_fields = ["name"]
    list_select_related = ["region", "parent"]
    autocomplete_fields = ["parent"]


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "region",
        "students",
        "boarders",
        "staff",
        "police_station",
    ]
    list_filter = ["kind", "is_boarding", "has_police_room", "region"]
    search_fields = ["code", "name", "address"]
    list_select_related = ["region", "police_station"]
    autocomplete_fields = ["police_station"]
