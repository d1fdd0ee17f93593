"""Keepalive bodies read once per device, not once per keepalive.

A device sends the same Keepalive body every minute or so, byte for byte, apart from
the digits of its ``<SN>``. Parsing XML is most of a keepalive's cost (building a
defusedxml parser alone is ~6 µs of pure Python), and at thousands of keepalives a
second that cost is what pushed answers past T1 and set off resend storms. So a
registered device's keepalive goes through ``manscdp.parse`` (defusedxml) once, and a
later one from the same device that differs from it only in those digits is known to
parse the same way: digits inside an element's text cannot change the document's
structure. Everything else (other commands, a new shape, a sender that is not
registered from that address, anything ambiguous) is parsed as before. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from campus_safety.gateway.gb28181 import manscdp

MAX_BODY = 1024  # a keepalive is ~170 bytes; longer ones (fault lists in <Info>) are parsed
_SN_ELEMENT = re.compile(rb"<SN>([0-9]{1,18})</SN>")
_new_object = object.__new__


class KeepaliveMemo:
    """One keepalive shape per registered device (its latest), bounded in number.

    Kept per device, not per body: a device that varies its bodies only replaces its
    own entry, so memory follows the number of devices, whatever they send.

    A shape is the body's bytes before and after the SN digits. A body is of that shape
    when it is the one before with other digits (1 to 18) between the two: that body's
    first ``<SN>…</SN>`` is then at the same place (the one before had a single ``<sn``
    in any case, at the end of the bytes before), so this is the test "the body without
    its SN digits is the one before without its" done without a search or a copy."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        # device → (bytes before the SN digits, bytes after, (root, cmd_type, device_id,
        # status, other top-level fields))
        self._entries: OrderedDict[str, tuple[bytes, bytes, _Known]] = OrderedDict()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _digits(self, data: bytes, sender: str) -> tuple[bytes, _Known] | None:
        """The SN digits and the known shape when ``data`` is the sender's keepalive of
        the shape before."""
        known = self._entries.get(sender)
        if known is None or len(data) > MAX_BODY:
            return None
        prefix, suffix, shape = known
        digits = data[len(prefix) : len(data) - len(suffix)]
        if (
            0 < len(digits) <= 18
            and digits.isdigit()  # bytes: ASCII digits only
            and data.startswith(prefix)
            and data.endswith(suffix)
        ):
            return digits, shape
        return None

    def is_keepalive(self, data: bytes, sender: str) -> bool:
        """Whether ``parse(data, sender)`` would answer a Keepalive from the memo (the
        keepalive fast path needs no message, only this). Not counted in ``hits``: the
        caller counts it when it takes the keepalive as ``parse`` would have."""
        return self._digits(data, sender) is not None

    def parse(self, data: bytes, sender: str | None = None) -> manscdp.Message:
        """``manscdp.parse(data)``; the keepalive of ``sender`` (a registered device)
        without parsing when it has the shape of the one before (its ``tree`` is then
        None: nothing reads a keepalive's tree)."""
        if not sender or len(data) > MAX_BODY:
            return manscdp.parse(data)
        found = self._digits(data, sender)
        if found is not None:
            self.hits += 1
            return _keepalive(found[1], found[0].decode("ascii"))
        match = _SN_ELEMENT.search(data)
        if match is None:
            return manscdp.parse(data)
        digits = match.group(1)
        message = manscdp.parse(data)
        if (
            isinstance(message, manscdp.Keepalive)
            and message.sn == int(digits)
            and data.lower().count(b"<sn") == 1  # the one SN element, the one just read
        ):
            if sender not in self._entries and len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)  # the oldest device
            fields = {k: v for k, v in message.fields.items() if k != "SN"}  # never mutated
            shape = (message.root, message.cmd_type, message.device_id, message.status, fields)
            self._entries[sender] = (data[: match.start(1)], data[match.end(1) :], shape)
        return message


_Known = tuple[str, str, str, str, dict[str, str]]


def _keepalive(known: _Known, sn_text: str) -> manscdp.Keepalive:
    root, cmd_type, device_id, status, fields = known
    message = _new_object(manscdp.Keepalive)  # all fields given: no per-field __setattr__
    message.__dict__.update(
        root=root,
        cmd_type=cmd_type,
        sn=int(sn_text),
        device_id=device_id,
        fields={**fields, "SN": sn_text},
        tree=None,
        status=status,
    )
    return message
