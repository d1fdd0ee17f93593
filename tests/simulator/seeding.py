"""Seeding the full demo city once for a whole test module, leaving no trace after it.

The city goes in inside one outer transaction that is rolled back when the module is
done (Django's ``setUpTestData`` pattern): each test still runs in its own savepoint,
and neither the city nor the audit entries it causes leak into other modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

from django.core.management import call_command
from django.db import transaction


@contextmanager
def seeded_demo_city(django_db_blocker, *args: str) -> Iterator[str]:
    """Seed with ``seed-demo *args`` for the duration of the block; yields its output."""
    out = StringIO()
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        call_command("seed_demo", *args, "--verbosity", "0", stdout=out)
    try:
        yield out.getvalue()
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
