"""The process's open-file limit (RLIMIT_NOFILE), raised at start and shared out.

Every socket, database connection and open file takes a descriptor. When the last one
is gone, everything that opens one fails at once: the web server cannot accept,
SQLite answers "unable to open database file", the MQTT client cannot reconnect. So
``serve`` raises the soft limit as far as the hard limit allows, and a part that holds
connections for outsiders (SIP over TCP) is given a bounded share of it, well below
the limit, whatever its peers do (issue #13). Pure: no Django.
"""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)

# Kept for everything but the shares below: database connections (the pool, the
# ingestion writer, SQLite's files), MQTT and Redis clients, log files, the event loop's
# own. Of what is left, half at most goes to SIP over TCP; the other half is for the web
# server's clients (pages, API, live streams, device HTTP alarms).
RESERVED = 256
# select() cannot watch a descriptor at or above FD_SETSIZE; paho-mqtt's network loop
# uses select(), so the descriptors below it are left to the rest of the process.
SELECT_LIMIT = 1024
# Never ask for more than Linux's default per-process ceiling (fs.nr_open).
HIGHEST_USEFUL = 1 << 20


def open_file_limit() -> int:
    """The soft limit in force (what opening a descriptor is checked against)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return HIGHEST_USEFUL if soft == resource.RLIM_INFINITY else soft


def raise_open_file_limit() -> int:
    """Raise the soft limit to the hard one (the administrator's ceiling; an
    unprivileged process may go up to it) and return the soft limit now in force.
    A hard limit of 1,024 stays 1,024: the shares below are computed from it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = HIGHEST_USEFUL if hard == resource.RLIM_INFINITY else min(hard, HIGHEST_USEFUL)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError) as exc:  # e.g. above fs.nr_open
            log.warning("open-file limit stays at %d (raising to %d failed: %s)", soft, target, exc)
    return open_file_limit()


def sip_tcp_share(limit: int) -> int:
    """How many SIP TCP connections a process with ``limit`` descriptors may hold: half
    of what is left after the reserve (which is at most half of a small limit)."""
    reserve = min(RESERVED, limit // 2)
    return max(1, (limit - reserve) // 2)
