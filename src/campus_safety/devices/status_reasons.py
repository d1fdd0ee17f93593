"""Why a device's status changed (状态变化原因): the sentence stored and the words shown.

``StatusChange.reason`` keeps a stable English sentence ("no keepalive for 180 s"):
the API, the logs and years of rows read the same whatever the reader's language, and
a reported fault is recognised by its prefix. Each sentence is built from a ``Reason``
here, which also knows it again and says it in the reader's words (``in_words``), so
what is stored and what a page shows cannot drift apart. A sentence no ``Reason``
knows (an older row, a device's own text) is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")


class Reason:
    """One kind of status change: ``english`` with ``{placeholders}`` is stored, ``words``
    (a translatable ``%(placeholder)s`` string) is shown."""

    def __init__(self, english: str, words: Promise) -> None:
        self.english, self.words = english, words
        # how an app above this one says the stored ``{detail}`` (e.g. fault codes)
        self.detail_words: Callable[[str], str] | None = None
        pattern = _PLACEHOLDER.sub(r"(?P<\1>.+?)", re.escape(english))
        self._pattern = re.compile(f"^{pattern}$", re.DOTALL)

    def text(self, **params: Any) -> str:
        """The sentence to store."""
        return self.english.format(**params)

    def match(self, stored: str) -> dict[str, str] | None:
        found = self._pattern.match(stored)
        return found.groupdict() if found else None


HEARD = Reason("heard from the device", _("heard from the device"))
REGISTRATION_ENDED = Reason(
    "registration expired or withdrawn", _("its registration expired or was withdrawn")
)
NO_KEEPALIVE = Reason("no keepalive for {seconds} s", _("no keepalive for %(seconds)s s"))
OFFLINE_TOO_LONG = Reason("offline for more than {hours} h", _("offline for more than %(hours)s h"))
FLAPPING = Reason(
    "flapping: {changes} changes within {seconds} s",
    _("flapping: %(changes)s changes within %(seconds)s s"),
)
STABLE_AGAIN = Reason(
    "stable for {seconds} s: no longer flapping",
    _("stable for %(seconds)s s: no longer flapping"),
)
FAULT_REPORTED = Reason("reported fault", _("the device reports a fault"))
FAULT_REPORTED_WHY = Reason("reported fault: {detail}", _("the device reports a fault: %(detail)s"))
WELL_AGAIN = Reason("device reports it is well again", _("the device reports it is well again"))
WELL_AGAIN_WHY = Reason(
    "device reports it is well again: {detail}",
    _("the device reports it is well again: %(detail)s"),
)
PICTURE_FAULT = Reason(
    "picture fault: {detail}", _("video quality diagnosis finds a picture fault: %(detail)s")
)
PICTURE_FINE = Reason(
    "picture fine again", _("video quality diagnosis finds the picture fine again")
)
DOWN_AFTER_MAINTENANCE = Reason(
    "still down after the maintenance window", _("still down after the maintenance window")
)
PARENT_OFFLINE = Reason("parent device offline", _("its parent device went offline"))
PARENT_BACK = Reason("parent device back online", _("its parent device is back online"))
CHANNEL_ON = Reason(
    "catalog: the device reports the channel ON", _("the parent device's catalog reports it on")
)
CHANNEL_OFF = Reason(
    "catalog: the device reports the channel OFF", _("the parent device's catalog reports it off")
)
NO_BROKER = Reason(
    "not simulated: the demo runs without an MQTT broker (MQTT_URL)",
    _("not simulated: the demo runs without an MQTT broker"),
)
# Said of a change that was recorded but not announced; wraps one of the above.
SILENCED_BY_MAINTENANCE = Reason(
    "{reason} (maintenance window: not announced)",
    _("%(reason)s (maintenance window: not announced)"),
)
SILENCED_BY_FLAPPING = Reason(
    "{reason} (flapping: not announced)", _("%(reason)s (flapping: not announced)")
)

REASONS = (
    SILENCED_BY_MAINTENANCE,
    SILENCED_BY_FLAPPING,
    HEARD,
    REGISTRATION_ENDED,
    NO_KEEPALIVE,
    OFFLINE_TOO_LONG,
    FLAPPING,
    STABLE_AGAIN,
    FAULT_REPORTED,
    FAULT_REPORTED_WHY,
    WELL_AGAIN,
    WELL_AGAIN_WHY,
    PICTURE_FAULT,
    PICTURE_FINE,
    DOWN_AFTER_MAINTENANCE,
    PARENT_OFFLINE,
    PARENT_BACK,
    CHANNEL_ON,
    CHANNEL_OFF,
    NO_BROKER,
)


def in_words(stored: str) -> str:
    """A stored reason in the reader's language; unknown text as it is."""
    for reason in REASONS:
        params = reason.match(stored)
        if params is not None:
            if "reason" in params:
                params["reason"] = in_words(params["reason"])
            if "detail" in params and reason.detail_words is not None:
                params["detail"] = reason.detail_words(params["detail"])
            return str(reason.words) % params
    return stored
