"""Who may do what: the role table (等保2.0 least privilege, separated admin duties).

Scope (scoping.py) decides *which* objects a user reaches; this table decides *what*
the user may do with them. System, security and audit administration are three
different roles, and none of them can do another's work.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

READ, WRITE, IMPORT, EXPORT, REVEAL = "read", "write", "import", "export", "reveal"
ACTIONS = (READ, WRITE, IMPORT, EXPORT, REVEAL)
ACTION_LABELS = {
    READ: _("read"),
    WRITE: _("write"),
    IMPORT: _("import"),
    EXPORT: _("export"),
    REVEAL: _("reveal"),
}
RESOURCES = {
    "schools": _("Schools"),
    "guards": _("Guards"),
    "equipment": _("Protective equipment"),
    "devices": _("Devices"),
    "users": _("Users"),
    "audit": _("Audit log"),
    "personal_data": _("Personal data (unmasked)"),
    "alarms": _("Alarm cases (write = acknowledge)"),
    "alarm_dispatch": _("Alarm dispatch and closing"),
    "alarm_drills": _("Alarm test windows (drills)"),
    "hazards": _("Hazards and trouble spots (write = report, rectify)"),
    "hazard_supervision": _("Hazard assignment and verification"),
    "campaigns": _("Inspection campaigns"),
    "patrols": _("Guard tours and patrol alarms"),
    "posts": _("Gate posts (护学岗), rosters and check-ins"),
    "grid_patrols": _("Police grid patrol routes and logs"),
    "field_stops": _("Field stops (盘查), police only"),
    # Video (issue #16): watching is read; playback download is export; PTZ is write.
    "video": _("Live video"),
    "video_playback": _("Recordings (export = download a clip)"),
    "ptz": _("Camera PTZ and presets"),
    # The gate (issue #17); the watch-list is the police's alone.
    "visitors": _("Visitors and vehicles at the gate"),
    "pickups": _("Student pick-up"),
    "students": _("Students and their pick-up persons"),
    "watchlist": _("Police watch-list"),
    # Crackdown and early warning (issue #18); persons' data only in incidents and leads.
    "incidents": _("School-related incidents (with persons)"),
    "leads": _("Leads"),
    "intel_alerts": _("Early-warning alerts and the risk list"),
    "operations": _("Special operations"),
    # Online inspection (issue #19).
    "inspections": _("Online inspection and video patrols"),
    "inspection_notices": _("Inspection notices (write = issue, answer)"),
    # Police–school linkage (issue #20).
    "police_rooms": _("Campus police rooms and duty logs"),
    "discipline": _("Discipline education (训诫教育) records"),
    "emergency_plans": _("Emergency plans and drills"),
    "notices": _("Notices between police and education"),
    "safety_lectures": _("Safety education sessions"),
    # Command centre (issue #21).
    "big_screen": _("Command-centre big screen"),
    "scheduled_reports": _("Scheduled reports"),
}
REGISTRY = ("schools", "guards", "equipment", "devices")

_ALL_REGISTRY = {r: {READ, WRITE, IMPORT, EXPORT} for r in REGISTRY}
_READ_REGISTRY = {r: {READ, EXPORT} for r in REGISTRY}
_ALARMS_ALL = {
    "alarms": {READ, WRITE, EXPORT},
    "alarm_dispatch": {READ, WRITE},
    "alarm_drills": {READ, WRITE},
}

# Police and education supervise hazards; which of them verifies a fix is the side
# that found it (hazards/services.py), never the school that did the work.
_HAZARDS_SUPERVISE = {
    "hazards": {READ, WRITE, EXPORT},
    "hazard_supervision": {READ, WRITE},
    "campaigns": {READ, WRITE, EXPORT},
}

# Police run 护学岗 posts and grid patrols; only police see field stops (盘查).
_PATROLS_POLICE = {
    "patrols": {READ, EXPORT},
    "posts": {READ, WRITE, EXPORT},
    "grid_patrols": {READ, WRITE, EXPORT},
    "field_stops": {READ, WRITE, EXPORT},
}

# The police side of the newer capabilities (issues #16–#21).
_POLICE_NEW = {
    "video": {READ},
    "video_playback": {READ, EXPORT},
    "ptz": {READ, WRITE},
    "visitors": {READ, EXPORT},
    "pickups": {READ},
    "watchlist": {READ, WRITE, EXPORT},
    "incidents": {READ, WRITE, IMPORT, EXPORT},
    "leads": {READ, WRITE, EXPORT},
    "intel_alerts": {READ, WRITE, EXPORT},
    "operations": {READ, WRITE, EXPORT},
    "inspections": {READ, WRITE, EXPORT},
    "inspection_notices": {READ, WRITE, EXPORT},
    "police_rooms": {READ, WRITE, EXPORT},
    "discipline": {READ, WRITE, EXPORT},  # scope: the record's station and police room
    "emergency_plans": {READ},
    "notices": {READ, WRITE, EXPORT},
    "safety_lectures": {READ, WRITE, EXPORT},
    "big_screen": {READ},
    "scheduled_reports": {READ, EXPORT},
}

PERMISSIONS: dict[str, dict[str, set[str]]] = {
    "dispatcher": {
        **_READ_REGISTRY,
        "personal_data": {REVEAL},
        **_ALARMS_ALL,
        **_HAZARDS_SUPERVISE,
        **_PATROLS_POLICE,
        **_POLICE_NEW,
    },
    "police_officer": {
        **_READ_REGISTRY,
        "personal_data": {REVEAL},
        **_ALARMS_ALL,
        **_HAZARDS_SUPERVISE,
        **_PATROLS_POLICE,
        **_POLICE_NEW,
    },
    "education_staff": {
        **_ALL_REGISTRY,
        "personal_data": {REVEAL},
        "alarms": {READ, EXPORT},
        "alarm_drills": {READ},
        **_HAZARDS_SUPERVISE,
        "patrols": {READ, EXPORT},
        "posts": {READ, WRITE, EXPORT},
        "grid_patrols": {READ},
        "video": {READ},
        "video_playback": {READ},
        "visitors": {READ, EXPORT},  # statistics; names stay masked
        "pickups": {READ, EXPORT},
        "students": {READ},
        "intel_alerts": {READ, WRITE},  # alerts and risk list of its schools, no persons
        "operations": {READ},
        "inspections": {READ, WRITE, EXPORT},
        "inspection_notices": {READ, WRITE, EXPORT},
        "police_rooms": {READ, EXPORT},
        "emergency_plans": {READ, WRITE, EXPORT},  # approves plans, tracks drills
        "notices": {READ, WRITE, EXPORT},
        "safety_lectures": {READ, EXPORT},
        "big_screen": {READ},
        "scheduled_reports": {READ, EXPORT},
    },
    "school_admin": {
        "alarms": {READ, WRITE},  # acknowledge only: own school's alarms
        "alarm_drills": {READ, WRITE},  # schedule own drills (with notice to 110)
        "schools": {READ, WRITE, EXPORT},
        "guards": {READ, WRITE, IMPORT, EXPORT},
        "equipment": {READ, WRITE, IMPORT, EXPORT},
        "devices": {READ, WRITE, IMPORT, EXPORT},  # scope: their own school's devices
        "personal_data": {REVEAL},
        "hazards": {READ, WRITE, EXPORT},  # report, rectify own; never verify own fixes
        "campaigns": {READ},  # answers own checklists (hazards write)
        "patrols": {READ, WRITE, EXPORT},  # own school's tours; acknowledge patrol alarms
        "posts": {READ, WRITE, EXPORT},
        "video": {READ},
        "video_playback": {READ, EXPORT},
        "ptz": {READ, WRITE},
        "visitors": {READ, WRITE, EXPORT},
        "pickups": {READ, WRITE, EXPORT},
        "students": {READ, WRITE, IMPORT, EXPORT},
        "leads": {WRITE},  # report a lead; never read others'
        "inspections": {READ},  # own school's results
        "inspection_notices": {READ, WRITE},  # answer notices
        "police_rooms": {READ},
        "discipline": {READ},  # scope: only the school's designated contact
        "emergency_plans": {READ, WRITE, EXPORT},
        "notices": {READ, WRITE},  # read and confirm
        "safety_lectures": {READ},
    },
    # A guard's day (issue #14): its school's home page (hence schools), tours, posts,
    # hazards and the gate; no staffing figures, registries or devices.
    "guard": {
        "schools": {READ},
        "hazards": {READ, WRITE},  # guards find hazards on their rounds
        "patrols": {READ},  # scan checkpoints, see own school's rounds
        "posts": {READ},  # check in and out at own posts
        "video": {READ},  # own school's cameras
        "visitors": {READ, WRITE},  # the gate's daily work
        "pickups": {READ, WRITE},
        "students": {READ},
        "leads": {WRITE},
    },
    "volunteer": {"schools": {READ}, "posts": {READ}},
    "auditor": {
        **_READ_REGISTRY,
        "audit": {READ, EXPORT},
        "hazards": {READ, EXPORT},
        "campaigns": {READ},
        "patrols": {READ},
        "posts": {READ},
        "visitors": {READ},
        "inspections": {READ},
        "scheduled_reports": {READ},
    },
    "system_admin": {**_ALL_REGISTRY, "users": {READ}},
    "security_admin": {"users": {READ, WRITE}},
}


# 三权分立 (等保2.0, GB/T 22239-2019 8.1.4.2): the audit log is the auditor's alone. A
# superuser (the platform's system administrator) may do everything else, but with
# these only what its role grants — whoever runs the system must not read its log.
SEPARATED_DUTIES = frozenset({"audit"})


def can(user: Any, action: str, resource: str) -> bool:
    """True when the user's role allows ``action`` on ``resource`` (scope aside)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser and resource not in SEPARATED_DUTIES:
        return True
    return action in PERMISSIONS.get(getattr(user, "role", ""), {}).get(resource, set())


def table() -> dict[str, Any]:
    """The table for the role-table page: a column per role, a row per resource, each
    cell the actions that role may take on it, in words (a row of 17 resources fits a
    desktop; on a phone each row becomes a card)."""
    from campus_safety.accounts.models import User

    roles = list(User.Role.choices)
    rows = [
        {
            "resource": resource,
            "label": label,
            "cells": [
                {
                    "role": role,
                    "role_label": role_label,
                    "actions": [
                        ACTION_LABELS[a]
                        for a in ACTIONS
                        if a in PERMISSIONS.get(role, {}).get(resource, set())
                    ],
                }
                for role, role_label in roles
            ],
        }
        for resource, label in RESOURCES.items()
    ]
    return {"roles": roles, "rows": rows}
