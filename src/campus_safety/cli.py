"""The ``campus-safety`` command: Django's manage.py under the project's own name.

``campus-safety serve`` runs the platform under uvicorn (ASGI); every other word is a
management command, and hyphens map to underscores so the documented names
(``seed-demo``) work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys


def serve(argv: list[str]) -> None:
    """Serve the ASGI app with uvicorn and say where, and with which logins."""
    import django
    from django.conf import settings

    from campus_safety import runtime

    parser = argparse.ArgumentParser(prog="campus-safety serve")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE[,ROLE]",
        help="what this process runs: web, http-ingest, sip, mqtt, jobs (repeat or "
        "separate with commas; default: all of them, one process)",
    )
    parser.add_argument(
        "--no-gateway",
        action="store_true",
        help="without the sip and mqtt roles (kept for older unit files)",
    )
    parser.add_argument(
        "--no-tasks", action="store_true", help="without the jobs role (kept for older unit files)"
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="also emulate the demo city's devices against this platform (demo only)",
    )
    args = parser.parse_args(argv)
    try:
        roles = set(runtime.parse_roles(args.role or os.environ.get("SERVE_ROLES", "").split()))
    except ValueError as exc:
        parser.error(str(exc))
    if args.no_gateway:
        roles -= {"sip", "mqtt"}
    if args.no_tasks:
        roles.discard("jobs")

    django.setup()
    refuse_to_start_on_failed_checks()
    port = args.port or settings.PORT
    shown_host = "127.0.0.1" if args.host in {"0.0.0.0", "::"} else args.host  # noqa: S104
    url = f"http://{shown_host}:{port}/"
    print(f"\n  校园安全联动平台 Campus Safety Linkage Platform: {url}\n")
    if settings.DEMO_MODE:
        show_demo_logins(url)
    print(f"  roles: {', '.join(r for r in runtime.ROLES if r in roles) or '(none)'}")
    if settings.GB28181_ENABLED and "sip" in roles:
        print(
            f"  GB/T 28181 SIP: {settings.GB28181_HOST}:{settings.GB28181_PORT} (UDP/TCP), "
            f"platform ID {settings.GB28181_PLATFORM_ID}, domain {settings.GB28181_DOMAIN}"
        )
    if settings.MQTT_URL and "mqtt" in roles:
        print(f"  MQTT subscriber: {settings.MQTT_URL.split('@')[-1]}")
    if args.simulate:  # today's history before the sweep and the other jobs first run
        from campus_safety.simulator.demo_day import start_demo_day

        print(f"  {start_demo_day()}")
        if not settings.MQTT_URL:
            say_demo_runs_without_mqtt()
    print()
    options = runtime.Options(
        host=args.host,
        port=port,
        roles=frozenset(roles),
        simulate=args.simulate,
    )
    with (
        contextlib.suppress(KeyboardInterrupt),  # Ctrl+C: the stop already ran, quietly
        asyncio.Runner(loop_factory=runtime.loop_factory()) as runner,
    ):
        runner.run(runtime.run(options))


def show_demo_logins(url: str) -> None:
    """The demo's logins, printed and kept in the data dir: the log scrolls them away
    within seconds, the file stays (the login page shows them too)."""
    from campus_safety.simulator.demo_users import write_login_file

    lines, path = write_login_file(url)
    print(f"  Demo logins (演示账号), also in {path} and on the login page:")
    for line in lines:
        print(f"    {line}")


def say_demo_runs_without_mqtt() -> None:
    """No broker for the demo (``make demo`` looks for one on 127.0.0.1:1883): its MQTT
    devices are shown offline with the reason instead of 未知 all demo long; said once."""
    from campus_safety.simulator.fleet import set_aside_mqtt_devices

    devices, _ = set_aside_mqtt_devices()
    if devices:
        print(
            f"  MQTT: no broker, so the demo's {devices} MQTT devices are not simulated and "
            "shown offline (start Mosquitto on 127.0.0.1:1883 and restart to include them)"
        )


def refuse_to_start_on_failed_checks() -> None:
    """Django's system checks, as every management command runs them: ``serve`` is not
    one, and a model with no scope declaration (scoping.py) must not go live."""
    from django.core import checks

    serious = [message for message in checks.run_checks() if message.is_serious()]
    if serious:
        raise SystemExit(
            "\n".join(["campus-safety serve: system checks failed:", *map(str, serious)])
        )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
    if len(argv) > 1 and argv[1] == "serve":
        serve(argv[2:])
        return
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
