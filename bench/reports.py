"""Benchmark: the reports on the full demo city (issue #21 targets).

Seeds the demo city into a temporary data dir (SQLite; or reuses ``--data-dir``), adds
a day of device state changes (``--flap-share`` of the devices go offline and back, so
availability has something to compute), then times in-process, ``--runs`` times each:

* the 4×100% board for the whole city                 target ≤ 1 s
* the big screen's live part and its KPI part          (computed afresh)
* the big screen's first data: the page as a city dispatcher's browser gets it
  (Django test client, every middleware), which comes with its figures — the alarms
  counted now, the rest from the scope's kept snapshot     target ≤ 2 s
* the same cold (no snapshot yet: the page, then the live and KPI parts it fetches)
* the periodic job refreshing one scope's snapshot
* with ``--browser``: the same in headless Chromium (Debian's) over uvicorn serving the
  data dir, from navigation until the figures are drawn (KPI rows, tiles), warm and cold
* the campaign report (whole history)
* 14 days of availability for the city
* the monthly city report: figures, A4 PDF and Excel   target ≤ 30 s

and prints the median and the ratio to its target.

    .venv/bin/python bench/reports.py [--runs 5] [--data-dir DIR] [--flap-share 0.05] [--browser]
    .venv/bin/python bench/reports.py --memory-minutes 120 --data-dir DIR   # the heap
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts named like standard modules (inspect.py): not importable from here
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

CLI = [sys.executable, "-m", "campus_safety.cli"]


def seed(data_dir: Path) -> None:
    env = {**os.environ, "CAMPUS_SAFETY_DATA_DIR": str(data_dir), "CAMPUS_SAFETY_DEMO": "1"}
    env.pop("DATABASE_URL", None)
    subprocess.run([*CLI, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    if (data_dir / "campus_safety.sqlite3").stat().st_size > 50_000_000:
        return  # seeded already
    print(f"seeding the demo city into {data_dir} …", flush=True)
    subprocess.run([*CLI, "seed_demo", "--if-empty", "-v", "0"], env=env, check=True)


def add_transitions(share: float) -> int:
    """A day of flaps on ``share`` of the devices: online since yesterday, some offline
    for a while today (as the sweeper would have recorded)."""
    from django.db import transaction

    from campus_safety import clock
    from campus_safety.devices.models import Device, StatusChange

    if StatusChange.objects.exists():
        return StatusChange.objects.count()
    now = clock.now()
    rng = random.Random(21)
    rows = []
    ids = list(Device.objects.values_list("pk", flat=True))
    for pk in ids:
        rows.append(
            StatusChange(
                device_id=pk,
                at=now - dt.timedelta(days=20),
                from_status="unknown",
                to_status="online",
            )
        )
        if rng.random() < share:
            down = now - dt.timedelta(hours=rng.uniform(1, 20))
            rows.append(
                StatusChange(device_id=pk, at=down, from_status="online", to_status="offline")
            )
            rows.append(
                StatusChange(
                    device_id=pk,
                    at=down + dt.timedelta(minutes=rng.uniform(5, 90)),
                    from_status="offline",
                    to_status="online",
                )
            )
    with transaction.atomic():
        StatusChange.objects.bulk_create(rows, batch_size=5000)
        Device.objects.update(status="online")
    return len(rows)


def screen_client(city_code: str):
    """A test client signed in (both factors) as a city-wide dispatcher."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from campus_safety.accounts.models import User
    from campus_safety.orgs.models import Region

    user, _ = User.objects.get_or_create(
        username="bench-screen",
        defaults={"role": "dispatcher", "region": Region.objects.get(code=city_code)},
    )
    client = Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def first_paint(client, cold: bool) -> dict:
    """What the screen needs before it shows figures: the page (with its first data);
    cold, also the two parts it then fetches (nothing kept anywhere)."""
    import json
    import re

    from django.core.cache import cache

    from campus_safety.reports.models import ScreenSnapshot

    if cold:
        ScreenSnapshot.objects.update(live=None, live_at=None, kpi=None, kpi_at=None)
        cache.clear()
    page = client.get("/big-screen/")
    assert page.status_code == 200, page.status_code
    body = page.content.decode()
    found = re.search(r'id="big-screen-first" type="application/json">(.*?)</script>', body)
    first = json.loads(found.group(1))
    if cold:
        for part in ("live", "kpi"):
            response = client.get(f"/big-screen/{part}.json")
            assert response.status_code == 200, (part, response.status_code)
    return first


