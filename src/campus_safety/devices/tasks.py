"""The devices app's periodic jobs (runtime.py runs every app's ``TASKS``): liveness —
offline detection within 2 s and the batched last-seen flush (liveness.py)."""

from __future__ import annotations

from campus_safety import periodic
from campus_safety.devices.liveness import run_liveness
from campus_safety.retention import Policy

TASKS = [periodic.Task("liveness", run_liveness)]

# Kept until DATA_RETENTION_DAYS["device_status_changes"] sets a period (the availability
# reports read a year back); on PostgreSQL the retention job still creates the coming
# months' partitions and then drops whole months past the period (retention.py).
RETENTION = [Policy("device_status_changes", "devices.StatusChange", "at", None, minimum_days=366)]
