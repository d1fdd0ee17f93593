"""首页 — the page each role's working day starts on (issue #14).

One place decides it, for the sign-in redirect and for ``/``: a dispatcher or a police
officer lands on the alarm wall (scoped to their city or station), a guard on the
scan page, a volunteer on today's duty, a school administrator on their school's home
page, the education bureau on its district overview, an auditor on the audit log, a
security administrator on the role table. A role whose page it may not open (the
role table says no, or a school administrator with no school) falls back to the
overview, then to the API-token page every signed-in user has.

Pages are named by URL name, so accounts imports none of the apps that serve them.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from campus_safety.accounts.roles import READ, can

OVERVIEW = ("reports:overview", ("schools", "guards"))
# role → (URL name, resources the page needs to read)
LANDINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dispatcher": ("alarms:wall", ("alarms",)),
    "police_officer": ("alarms:wall", ("alarms",)),
    "education_staff": OVERVIEW,
    "school_admin": ("reports:school_home", ("schools",)),
    "guard": ("patrols:scan_home", ("patrols",)),
    "volunteer": ("patrols:duty", ("posts",)),
    "auditor": ("audit:entry_list", ("audit",)),
    "system_admin": OVERVIEW,
    "security_admin": ("role_table", ("users",)),
}
FALLBACK = "tokens"


def _may_open(user: Any, resources: tuple[str, ...]) -> bool:
    return all(can(user, READ, resource) for resource in resources)


def landing_url(user: Any) -> str:
    """The URL of the user's first page after signing in (and of ``/``)."""
    name, resources = OVERVIEW if user.is_superuser else LANDINGS.get(user.role, OVERVIEW)
    args: list[int] = []
    if name == "reports:school_home":
        if not user.school_id:
            name, resources = OVERVIEW
        else:
            args = [user.school_id]
    if _may_open(user, resources):
        return reverse(name, args=args)
    if _may_open(user, OVERVIEW[1]):
        return reverse(OVERVIEW[0])
    return reverse(FALLBACK)


def lands_on_overview(user: Any) -> bool:
    """True when ``/`` is the user's home as it is: the overview, not a redirect."""
    return landing_url(user) == reverse(OVERVIEW[0])
