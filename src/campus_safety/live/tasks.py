"""How long the live log is kept (retention.py runs every app's ``RETENTION``): long
enough for a console to replay what it missed, no longer."""

from __future__ import annotations

from campus_safety.retention import Policy

RETENTION = [Policy("live_events", "live.LiveEvent", "at", 7)]
