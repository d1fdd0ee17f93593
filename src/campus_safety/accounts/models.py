"""Users with a role and a scope (region, organisation or school)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.personal_data import EncryptedCharField


class User(AbstractUser):
    """A person on the platform; what they see is set by their scope (see scoping.py)."""

    class Role(models.TextChoices):
        DISPATCHER = "dispatcher", _("Command-centre dispatcher")
        POLICE_OFFICER = "police_officer", _("Police-station officer")
        EDUCATION_STAFF = "education_staff", _("Education-bureau staff")
        SCHOOL_ADMIN = "school_admin", _("School administrator")
        GUARD = "guard", _("Guard")
        VOLUNTEER = "volunteer", _("Volunteer")
        AUDITOR = "auditor", _("Auditor")
        SYSTEM_ADMIN = "system_admin", _("Platform system administrator")
        SECURITY_ADMIN = "security_admin", _("Platform security administrator")

    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.VOLUNTEER)
    display_name = models.CharField(_("display name"), max_length=64, blank=True)
    phone = EncryptedCharField(_("phone"), hash_field="phone_hash")
    phone_hash = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False, verbose_name=_("phone hash")
    )
    region = models.ForeignKey(
        "orgs.Region",
        verbose_name=_("scope: region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("scope: organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    school = models.ForeignKey(
        "orgs.School",
        verbose_name=_("scope: school"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=64)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    digest = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("token digest")
    )
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
