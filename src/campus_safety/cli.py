"""The ``campus-safety`` command: Django's manage.py under the project's own name.

``campus-safety serve`` runs the platform under uvicorn (ASGI); every other word is a
management command, and hyphens map to underscores so the documented names
(``seed-demo``) work.
"""

from __future__ import annotations

import argparse
import os
import sys


def serve(argv: list[str]) -> None:
    """Serve the ASGI app with uvicorn and say where, and with which logins."""
    import django
    import uvicorn
    from django.conf import settings

    parser = argparse.ArgumentParser(prog="campus-safety serve")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    django.setup()
    port = args.port or settings.PORT
    shown_host = "127.0.0.1" if args.host in {"0.0.0.0", "::"} else args.host  # noqa: S104
    print(f"\n  校园安全联动平台 Campus Safety Linkage Platform: http://{shown_host}:{port}/\n")
    if settings.DEMO_MODE:
        from campus_safety.simulator.demo_users import login_lines

        print("  Demo logins (演示账号):")
        for line in login_lines():
            print(f"    {line}")
        print()
    uvicorn.run(
        "campus_safety.asgi:application",
        host=args.host,
        port=port,
        workers=args.workers,
        log_level="info",
        proxy_headers=True,
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
