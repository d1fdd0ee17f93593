"""The ``campus-safety`` command: Django's manage.py under the project's own name.

``campus-safety seed-demo`` and ``campus-safety seed_demo`` are the same command, so
the documented, hyphenated names work.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a management command; hyphens in the command name map to underscores."""
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
