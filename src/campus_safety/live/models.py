"""The live-event log: what the consoles were told, so a reconnecting one can catch up."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from campus_safety.scoping import ScopedQuerySet, ScopePaths


class LiveEvent(models.Model):
    """实时事件 — one bus event as pushed to consoles. The id is the SSE id (monotonic);
    scope columns are copied in when written, so filtering and replay need no join.
    ``school_id`` null = platform-wide (only unscoped administrators see it), unless
    ``recipients`` addresses it to a list of schools, units or users."""

    id = models.BigAutoField(primary_key=True, verbose_name=_("ID"))
    at = models.DateTimeField(_("at"), db_index=True)
    name = models.CharField(_("event"), max_length=64)
    school_id = models.BigIntegerField(_("school"), null=True, blank=True, db_index=True)
    region_code = models.CharField(_("region code"), max_length=12, blank=True, db_index=True)
    police_station_id = models.BigIntegerField(
        _("police station"), null=True, blank=True, db_index=True
    )
    payload = models.JSONField(_("payload"), default=dict, encoder=DjangoJSONEncoder)
    # Addressed to a list rather than by scope (addressing.py): ",s12,o7,u3," — schools,
    # units, users. Such a row has no region code or station: only they (and superusers)
    # hear it. Empty for every ordinary event.
    recipients = models.TextField(_("recipient"), blank=True, default="")

    objects = ScopedQuerySet.as_manager()
    scope_paths = ScopePaths(
        region_code="region_code",
        school="school_id",
        police_station="police_station_id",
        police_only_flag="payload__police_only",  # a watch-list hit's events (issue #17)
    )

    class Meta:
        verbose_name = _("live event")
        verbose_name_plural = _("live events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.pk} {self.name}"
