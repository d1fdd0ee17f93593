"""The campaign report's PDF carries charts drawn from the records: alarms and hazards
by month, the 4×100% rates by district and the devices' daily availability. Their
figures are the records' (counted as the paragraphs count them), pdftotext finds the
charts' titles and the numbers they are drawn from, and the page rendered as a picture
has the charts' colours in it (the bars and lines are drawn, not only captioned)."""

import datetime as dt
import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import translation

from campus_safety import clock
from campus_safety.alarms.models import AlarmCase
from campus_safety.hazards.models import Hazard
from campus_safety.orgs.models import School
from campus_safety.reports import campaign, targets
from campus_safety.reports.pdf import PALETTE
from tests.factories import SchoolFactory, UserFactory, sign_in
from tests.hazards.support import internal, trouble_spot
from tests.reports.support import device_with_history, local

pytestmark = pytest.mark.django_db
NOW = local(dt.date(2026, 3, 20), "10:00")


@pytest.fixture
def now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return NOW


@pytest.fixture
def records(decheng, lingcheng, now):
    """Alarms and hazards in January–March 2026 in two districts, and two devices whose
    availability is known: one online throughout, one offline half of each day since
    18 March (it goes down at 00:00 and up at 12:00)."""
    a, b = SchoolFactory(region=decheng), SchoolFactory(region=lingcheng)
    reporter = UserFactory(role="school_admin", school=a)
    steady = device_with_history(
        a, [(local(dt.date(2026, 1, 1), "00:00"), "online")], kind="camera", is_approved=True
    )
    flaky_changes = [(local(dt.date(2026, 1, 1), "00:00"), "online")]
    for day in (dt.date(2026, 3, 18), dt.date(2026, 3, 19)):
        flaky_changes += [(local(day, "00:00"), "offline"), (local(day, "12:00"), "online")]
    flaky = device_with_history(b, flaky_changes, kind="camera", is_approved=True)
    device_with_history(  # with the camera: 德城区 meets the networked-alarm-and-video target
        a,
        [(local(dt.date(2026, 1, 1), "00:00"), "online")],
        kind="one_key_alarm",
        is_approved=True,
    )

    def alarm(school, device, day, **kw):
        at = local(day, "08:00")
        return AlarmCase.objects.create(
            school=school, device=device, opened_at=at, last_event_at=at, priority=1, **kw
        )

    alarm(a, steady, dt.date(2026, 1, 10))
    alarm(a, steady, dt.date(2026, 3, 2))
    alarm(b, flaky, dt.date(2026, 3, 3))
    alarm(b, flaky, dt.date(2026, 3, 4))
    alarm(b, flaky, dt.date(2026, 3, 5), state=AlarmCase.State.FALSE_ALARM)  # not real
    alarm(a, steady, dt.date(2026, 2, 6), is_test=True)  # a drill

    def hazard(make, school, reported, status=Hazard.Status.SUBMITTED, verified=None):
        row = make(reporter, school, source="self_check")
        Hazard.objects.filter(pk=row.pk).update(
            status=status,
            reported_at=local(reported, "09:00"),
            verified_at=local(verified, "09:00") if verified else None,
        )

    hazard(internal, a, dt.date(2026, 1, 5), Hazard.Status.VERIFIED, dt.date(2026, 2, 3))
    hazard(internal, a, dt.date(2026, 2, 7), Hazard.Status.VERIFIED, dt.date(2026, 3, 1))
    hazard(trouble_spot, b, dt.date(2026, 2, 9), Hazard.Status.CLOSED, dt.date(2026, 3, 9))
    hazard(internal, b, dt.date(2026, 3, 11))  # still open
    hazard(internal, b, dt.date(2026, 3, 12), Hazard.Status.DISMISSED)  # not a hazard
    return a, b


def test_the_charts_count_the_records_by_month_district_and_day(decheng, records, now):
    data = campaign.charts(School.objects.all(), None, dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    trend = data["trend"]
    assert trend["months"] == ["2026-01", "2026-02", "2026-03"]
    assert trend["alarms"] == [1, 0, 2 + 1]  # false alarm and drill left out
    assert trend["hazards_reported"] == [1, 2, 1]  # the dismissed one is not a hazard
    assert trend["hazards_rectified"] == [0, 1, 2]  # dated by their verification
    text = campaign.campaign(School.objects.all(), None, dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    figures = text.figures()
    assert sum(trend["alarms"]) == figures["alarms"]["value"]
    assert sum(trend["hazards_rectified"]) == (
        figures["hazards_rectified"]["value"] + figures["trouble_spots_rectified"]["value"]
    )
    assert [d["name"] for d in data["targets"]["districts"]] == ["德城区", "陵城区"]
    days = data["availability"]["days"]
    assert days[0]["day"] == "2026-02-18" and days[-1]["day"] == "2026-03-20"  # last 31 days
    rates = {d["day"]: d["rate"] for d in days}
    assert rates["2026-03-17"] == 1.0  # three devices, one down half of 18 and 19 March
    assert rates["2026-03-18"] == rates["2026-03-19"] == round(60 / 72, 4)
    decheng_rates = data["targets"]["districts"][0]["rates"]
    assert decheng_rates[targets.NETWORKED] == 1.0 and decheng_rates[targets.GUARDS] == 0.0
    # over the whole history the months start with the first record
    whole = campaign.charts(School.objects.all())
    assert whole["trend"]["months"] == ["2026-01", "2026-02", "2026-03"]
    assert campaign.charts(School.objects.all(), decheng)["trend"]["alarms"] == [1, 0, 1]


def test_a_long_period_shows_its_last_two_years(records, now):
    data = campaign.charts(School.objects.all(), None, dt.date(2020, 1, 1), dt.date(2026, 3, 31))
    months = data["trend"]["months"]
    assert len(months) == campaign.TREND_MONTHS_MAX and months[-1] == "2026-03"
    assert months[0] == "2024-04"


def _has_colour(png, colour, tolerance=12, at_least=40) -> bool:
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    near = (np.abs(pixels - np.array(colour)) <= tolerance).all(axis=-1)
    return int(near.sum()) >= at_least


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
def test_the_pdf_draws_the_charts_with_their_numbers(client, decheng, records, now, tmp_path):
    sign_in(client, UserFactory(role="dispatcher", region=decheng.parent))
    with translation.override("zh-hans"):
        response = client.get(
            reverse("reports:campaign_pdf") + "?from=2026-01-01&to=2026-03-31",
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    assert response.status_code == 200
    path = tmp_path / "campaign.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    for title in ("报警与隐患月度趋势", "四个100%分区县达标率", "设备在线率（最近31天）"):
        assert title in flat, title
    # the trend's table: month, real alarms, hazards reported, hazards rectified
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert rows["2026-01"] == ["1", "1", "0"]
    assert rows["2026-02"] == ["0", "2", "1"]
    assert rows["2026-03"] == ["3", "1", "2"]
    assert "德城区" in rows and "陵城区" in rows  # the 4×100% table, one row per district
    assert "期间设备在线率：" in flat
    # the charts are drawn: the pages as pictures carry the series' colours
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    for colour in PALETTE[:4]:  # the trend's three lines and the four targets' bars
        assert any(_has_colour(p, colour) for p in pages), colour
