"""Scheduled reports (定期报表) kept in the platform, and the in-platform inbox.

A generated report keeps its PDF, its workbook and the figures they were made from,
so what was sent upward can be shown again exactly, whatever the records say later.
Who may open one: the users it was delivered to (their inbox), and anyone whose scope
covers its area (``reports.scheduled.visible_reports``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.orgs.models import Region


class GeneratedReport(models.Model):
    """One weekly, monthly or term report for a district or the city."""

    class Kind(models.TextChoices):
        WEEKLY = "weekly", _("Weekly report")
        MONTHLY = "monthly", _("Monthly report")
        TERM = "term", _("Term report")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    region = models.ForeignKey(
        Region, verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    generated_at = models.DateTimeField(_("generated"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    figures = models.JSONField(_("figures"), default=dict)
    pdf = models.BinaryField(_("PDF"))
    xlsx = models.BinaryField(_("workbook"))

    class Meta:
        ordering = ["-period_end", "-generated_at", "-id"]
        verbose_name = _("generated report")
        verbose_name_plural = _("generated reports")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "region", "period_start", "period_end"],
                name="reports_one_report_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.region.name} {self.period_start}–{self.period_end}"


class InboxItem(models.Model):
    """A report delivered to one user's in-platform inbox (站内信)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="report_inbox",
    )
    report = models.ForeignKey(
        GeneratedReport,
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    delivered_at = models.DateTimeField(_("delivered"))
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-delivered_at", "-id"]
        verbose_name = _("inbox item")
        verbose_name_plural = _("inbox items")
        constraints = [
            models.UniqueConstraint(fields=["user", "report"], name="reports_deliver_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.report}"


class ScreenSnapshot(models.Model):
    """The big screen's last computed figures for one scope (reader's scope, area and
    staffing rule), so a screen's first paint is one row read instead of the whole
    city's sums (``reports.screen_snapshot``). Refreshed by a periodic job for the
    scopes viewed lately, and by the screens' own refetches; never the record: the page
    replaces it with fresh figures at once and says how old it is."""

    key = models.CharField(_("scope"), max_length=120, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("viewed by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    region_code = models.CharField(_("area code"), max_length=12, blank=True)
    rule = models.CharField(_("staffing rule"), max_length=40)
    live = models.JSONField(_("live figures"), null=True, blank=True)
    live_at = models.DateTimeField(_("live figures computed"), null=True, blank=True)
    kpi = models.JSONField(_("targets figures"), null=True, blank=True)
    kpi_at = models.DateTimeField(_("targets figures computed"), null=True, blank=True)
    viewed_at = models.DateTimeField(_("last viewed"))

    class Meta:
        verbose_name = _("big-screen snapshot")
        verbose_name_plural = _("big-screen snapshots")

    def __str__(self) -> str:
        return self.key
