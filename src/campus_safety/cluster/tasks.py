"""How long the periodic jobs' ledger is kept (retention.py runs every app's
``RETENTION``): two days answer "did it run, and where" for any recent incident."""

from __future__ import annotations

from campus_safety.retention import Policy

RETENTION = [Policy("periodic_job_runs", "cluster.JobRun", "started_at", 2)]
