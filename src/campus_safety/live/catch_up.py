"""Every web process's streams get every live event, even one whose Redis message was
never sent or never heard (issue #22).

Pub/sub is fire-and-forget: a gateway process killed between its commit and its
``PUBLISH`` leaves a row in the live log (written in the alarm's own transaction) that no
other process hears of, and a relay that was reconnecting hears nothing meanwhile. So,
while this process has open streams and Redis fans events out, a thread reads the log
every ``CATCH_UP_SECONDS`` past a watermark and hands the rows it has not delivered to
``fanout.deliver_locally``: a row is delivered when it was missing in two rounds in a
row (the Redis message of a live publisher arrives within milliseconds of its commit,
so the catch-up never races it into a duplicate). The watermark trails the
newest id by ``LAG_SECONDS``, so a row whose transaction committed after a higher id
was already seen is still found. One indexed range query a second per web process (a
storm's window is read in ``BATCH``-row pages, all of it every round: reading only the
first page let the floor fall behind for good above ``BATCH / LAG_SECONDS`` events a
second, until rows delivered long ago were forgotten by ``fanout`` and sent again).
The window must stay below ``fanout.DELIVERED_KEPT`` rows: 50,000 over 15 s is 3,333
events a second, three times the 1,000-alarm burst the design plans for.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from django.db import close_old_connections, connection

log = logging.getLogger(__name__)

CATCH_UP_SECONDS = 1.0
LAG_SECONDS = 15.0  # a transaction open longer than this between insert and commit is missed
BATCH = 2000

_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()


def ensure_started() -> None:
    """Start the catch-up thread of this process (idempotent)."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _stop.clear()
            _thread = threading.Thread(target=_run, name="live-catch-up", daemon=True)
            _thread.start()


def stop() -> None:
    _stop.set()


def _run() -> None:
    from campus_safety.live import fanout

    marks: collections.deque[tuple[float, int]] = collections.deque()
    suspects: set[int] = set()
    floor = None
    while not _stop.wait(CATCH_UP_SECONDS):
        if not fanout.has_listeners():  # no stream to feed: start afresh with the next
            floor = None
            marks.clear()
            suspects.clear()
            continue
        try:
            close_old_connections()
            floor = catch_up_once(floor, marks, suspects)
        except Exception:
            log.warning("live catch-up could not read the live log", exc_info=True)
        finally:
            connection.close()  # no idle session held between rounds


def catch_up_once(
    floor: int | None,
    marks: collections.deque[tuple[float, int]],
    suspects: set[int],
    now: float | None = None,
) -> int:
    """Deliver the rows above ``floor`` that were not delivered here in this round and
    the previous one (``suspects`` carries them over); returns the next floor (the
    newest id seen ``LAG_SECONDS`` ago)."""
    from campus_safety.live import fanout
    from campus_safety.live.models import LiveEvent

    now = time.monotonic() if now is None else now
    if floor is None:  # start at the newest row: older ones are the replay's business
        floor = LiveEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        marks.append((now, floor))
        return floor
    ids: list[int] = []
    while True:
        after = ids[-1] if ids else floor
        page = list(
            LiveEvent.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        ids.extend(page)
        if len(page) < BATCH:
            break
    not_yet = {pk for pk in ids if not fanout.was_delivered(pk)}
    missing = sorted(not_yet & suspects)
    suspects.clear()
    suspects.update(not_yet - set(missing))
    if missing:
        for row in LiveEvent.objects.filter(pk__in=missing).order_by("pk"):
            fanout.deliver_locally(fanout.Delivery.from_row(row))
        log.info("live catch-up delivered %d events Redis did not bring", len(missing))
    marks.append((now, ids[-1] if ids else (marks[-1][1] if marks else floor)))
    while len(marks) > 1 and marks[1][0] <= now - LAG_SECONDS:
        marks.popleft()
    return max(floor, marks[0][1]) if marks[0][0] <= now - LAG_SECONDS else floor
