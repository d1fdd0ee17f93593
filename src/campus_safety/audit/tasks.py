"""The audit log's retention (retention.py runs every app's ``RETENTION``): at least
180 days by law, pruned by its own function (it bypasses the append-only guard)."""

from __future__ import annotations

from campus_safety.audit.services import purge_expired
from campus_safety.retention import Policy

RETENTION = [Policy("audit", purge=purge_expired)]
