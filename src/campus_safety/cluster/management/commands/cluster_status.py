"""``campus-safety cluster-status``: the live processes (Redis) and who leads each
periodic job with its last runs (PostgreSQL ledger)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Max

from campus_safety.cluster import members
from campus_safety.cluster.models import JobRun


class Command(BaseCommand):
    help = "Show the cluster's live processes and the periodic jobs' last runs (JSON)."

    def handle(self, *args: Any, **options: Any) -> None:
        answer: dict[str, Any] = {"members": members.alive() if settings.REDIS_URL else None}
        last = JobRun.objects.values("job").annotate(last_period=Max("period"))
        answer["jobs"] = {
            row["job"]: JobRun.objects.filter(job=row["job"], period=row["last_period"])
            .values("process", "started_at", "finished_at", "ok")
            .first()
            for row in last
        }
        self.stdout.write(json.dumps(answer, default=str, ensure_ascii=False, indent=2))
