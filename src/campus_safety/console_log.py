"""The console log (控制台日志) an operator can read while the platform runs.

Three rules, wired in by ``settings.LOGGING`` (uvicorn logs through it too, see
``runtime.run``):

* one time zone on every line, the app's (``TIME_ZONE``), with its offset;
* a refused request (4xx: a 403, a suspicious 400) is one line — Django logs it with
  the exception's traceback, but a refusal is the platform working, not failing;
  5xx keep their traceback;
* no access line per device message (``ACCESS_LOG``): a demo city's HTTP devices
  post every few hundred milliseconds and would scroll everything else away.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable


class LocalTimeFormatter(logging.Formatter):
    """Times in ``time_zone`` whatever the process's own zone: Django points ``TZ`` at
    ``TIME_ZONE``, but on a machine without the system tz database the C library then
    silently uses UTC, while the app (Python's zoneinfo, with the tzdata package) shows
    local times. The offset on every line says which zone is meant."""

    def __init__(self, fmt: str | None = None, *, time_zone: str = "UTC") -> None:
        super().__init__(fmt)
        self.zone = zoneinfo.ZoneInfo(time_zone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = dt.datetime.fromtimestamp(record.created, self.zone)
        if datefmt:
            return moment.strftime(datefmt)
        return f"{moment:%Y-%m-%d %H:%M:%S}.{int(record.msecs):03d}{moment:%z}"


class OneLineRefusals(logging.Filter):
    """A request answered with a 4xx loses its traceback; the exception's message, if
    it has one, is kept on the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500 and record.exc_info:
            error = record.exc_info[1]
            reason = str(error).strip().splitlines()[0] if error and str(error).strip() else ""
            if reason:
                record.msg = f"{record.msg} ({reason.replace('%', '%%')})"
            record.exc_info, record.exc_text = None, None
        return True


class QuietPaths(logging.Filter):
    """uvicorn's access lines, but for requests to ``paths`` (device ingestion, health
    probes): uvicorn logs ``'%s - "%s %s HTTP/%s" %d'`` with the path third."""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        super().__init__()
        self.paths = tuple(p.rstrip("/") for p in paths)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not self.paths or not isinstance(args, tuple) or len(args) < 3:
            return True
        path = str(args[2]).split("?", 1)[0].rstrip("/")
        return not any(path == p or path.startswith(p + "/") for p in self.paths)


class PlainUvicornName(logging.Filter):
    """uvicorn says "Started server process" and "Shutting down" on its ``uvicorn.error``
    logger: shown as ``uvicorn``, so no operator reads an error into them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.error":
            record.name = "uvicorn"
        return True