@contextlib.contextmanager
def served():
    """uvicorn serving this process's Django (the bench data dir) on a free port."""
    import threading

    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from campus_safety.simulator.ports import free_port

    port = free_port()
    config = uvicorn.Config(
        ASGIStaticFilesHandler(get_asgi_application()),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="critical",
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True


@contextlib.contextmanager
def screen_page(client, base: str):
    """Headless Chromium (Debian's) at 1920×1080 with ``client``'s session."""
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
        try:
            yield context.new_page()
        finally:
            browser.close()


def browser_first_paint(client, runs: int) -> dict[str, float]:
    """Median seconds from navigation to figures on the screen in headless Chromium
    (1920×1080): warm (the page's own figures: the scope's kept snapshot), cold first
    (no snapshot: the alarms the page came with drawn) and cold complete (every part
    it then fetches one by one drawn, and the KPI rows). The server is uvicorn in this
    process."""
    from concurrent.futures import ThreadPoolExecutor

    from django.core.cache import cache
    from django.db import connections

    from campus_safety.reports.models import ScreenSnapshot

    def forget() -> None:
        ScreenSnapshot.objects.update(live=None, live_at=None, kpi=None, kpi_at=None)
        cache.clear()
        connections.close_all()

    complete = [
        "#bs-kpi-table tbody tr",
        "#bs-device-kinds div",
        "body[data-parts~=posts]",
        "body[data-parts~=hazards]",
    ]
    marks = {
        "warm": ["body[data-first=snapshot]", "#bs-kpi-table tbody tr"],
        "cold first": ["body[data-first=alarms]"],
        "cold complete": complete,
    }
    times: dict[str, list[float]] = {k: [] for k in marks}
    with served() as base, screen_page(client, base) as page:
        for cold in (True, False):
            for _ in range(runs):
                page.goto("about:blank")
                if cold:  # (playwright's loop runs here: the ORM goes to a thread)
                    with ThreadPoolExecutor(1) as worker:
                        worker.submit(forget).result()
                started = time.perf_counter()
                page.goto(f"{base}/big-screen/", wait_until="commit")
                for name in ("cold first", "cold complete") if cold else ("warm",):
                    for selector in marks[name]:
                        page.wait_for_selector(selector, state="attached", timeout=120_000)
                    times[name].append(time.perf_counter() - started)
                for selector in ("#bs-kpi-table tbody tr", "body[data-fresh=live]"):
                    page.wait_for_selector(selector, state="attached", timeout=120_000)
                page.wait_for_timeout(500)  # let it finish before the next
    return {name: statistics.median(values) for name, values in times.items()}


def _churn(stop) -> None:
    """An alarm opens every second, about twenty stay open (the oldest is resolved),
    until ``stop`` is set; the cases made are deleted after."""
    import random as rnd

    from django.db import connections

    from campus_safety import clock
    from campus_safety.alarms.models import AlarmCase
    from campus_safety.devices.models import Device

    rng = rnd.Random(21)
    alarms = list(
        Device.objects.filter(kind=Device.Kind.ONE_KEY_ALARM).values_list("pk", "school_id")
    )
    opened, made = [], []
    while not stop.wait(1.0):
        device, school = rng.choice(alarms)
        now = clock.now()
        opened.append(
            AlarmCase.objects.create(
                school_id=school, device_id=device, opened_at=now, last_event_at=now, priority=1
            ).pk
        )
        if len(opened) > 20:  # about twenty open at any time
            AlarmCase.objects.filter(pk=opened.pop(0)).update(
                state=AlarmCase.State.RESOLVED, closed_at=now
            )
        made.append(opened[-1])
    AlarmCase.objects.filter(pk__in=made).delete()  # the data dir as it was
    connections.close_all()


def browser_memory(client, minutes: float, poll_seconds: float = 2.0) -> list[tuple]:
    """The screen left running ``minutes`` while alarms open and close every second
    and it refetches every ``poll_seconds`` (a busy day sped up): the JS heap after a
    forced garbage collection, DOM nodes and listeners, sampled every 30 s."""
    import threading

    from django.conf import settings

    settings.REPORTS_SCREEN_POLL_SECONDS = poll_seconds
    stop = threading.Event()
    worker = threading.Thread(target=_churn, args=(stop,), daemon=True)
    samples = []
    with served() as base, screen_page(client, base) as page:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(f"{base}/big-screen/")
        page.wait_for_selector("#bs-device-kinds div", state="attached", timeout=120_000)
        worker.start()
        started = time.monotonic()
        while time.monotonic() - started < minutes * 60:
            page.wait_for_timeout(30_000)
            cdp.send("HeapProfiler.collectGarbage")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            samples.append(
                (
                    round((time.monotonic() - started) / 60, 1),
                    metrics["JSHeapUsedSize"] / 1e6,
                    int(metrics["Nodes"]),
                    int(metrics["JSEventListeners"]),
                )
            )
            print(
                f"  {samples[-1][0]:5.1f} min  heap {samples[-1][1]:6.1f} MB  "
                f"nodes {samples[-1][2]:6d}  listeners {samples[-1][3]:5d}",
                flush=True,
            )
        stop.set()
        worker.join()
    return samples


def _heap_census(cdp) -> dict[tuple[str, str], list[int]]:
    """A heap snapshot (CDP HeapProfiler) summed by (node type, constructor or name):
    [count, self bytes]."""
    import json
    from collections import defaultdict

    chunks: list[str] = []
    cdp.on("HeapProfiler.addHeapSnapshotChunk", lambda event: chunks.append(event["chunk"]))
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
    snapshot = json.loads("".join(chunks))
    meta = snapshot["snapshot"]["meta"]
    fields = meta["node_fields"]
    width = len(fields)
    kinds = meta["node_types"][0]
    i_type, i_name, i_size = fields.index("type"), fields.index("name"), fields.index("self_size")
    nodes, strings = snapshot["nodes"], snapshot["strings"]
    census: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for at in range(0, len(nodes), width):
        kind = kinds[nodes[at + i_type]]
        name = strings[nodes[at + i_name]] if kind not in ("string", "concatenated string") else ""
        row = census[(kind, name[:60])]
        row[0] += 1
        row[1] += nodes[at + i_size]
    return census


def heap_diff(client, refetches: int, poll_seconds: float = 1.0) -> None:
    """Heap snapshots of the running screen (under the same churn as ``--memory-minutes``)
    after a warm-up and after ``refetches`` more refetches: what grew, by constructor."""
    import threading

    from django.conf import settings

    settings.REPORTS_SCREEN_POLL_SECONDS = poll_seconds
    stop = threading.Event()
    with served() as base, screen_page(client, base) as page:
        worker = threading.Thread(target=_churn, args=(stop,), daemon=True)
        cdp = page.context.new_cdp_session(page)
        page.goto(f"{base}/big-screen/")
        page.wait_for_selector("#bs-device-kinds div", state="attached", timeout=120_000)
        worker.start()
        page.wait_for_timeout(int(30 * poll_seconds * 1000))  # warm: caches, JIT, tiles
        before = _heap_census(cdp)
        page.wait_for_timeout(int(refetches * poll_seconds * 1000))
        after = _heap_census(cdp)
        stop.set()
        worker.join()
    grown = sorted(
        ((k, after[k][0] - before.get(k, [0, 0])[0], after[k][1] - before.get(k, [0, 0])[1])
         for k in after),
        key=lambda row: -row[2],
    )  # fmt: skip
    total = sum(v[1] for v in after.values()) - sum(v[1] for v in before.values())
    print(f"heap snapshot diff after ~{refetches} refetches: {total / 1e3:+.1f} kB")
    print(f"{'type':10} {'constructor / name':60} {'count':>8} {'bytes':>10}")
    for (kind, name), count, size in grown[:25]:
        print(f"{kind:10} {name:60} {count:+8d} {size:+10d}")


def timed(runs: int, job) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = job()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--flap-share", type=float, default=0.05)
    parser.add_argument("--browser", action="store_true", help="also time it in Chromium")
    parser.add_argument(
        "--heap-diff",
        type=int,
        default=0,
        metavar="N",
        help="only diff two heap snapshots of the screen N refetches apart (what grows)",
    )
    parser.add_argument(
        "--browser-only", action="store_true", help="only time the big screen in Chromium"
    )
    parser.add_argument(
        "--posts-only", action="store_true", help="only time the 护学岗 windows (posts part)"
    )
    parser.add_argument(
        "--memory-minutes",
        type=float,
        default=0,
        help="only run the screen this long in Chromium under churn, sampling its JS heap",
    )
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-reports-"))
    seed(data_dir)
    os.environ["CAMPUS_SAFETY_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
    import django

    django.setup()
    from django.utils import timezone

    from campus_safety import clock
    from campus_safety.orgs.models import Region, School
    from campus_safety.reports import availability, campaign, scheduled, screen_data, targets
    from campus_safety.workforce.staffing import get_rule

    print(f"state changes: {add_transitions(args.flap_share):,}")
    if args.heap_diff:
        heap_diff(screen_client("371400"), args.heap_diff)
        return
    if args.browser_only:
        paint = browser_first_paint(screen_client("371400"), args.runs)
        for name, seconds in paint.items():
            print(f"big screen in Chromium, {name}: median {seconds * 1000:.0f} ms")
        return
    if args.memory_minutes:
        samples = browser_memory(screen_client("371400"), args.memory_minutes)
        first, last = samples[min(1, len(samples) - 1)], samples[-1]
        print(
            f"JS heap {first[1]:.1f} MB at {first[0]} min, {last[1]:.1f} MB at {last[0]} min "
            f"(max {max(x[1] for x in samples):.1f}); DOM nodes {first[2]} -> {last[2]}"
        )
        return
    schools, rule = School.objects.all(), get_rule()
    city = Region.objects.get(code="371400")
    today = timezone.localdate(clock.now())
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    rows = []
    posts_s, _ = timed(args.runs, lambda: screen_data.posts_part(schools, clock.now()))
    rows.append(("big screen: 护学岗 windows (posts part)", posts_s, None))
    if args.posts_only:
        print(f"护学岗 windows (posts part), whole city: median {posts_s * 1000:.0f} ms")
        return

    board_s, board = timed(args.runs, lambda: targets.board(schools, rule))
    rows.append(("4×100% board, whole city", board_s, 1.0))
    live_s, _ = timed(args.runs, lambda: screen_data.live_part(schools))
    rows.append(("big screen: live part", live_s, None))
    kpi_s, _ = timed(args.runs, lambda: screen_data.kpi_part(schools, rule))
    rows.append(("big screen: KPI part", kpi_s, None))
    rows.append(("big screen: both parts computed afresh", live_s + kpi_s, None))
    from campus_safety.reports import screen_snapshot
    from campus_safety.reports.models import ScreenSnapshot

    client = screen_client(city.code)
    cold_s, _ = timed(args.runs, lambda: first_paint(client, cold=True))
    rows.append(("big screen: first data, cold (page + live + KPI)", cold_s, None))
    row = ScreenSnapshot.objects.get(key__endswith=f":{rule.key}", user__username="bench-screen")
    refresh_s, _ = timed(args.runs, lambda: screen_snapshot.refresh(row))
    rows.append(("big screen: snapshot refresh, one scope (job)", refresh_s, None))
    warm_s, first = timed(args.runs, lambda: first_paint(client, cold=False))
    assert first["live"] and first["kpi"], "the page came without its figures"
    rows.append(("big screen: first data (page with its figures)", warm_s, 2.0))
    if args.browser:
        paint = browser_first_paint(client, args.runs)
        rows.append(("big screen in Chromium: figures drawn", paint["warm"], 2.0))
        rows.append(("big screen in Chromium: cold, first figures", paint["cold first"], 2.0))
        rows.append(("big screen in Chromium: cold, every part", paint["cold complete"], None))
    text_s, text = timed(args.runs, lambda: campaign.campaign(schools))
    rows.append(("campaign report, whole history", text_s, None))

    def campaign_pdf() -> bytes:
        report, charts = campaign.campaign(schools), campaign.charts(schools)
        return campaign.render_pdf(report, charts, "bench")

    campaign_pdf_s, _ = timed(max(1, min(args.runs, 3)), campaign_pdf)
    rows.append(("campaign report PDF with charts, whole history", campaign_pdf_s, None))
    avail_s, history = timed(args.runs, lambda: availability.schools_history(schools, 14))
    rows.append(("availability, 14 days, whole city", avail_s, None))

    def monthly() -> bytes:
        data = scheduled.figures(city, month_end.replace(day=1), month_end, "monthly")
        scheduled.render_xlsx(data)
        return scheduled.render_pdf(data)

    pdf_s, pdf = timed(max(1, min(args.runs, 3)), monthly)
    rows.append(("monthly city report (figures + PDF + Excel)", pdf_s, 30.0))

    print(f"\n{'what':48} {'median':>9} {'target':>8} {'ratio':>7}")
    for name, seconds, target in rows:
        ratio = f"{seconds / target:.2f}" if target else ""
        target_text = f"{target:.0f} s" if target else ""
        print(f"{name:48} {seconds * 1000:8.0f}ms {target_text:>8} {ratio:>7}")
    print(f"\nboard: {board['schools']} schools, rates {board['rates']}")
    print(f"availability today: {history.series(history.total)[-1]['rate']}")
    print(f"monthly PDF: {len(pdf):,} bytes")
    print("campaign:", text.paragraphs[0].text())


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    main()
