"""Each app declares its periodic jobs and retention in ``<app>/tasks.py``; the runtime
and the retention job find them there (no list every new app must edit)."""

import pytest

from campus_safety import periodic, retention
from campus_safety.live.models import LiveEvent


def test_the_runtime_finds_every_apps_periodic_jobs_once():
    names = [task.name for task in periodic.installed_tasks()]
    assert sorted(names) == sorted(
        [
            "liveness",
            "alarm-timers",
            "patrol-sweep",
            "hazard-deadlines",
            "gate-overstays",
            "sms-sender",
            "import-jobs",
            "scheduled-reports",
            "screen-snapshots",
            "inspections-daily",
            "inspections-vqd",
            "intel-daily-scan",
            "linkage-sweep",
        ]
    )


def test_the_retention_job_finds_every_apps_kinds_once():
    kinds = [policy.kind for policy in retention.installed_policies()]
    assert len(kinds) == len(set(kinds))
    assert {"audit", "live_events", "login_attempts", "access_log", "import_jobs"} <= set(kinds)


@pytest.mark.django_db
def test_the_retention_job_purges_each_declared_kind(clock):
    LiveEvent.objects.create(at=clock.now(), name="alarm.event", payload={"marker": "old"})
    clock.advance(days=8)
    LiveEvent.objects.create(at=clock.now(), name="alarm.event", payload={"marker": "new"})
    removed = retention.purge_expired(clock.now())
    assert removed["live_events"] == 1
    assert "audit" in removed  # the audit log prunes itself by its own function
    assert list(LiveEvent.objects.values_list("payload__marker", flat=True)) == ["new"]


@pytest.mark.django_db
def test_a_period_below_a_kinds_legal_minimum_is_refused(settings, clock):
    settings.DATA_RETENTION_DAYS = {"access_log": 30}  # 网络安全法: at least 180 days
    with pytest.raises(Exception, match="below the minimum"):
        retention.purge_expired(clock.now())
