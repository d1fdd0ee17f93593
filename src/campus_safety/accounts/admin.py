from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from campus_safety.accounts.admin_labels import TranslatedPermissions, install
from campus_safety.accounts.models import User


@admin.register(User)
class UserAdmin(TranslatedPermissions, DjangoUserAdmin):
    list_display = [
        "username",
        "display_name",
        "role",
        "region",
        "organisation",
        "school",
        "is_active",
    ]
    list_filter = ["role", "is_active", "is_superuser"]
    search_fields = ["username", "display_name"]
    list_select_related = ["region", "organisation", "school"]
    autocomplete_fields = ["organisation", "school"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (
            _("Role and scope"),
            {"fields": ["role", "display_name", "phone", "region", "organisation", "school"]},
        ),
    )


install()  # third-party admin words in Chinese (admin_labels)
