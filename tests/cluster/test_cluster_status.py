"""``campus-safety cluster-status``: each job's last run and where it ran (JSON)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command

from campus_safety.cluster.models import JobRun


@pytest.mark.django_db
def test_cluster_status_names_each_jobs_last_run_and_process(settings):
    settings.REDIS_URL = ""
    at = dt.datetime(2026, 12, 7, 8, tzinfo=dt.UTC)
    JobRun.objects.create(job="alarm-timers", period=1, interval=1, process="a:1", started_at=at)
    JobRun.objects.create(job="alarm-timers", period=2, interval=1, process="b:2", started_at=at)
    out = StringIO()
    call_command("cluster_status", stdout=out)
    answer = json.loads(out.getvalue())
    assert answer["members"] is None
    assert answer["jobs"]["alarm-timers"]["process"] == "b:2"
