"""The devices app's periodic jobs (runtime.py runs every app's ``TASKS``): liveness —
offline detection within 2 s and the batched last-seen flush (liveness.py)."""

from __future__ import annotations

from campus_safety import periodic
from campus_safety.devices.liveness import run_liveness

TASKS = [periodic.Task("liveness", run_liveness)]
