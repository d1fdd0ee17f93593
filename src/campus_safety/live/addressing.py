"""Live events addressed to a list of recipients instead of by scope.

Most live events are about one school and reach whoever's scope covers it. Some are
meant for a list: a city-wide safety warning for 2,000 schools (one event, not 2,000 —
each event is offered to every open stream, and a burst of thousands overflows their
queues), or a forwarding step that only the units up a notice's chain should hear.

A publisher puts ``recipients`` in the bus payload: ``{"schools": [ids],
"organisations": [ids], "users": [ids]}``. The live log stores it as one text column of
addresses (``,s12,s40,o7,u3,``; no region code, no police station, so nobody's scope
covers the row) and leaves it out of the payload; a stream hears the event when one of
its user's addresses (own school, own unit, self) is in the list, and so does a replay
(a ``LIKE`` on rows already bounded by id and time). Superusers see every row, as
before. The list itself never reaches a browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q

KINDS = {"schools": "s", "organisations": "o", "users": "u"}


def encode(recipients: Mapping[str, Iterable[Any]] | None) -> str:
    """The column's text for a payload's ``recipients``; "" when it names nobody."""
    if not recipients:
        return ""
    unknown = set(recipients) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown recipient kinds: {sorted(unknown)}")
    addresses = [f"{KINDS[kind]}{int(pk)}" for kind in KINDS for pk in (recipients.get(kind) or ())]
    return f",{','.join(dict.fromkeys(addresses))}," if addresses else ""


def decode(text: str) -> frozenset[str]:
    """The set of addresses in a column's text."""
    return frozenset(part for part in text.split(",") if part)


def addresses_of(user: Any) -> frozenset[str]:
    """Where ``user`` is reached: their school, their unit, themselves (no query)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    found = {f"u{user.pk}"}
    if getattr(user, "school_id", None):
        found.add(f"s{user.school_id}")
    if getattr(user, "organisation_id", None):
        found.add(f"o{user.organisation_id}")
    return frozenset(found)


def addressed_q(addresses: Iterable[str]) -> Q:
    """Rows addressed to any of ``addresses`` (nothing when there are none)."""
    q = Q(pk__in=[])
    for address in sorted(addresses):
        q |= Q(recipients__contains=f",{address},")
    return q
