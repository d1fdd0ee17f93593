"""Group commit: one writer thread per process stores what every adapter received.

Under a burst, storing each alarm in its own transaction costs a commit and a dozen
statements per alarm, and on SQLite several writer threads queue on the database lock
with back-off sleeps. Here the adapters (GB/T 28181, MQTT, HTTP) hand their messages
to one thread, which takes everything waiting, stores it with ``ingest.ingest_batch``
in one transaction, and only then answers each caller with its own results — so a
device is still acknowledged only after its message is committed, and a batch waits at
most for the one commit ahead of it.

``serve`` starts the writer; where none runs (tests, management commands) ``commit``
stores in the calling thread.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future, InvalidStateError
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection

from campus_safety.gateway import ingest

log = logging.getLogger(__name__)

MAX_BATCH = 500  # messages per transaction: a bound on one commit's latency
Request = tuple[list[ingest.DeviceMessage], Future]


class WriterStopped(RuntimeError):
    """The writer stopped before it took these messages: nothing of them was stored."""


class Committer:
    """The writer thread and its queue of (messages, future) requests."""

    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self.batches = 0  # counters for the health page and the benches
        self.messages = 0
        self._queue: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ingest-committer", daemon=True)
        self._stopped = threading.Event()
        self._gate = threading.Lock()

    def start(self) -> Committer:
        self._thread.start()
        return self

    def submit(self, messages: list[ingest.DeviceMessage]) -> Future:
        """Queue messages; the future gives their results once committed (or the
        database error that kept them from it: acknowledge nothing then)."""
        future: Future = Future()
        with self._gate:  # never behind stop()'s end marker, where nobody would take it
            if self._stopped.is_set():
                future.set_exception(WriterStopped("the ingestion writer has stopped"))
            else:
                self._queue.put((list(messages), future))
        return future

    def stop(self, timeout: float = 10.0) -> None:
        """Store what is queued, then end the thread."""
        with self._gate:
            self._stopped.set()
            self._queue.put(None)
        self._thread.join(timeout)

    def _take(self) -> tuple[list[Request], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        requests, size = [first], len(first[0])
        while size < self.max_batch:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                break
            if request is None:
                return requests, True
            requests.append(request)
            size += len(request[0])
        return requests, False

    def _run(self) -> None:
        try:
            while True:
                requests, last = self._take()
                if requests:
                    self._commit(requests)
                if last:
                    break
        finally:
            connection.close()

    def _commit(self, requests: list[Request]) -> None:
        messages = [m for batch, _future in requests for m in batch]
        # The thread keeps its connection between batches (opening one per batch cost
        # more than the batch); any failure drops it, so the next batch reconnects.
        try:
            results = ingest.ingest_batch(messages)
        except Exception as exc:  # nothing committed: every caller hears why
            log.warning("ingestion batch of %d failed: %s", len(messages), exc)
            connection.close()
            for _batch, future in requests:
                _answer(future, exception=exc)
            return
        self.batches += 1
        self.messages += len(messages)
        start = 0
        for batch, future in requests:
            _answer(future, results[start : start + len(batch)])
            start += len(batch)


def _answer(future: Future, results: Any = None, exception: Exception | None = None) -> None:
    """A caller that gave up (its task cancelled, e.g. the SIP server closing) is simply
    not answered; its device resends and hears "duplicate". It must cost the writer
    thread nothing — the other callers of the batch are still waiting."""
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(results)
    except InvalidStateError:
        pass


_lock = threading.Lock()
_current: Committer | None = None


def start() -> Committer:
    """Start this process's writer (``serve`` does); idempotent."""
    global _current
    with _lock:
        if _current is None:
            _current = Committer().start()
        return _current


def stop(timeout: float = 10.0) -> None:
    """Store what is queued and end the writer, waiting at most ``timeout`` seconds."""
    global _current
    with _lock:
        current, _current = _current, None
    if current is not None:
        current.stop(timeout)


def running() -> Committer | None:
    return _current


def commit(
    messages: list[ingest.DeviceMessage], timeout: float | None = None
) -> list[ingest.Result]:
    """Store messages, returning once they are committed (raises if they were not)."""
    current = _current
    if current is None or not needs_storing(messages):
        return ingest.ingest_batch(messages)
    return current.submit(messages).result(timeout)


def needs_storing(messages: list[ingest.DeviceMessage]) -> bool:
    """Keepalives touch only memory: they need no trip through the writer's queue."""
    return any(message.kind != "heartbeat" for message in messages)


async def commit_async(messages: list[ingest.DeviceMessage]) -> list[ingest.Result]:
    """``commit`` for an event loop (the SIP server): waits without blocking the loop."""
    current = _current
    if current is None or not needs_storing(messages):
        return await sync_to_async(ingest.ingest_batch)(messages)
    return await asyncio.wrap_future(current.submit(messages))
