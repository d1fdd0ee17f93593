"""``campus-safety mqtt``: the MQTT subscriber as its own process (production: several,
splitting the load through the shared subscription)."""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from campus_safety.devices import liveness
from campus_safety.gateway.mqtt_adoption import start_consumer

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Consume device messages from the MQTT broker (MQTT_URL) until interrupted."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", help="broker URL (default: MQTT_URL)")
        parser.add_argument(
            "--report-every", type=float, default=60.0, help="log the counters this often (s)"
        )

    def handle(self, *args, url: str | None = None, report_every: float = 60.0, **options):
        if not settings.REDIS_URL:
            log.warning(
                "REDIS_URL is not set: keepalives received here stay in this process, where "
                "no liveness sweeper reads them; alarms and events are stored regardless"
            )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        subscriber = start_consumer(url)
        self.stdout.write(f"mqtt: subscribing {subscriber.config.subscription} (Ctrl-C to stop)")
        try:
            while not stop.wait(report_every):
                log.info("mqtt counters: %s", subscriber.metrics.snapshot())
        finally:
            subscriber.stop()
            liveness.default().close()  # pushes keepalives still buffered for Redis
