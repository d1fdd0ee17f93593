"""``campus-safety simulate``: the demo city's devices against a running platform.

GB/T 28181 over UDP (REGISTER with digest, keepalives, catalogs, alarms), MQTT and
signed HTTP, a few outages, and snapshot JPEGs for the cameras. Reads the devices from
the registry the platform uses (same settings / DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from campus_safety.simulator import fleet, video_camera


class Command(BaseCommand):
    help = "Emulate the demo city's devices (GB/T 28181, MQTT, HTTP) against a running platform."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo",
            action="store_true",
            help="every device of the demo city, platform addresses from the settings",
        )
        parser.add_argument("--devices", type=int, help="at most this many standalone devices")
        parser.add_argument("--school", type=int, action="append", help="only this school (id)")
        parser.add_argument("--sip-host", default="127.0.0.1")
        parser.add_argument("--sip-port", type=int, default=None, help="default GB28181_PORT")
        parser.add_argument("--http-url", default=None, help="default http://127.0.0.1:PORT")
        parser.add_argument(
            "--mqtt-url", default=None, help="default MQTT_URL (empty: MQTT devices stay silent)"
        )
        parser.add_argument(
            "--keepalive-interval",
            type=float,
            default=None,
            help="seconds between keepalives (default: the devices' own; faster for benches)",
        )
        parser.add_argument("--alarms-per-minute", type=float, default=1.0)
        parser.add_argument(
            "--offline-share", type=float, default=0.02, help="share of devices down at a time"
        )
        parser.add_argument("--snapshot-url", default=None, help="default SIMULATOR_SNAPSHOT_URL")
        parser.add_argument("--duration", type=float, default=0, help="seconds; 0 = until Ctrl-C")
        parser.add_argument(
            "--h265-camera",
            action="append",
            default=[],
            metavar="CHANNEL_ID",
            help="this camera channel sends H.265 (libx265, PS stream type 0x24) instead of "
            "H.264, live and recorded; repeat for more",
        )

    def handle(self, *args, **options) -> None:
        if not (options["demo"] or options["devices"] or options["school"]):
            raise CommandError("say which devices: --demo, --devices N or --school ID")
        logging.getLogger("campus_safety.simulator").setLevel(logging.INFO)
        video_camera.OPTIONS.h265_channels.update(options["h265_camera"])
        plan = fleet.load_plan(limit=options["devices"], schools=options["school"])
        if not plan.count:
            raise CommandError("no approved devices to emulate: run `campus-safety seed-demo`")
        run_options = fleet.options_from_settings(
            sip_host=options["sip_host"],
            sip_port=options["sip_port"],
            http_url=options["http_url"],
            mqtt_url=options["mqtt_url"],
            keepalive_interval=options["keepalive_interval"],
            alarms_per_minute=options["alarms_per_minute"],
            offline_share=options["offline_share"],
            snapshot_url=options["snapshot_url"],
        )
        self.stdout.write(
            f"Simulating {plan.count:,} devices ({len(plan.sip):,} GB/T 28181 with "
            f"{sum(len(d.channels) for d in plan.sip):,} channels, {len(plan.mqtt):,} MQTT, "
            f"{len(plan.http):,} HTTP) against SIP {run_options.sip_host}:{run_options.sip_port}"
            f", {run_options.http_url}"
            + (f", MQTT {run_options.mqtt_url.split('@')[-1]}" if run_options.mqtt_url else "")
            + f"; snapshots at {run_options.snapshot_url or '—'} (platform {settings.PORT})"
        )
        asyncio.run(self._run(plan, run_options, options["duration"]))

    async def _run(self, plan: fleet.Plan, options: fleet.Options, duration: float) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        if duration:
            loop.call_later(duration, stop.set)
        simulation = fleet.Simulation(plan, options)
        await simulation.run(stop)
        self.stdout.write(f"simulator stopped: {simulation.summary()}")
