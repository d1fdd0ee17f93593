"""docs/events.md lists exactly the bus's events (``bus.EVENTS``), once each: a
subscriber in another process or team reads the page, not the code."""

import re
from pathlib import Path

from campus_safety import bus

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"


def documented_events() -> list[str]:
    table = DOC.read_text(encoding="utf-8").split("## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", table, flags=re.MULTILINE)


def test_every_bus_event_is_documented_once_and_nothing_else_is():
    documented = documented_events()
    assert len(documented) == len(set(documented)), "an event is documented twice"
    assert set(documented) == set(bus.EVENTS)
