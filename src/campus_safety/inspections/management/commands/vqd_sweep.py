"""``campus-safety vqd-sweep``: diagnose every camera's snapshot once."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Fetch every camera's snapshot and diagnose its picture quality."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--workers", type=int, default=8)

    def handle(self, *args, **options) -> None:
        from campus_safety.inspections.quality import sweep

        result = sweep(workers=options["workers"])
        faults = ", ".join(f"{k} {v}" for k, v in sorted(result.by_fault.items())) or "none"
        self.stdout.write(
            f"{result.cameras} cameras, {result.diagnosed} diagnosed, {result.faulty} faulty "
            f"({faults}), {result.errors} without a picture, {result.seconds} s"
        )
