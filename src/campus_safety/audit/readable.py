"""An audit entry as a person reads it: who (name and account), in which role, did what,
to which object (named, and linked to its page while it exists and the reader may open
it), from where, with what outcome — the page and the export share these words.

Object pages are looked up once per kind of object on the page, never per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.urls import reverse
from django.utils.translation import gettext as _

from campus_safety.accounts.models import User
from campus_safety.accounts.roles import READ, can
from campus_safety.audit import labels
from campus_safety.audit.models import AuditEntry

# object_type → (URL name of its page, the resource a reader must be allowed to read)
OBJECT_PAGES = {
    "orgs.school": ("schools:school_detail", "schools"),
    "devices.device": ("devices:device_detail", "devices"),
    "alarms.alarmcase": ("alarms:case_detail", "alarms"),
    "hazards.hazard": ("hazards:detail", "hazards"),
    "hazards.campaign": ("hazards:campaign_detail", "campaigns"),
}
USER_TYPE = "accounts.user"
PERSON_CHANNELS = {"ui", "api", "admin"}  # without a user here, nobody had signed in


@dataclass(frozen=True)
class ReadableEntry:
    entry: AuditEntry
    person: str  # display name, or "" when it is the account name itself
    username: str
    role: str
    action: str
    object_text: str
    object_url: str
    outcome: str
    channel: str


def object_type_label(object_type: str) -> str:
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


def _object_text(entry: AuditEntry) -> str:
    if entry.object_type:
        return " ".join(filter(None, (object_type_label(entry.object_type), entry.object_repr)))
    tried = entry.detail.get("username") if isinstance(entry.detail, dict) else None
    if tried:  # a failed or locked-out sign-in names the account that was tried
        return _("Account %(username)s") % {"username": tried}
    return entry.object_repr


def _person(entry: AuditEntry, names: dict[int, str]) -> tuple[str, str]:
    if entry.username:
        name = names.get(entry.user_id, "")
        return (name if name and name != entry.username else ""), entry.username
    if entry.channel in PERSON_CHANNELS:
        return _("Not signed in"), ""
    return _("System"), ""


def object_urls(entries: Sequence[AuditEntry], reader: Any) -> dict[tuple[str, str], str]:
    """Where each entry's object can be opened by ``reader``: its page if it still
    exists in the reader's scope; for a user, the log of what that person did."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        if entry.object_id.isdigit() and (
            entry.object_type in OBJECT_PAGES or entry.object_type == USER_TYPE
        ):
            wanted[entry.object_type].add(int(entry.object_id))
    urls: dict[tuple[str, str], str] = {}
    for object_type, ids in wanted.items():
        if object_type == USER_TYPE:
            for pk, username in User.objects.filter(pk__in=ids).values_list("pk", "username"):
                urls[(object_type, str(pk))] = "?" + urlencode({"user": username})
            continue
        url_name, resource = OBJECT_PAGES[object_type]
        if not can(reader, READ, resource):
            continue
        model = apps.get_model(object_type)
        for pk in model.objects.visible_to(reader).filter(pk__in=ids).values_list("pk", flat=True):
            urls[(object_type, str(pk))] = reverse(url_name, args=[pk])
    return urls


class _Words:
    """The words of this call's codes, each translated once (an export reads up to
    100,000 entries, mostly a few dozen codes over and over)."""

    def __init__(self) -> None:
        self.roles = {code: str(label) for code, label in User.Role.choices}
        self.outcomes = {code: str(label) for code, label in AuditEntry.Outcome.choices}
        self.actions: dict[str, str] = {}
        self.channels: dict[str, str] = {}
        self.types: dict[str, str] = {}

    def action(self, code: str) -> str:
        if code not in self.actions:
            self.actions[code] = labels.action_label(code)
        return self.actions[code]

    def channel(self, code: str) -> str:
        if code not in self.channels:
            self.channels[code] = labels.channel_label(code)
        return self.channels[code]

    def object_text(self, entry: AuditEntry) -> str:
        if not entry.object_type:
            return _object_text(entry)
        if entry.object_type not in self.types:
            self.types[entry.object_type] = object_type_label(entry.object_type)
        return " ".join(filter(None, (self.types[entry.object_type], entry.object_repr)))


def readable(
    entries: Iterable[AuditEntry], reader: Any, *, links: bool = True
) -> list[ReadableEntry]:
    """The entries in words, in the active language; with the links ``reader`` may
    follow (a page), or none (an export). People's names are today's display names,
    read in one query (the entry keeps the account name it was written with)."""
    entries = list(entries)
    urls = object_urls(entries, reader) if links else {}
    words = _Words()
    ids = {entry.user_id for entry in entries if entry.user_id is not None}
    names = dict(User.objects.filter(pk__in=ids).values_list("pk", "display_name")) if ids else {}
    rows = []
    for entry in entries:
        person, username = _person(entry, names)
        rows.append(
            ReadableEntry(
                entry=entry,
                person=person,
                username=username,
                role=words.roles.get(entry.role, entry.role),
                action=words.action(entry.action),
                object_text=words.object_text(entry),
                object_url=urls.get((entry.object_type, entry.object_id), ""),
                outcome=words.outcomes.get(entry.outcome, entry.outcome),
                channel=words.channel(entry.channel),
            )
        )
    return rows
