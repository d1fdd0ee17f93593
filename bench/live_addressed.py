"""What a city-wide notice costs the live streams: one event addressed to N schools
(live/addressing.py) against one event per school, as each open stream filters them.

Every event is offered to every open stream of a process (fanout.deliver_locally), and
each stream decides whether its user hears it (views.Audience.hears). With one open
stream per school: one addressed event is N checks and one queue entry per stream; N
per-school events are N x N checks and N queue entries per stream (past the queue's
1,000 the stream is closed and must replay). No database: the filtering alone.

Run: .venv/bin/python bench/live_addressed.py [--schools 2029] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=2029)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from campus_safety import scoping
    from campus_safety.live import addressing, fanout
    from campus_safety.live.views import Audience

    n = args.schools
    school_ids = list(range(1, n + 1))
    audiences = [
        Audience(scoping.Scope(school_id=pk), frozenset({f"s{pk}", f"u{pk + 100_000}"}))
        for pk in school_ids
    ]

    def addressed() -> int:
        delivery = fanout.Delivery(
            id=1,
            at="2026-12-07T00:00:00+00:00",
            name="notice.published",
            school_id=None,
            region_code="",
            police_station_id=None,
            payload={"notice_id": 1, "kind": "warning", "title": "t", "schools": n},
            recipients=addressing.encode({"schools": school_ids}),
        )
        return sum(a.hears(delivery) for a in audiences)

    def per_school() -> int:
        heard = 0
        for pk in school_ids:
            delivery = fanout.Delivery(
                id=pk,
                at="2026-12-07T00:00:00+00:00",
                name="notice.published",
                school_id=pk,
                region_code="",
                police_station_id=None,
                payload={"school_id": pk, "notice_id": 1, "school_only": True},
            )
            heard += sum(a.hears(delivery) for a in audiences)
        return heard

    def timed(fn, repeat: int) -> tuple[float, int]:
        times, result = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
        return statistics.median(times), result

    one_s, one_heard = timed(addressed, args.repeat)
    many_s, many_heard = timed(per_school, max(1, args.repeat // 3))
    text = addressing.encode({"schools": school_ids})
    print(f"{n} open school streams; a notice to all {n} schools:")
    print(
        f"  one addressed event: median {one_s * 1000:.1f} ms of filtering, heard by "
        f"{one_heard} streams, 1 queue entry each; recipients column {len(text):,} bytes"
    )
    print(
        f"  one event per school: median {many_s * 1000:.0f} ms of filtering "
        f"({many_s / one_s:.0f}x), heard {many_heard} times, {n} queue entries per stream "
        f"(queue {fanout.QUEUE_SIZE}: every stream overflows and reads the log to catch up)"
    )


if __name__ == "__main__":
    main()
