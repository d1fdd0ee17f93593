"""The periodic jobs' ledger: one row per job and period, claimed before the run.

The unique (job, period) pair is the claim: of two processes that both believe they
lead (a partition, a leader that lost its session mid-run), only the one whose INSERT
went in runs that period. ``finished_at`` stays empty for a run whose process died; its
``backend_pid`` (the database session that claimed it) is then gone too, and the next
leader takes the claim over and runs the period (``leadership.claim``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobRun(models.Model):
    """One claimed period of one periodic job (system bookkeeping, no user data)."""

    id = models.BigAutoField(primary_key=True)
    job = models.CharField(_("job"), max_length=64)
    period = models.BigIntegerField(_("period"))  # floor(Unix time / interval)
    interval = models.FloatField(_("interval (s)"))
    process = models.CharField(_("process"), max_length=128)
    backend_pid = models.IntegerField(_("database session"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    ok = models.BooleanField(_("succeeded"), null=True)

    class Meta:
        verbose_name = _("periodic job run")
        verbose_name_plural = _("periodic job runs")
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="cluster_jobrun_once")
        ]

    def __str__(self) -> str:
        return f"{self.job} #{self.period}"
