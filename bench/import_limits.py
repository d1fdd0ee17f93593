"""Benchmark: what a hostile or broken .xlsx costs the platform's importer.

Each case runs in a fresh Python process (so its peak resident memory is its own):
the process sets Django up, builds the workbook (tests/imports/crafted.py writes the
XML into the zip directly), then times ``spreadsheets.import_workbook`` on it for the
schools registry and reports the outcome, the wall time, the peak resident set
(``ru_maxrss``, above the process's size before the import) and, with ``--tracemalloc``,
the peak of Python allocations. No database is touched: every case ends before a row
would be checked against it.

Cases: ``empty30m`` (a 264 KB workbook of 30,000,000 empty rows, issue #13 defect 5),
``empty5m`` (45 KB, 5,000,000 rows), ``dimension`` (two rows, a ``<dimension>`` that
claims 30,000,000), ``wide`` (one row, 40,000 empty ones, a ``<dimension>`` of the
whole grid: 16,384 columns), ``gap`` (a data row at row 2 and one at row 3,000,000), ``bomb``
(one part unpacking to 1 GB), ``understated`` (a bomb whose directory says 1 KB),
``cutoff`` (the sheet XML stops mid-row, defect 7), ``strings`` (7,800,000 shared
strings in 315 KB), ``styles`` (1,000,000 cell formats in 180 KB).

    .venv/bin/python bench/import_limits.py [--cases empty30m,empty5m,...] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["学校标识码", "学校名称", "学校类型", "区县代码", "在校学生数"]
CASES = (
    "empty30m",
    "empty5m",
    "dimension",
    "wide",
    "gap",
    "bomb",
    "understated",
    "cutoff",
    "strings",
    "styles",
)
MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def build(case: str) -> bytes:
    from tests.imports import crafted

    good = ["1371402001", "一小", "小学", "371402", 800]
    if case == "empty30m":
        return crafted.empty_rows_workbook(HEADER, 30_000_000)
    if case == "empty5m":
        return crafted.empty_rows_workbook(HEADER, 5_000_000)
    if case == "dimension":
        sheet = crafted.sheet(HEADER, [good, good], dimension="A1:E30000000")
        return crafted.workbook(sheet)
    if case == "wide":
        sheet = crafted.sheet(HEADER, [good], empty_rows=40_000, dimension="A1:XFD1048576")
        return crafted.workbook(sheet)
    if case == "gap":
        rows = [good, crafted.row_xml(3_000_000, good)]
        chunks = list(crafted.sheet(HEADER, [good], close=False))
        return crafted.workbook([*chunks, rows[1], b"</sheetData></worksheet>"])
    if case == "bomb":
        return crafted.empty_rows_workbook(HEADER, 1_000_000_000 // 6)
    if case == "understated":
        return crafted.understated_workbook(HEADER, 30_000_000)
    if case == "cutoff":
        return crafted.cut_off_workbook(HEADER, [good] * 100)
    if case == "strings":
        strings = crafted.repeated(
            b"<sst " + MAIN + b">", b"<si><t>a</t></si>", 7_800_000, b"</sst>"
        )
        return crafted.workbook(crafted.sheet(HEADER, [good]), shared_strings=strings)
    if case == "styles":
        xf = b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        styles = crafted.repeated(
            b"<styleSheet " + MAIN + b"><cellXfs>", xf, 1_000_000, b"</cellXfs></styleSheet>"
        )
        return crafted.workbook(crafted.sheet(HEADER, [good]), styles=styles)
    raise SystemExit(f"unknown case {case}")


def run_case(case: str, trace: bool) -> dict:
    """In this process: build, import, measure."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
    django.setup()
    from django.db.utils import OperationalError
    from django.utils import translation

    from campus_safety import spreadsheets as xl

    translation.activate("en")
    data = build(case)
    registry = xl.get_registry("schools")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        result = xl.import_workbook(registry, data, None)
        outcome = f"imported {result.rows} rows"
    except OperationalError:  # no database here: the file got as far as the row checks
        outcome = "accepted (reached the database checks)"
    except Exception as exc:  # the outcome is what we report
        outcome = f"{type(exc).__name__}: {str(exc)[:90]}"
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "case": case,
        "file_kb": round(len(data) / 1024),
        "outcome": outcome,
        "seconds": round(seconds, 3),
        "rss_growth_mb": round((after - before) / 1024, 1),
        "tracemalloc_peak_mb": round(peak / 2**20, 1) if peak is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one, args.tracemalloc)))
        return
    for case in args.cases.split(","):
        command = [sys.executable, __file__, "--one", case]
        if args.tracemalloc:
            command.append("--tracemalloc")
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        if done.returncode:
            print(f"{case}: exit {done.returncode}\n{done.stderr[-2000:]}")
            continue
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{figures['case']:<12} {figures['file_kb']:>6} KB  {figures['seconds']:>8} s  "
            f"RSS +{figures['rss_growth_mb']} MB"
            + (
                f"  tracemalloc peak {figures['tracemalloc_peak_mb']} MB"
                if figures["tracemalloc_peak_mb"] is not None
                else ""
            )
            + f"  {figures['outcome']}"
        )


if __name__ == "__main__":
    main()
