"""审计日志 — who did what, when, from where, with what outcome (等保2.0, 网络安全法 Art. 21)."""

from django.conf import settings
from django.db import models
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from campus_safety.accounts.roles import READ, can


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit entry."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit entries are removed only by the retention job")

    def visible_to(self, user) -> "AuditQuerySet":
        """Auditors read the whole log; nobody else reads any of it, a superuser
        included (三权分立, accounts/roles.py SEPARATED_DUTIES)."""
        return self.all() if can(user, READ, "audit") else self.none()


class AuditEntry(models.Model):
    """One audited action. Rows are inserted, never updated; the database refuses too."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        DENIED = "denied", _("Denied")
        FAILURE = "failure", _("Failure")

    at = models.DateTimeField(_("time"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=32, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS
    )
    source_ip = models.GenericIPAddressField(_("source address"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=16, blank=True)  # ui/api/admin/cli
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        default_permissions = ("view",)
        # The audit page's "one user's entries, newest first" (migration 0004).
        indexes = [models.Index(fields=["username", "-at"], name="audit_user_at")]

    def __str__(self) -> str:
        return f"{localtime(self.at):%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries are removed only by the retention job")
