"""The campaign report written from data: for the full demo city over its whole history
its paragraphs carry the source report's figures (德州市公安局, 护校安园), rounded the
way the report rounds (余); the command prints them; the page links each figure; a
period and an area narrow it; a scheduled monthly report of the city embeds a Chinese
font and pdftotext finds its figures."""

import datetime as dt
import json
import shutil
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from campus_safety.orgs.models import Region, School
from campus_safety.reports import campaign, scheduled
from tests.factories import UserFactory, sign_in
from tests.simulator.seeding import seeded_demo_city

pytestmark = pytest.mark.django_db
SOURCE_SENTENCES = [
    "目前，全市2029所中小学幼儿园，已派驻保安公司专业保安员874名、专职保卫人员1565名、"
    "兼职保卫人员3842名；配备橡胶棒等防护装备20000余件。",
    "全市共排查并整改校园内部安全隐患1243处、校园周边治安乱点87个。",
    "全市校园已安装监控摄像头35600余个，校园一键报警装置722套。",
]


@pytest.fixture(scope="module", autouse=True)
def demo_city(django_db_setup, django_db_blocker):
    with seeded_demo_city(django_db_blocker) as output:
        yield output


def test_the_command_prints_the_source_reports_sentences():
    out = StringIO()
    call_command("report", "campaign", stdout=out)
    text = out.getvalue()
    for sentence in SOURCE_SENTENCES:
        assert sentence in text, sentence


def test_the_json_gives_every_figure_exactly_and_as_written():
    out = StringIO()
    call_command("report", "campaign", "--json", stdout=out)
    figures = json.loads(out.getvalue())["figures"]
    exact = {k: v["value"] for k, v in figures.items()}
    assert exact["schools"] == 2029 and exact["professional"] == 874
    assert exact["full_time"] == 1565 and exact["part_time"] == 3842
    assert exact["hazards_rectified"] == 1243 and exact["trouble_spots_rectified"] == 87
    assert exact["one_key_alarms"] == 722
    assert figures["cameras"]["text"] == "35600余" and 35600 < exact["cameras"] < 35700
    assert figures["equipment"]["text"] == "20000余" and 20000 < exact["equipment"] < 21000


def test_a_district_and_a_period_narrow_the_report():
    district = Region.objects.get(code="371402")
    whole = campaign.campaign(School.objects.all(), district)
    assert whole.paragraphs[0].text().startswith("目前，德城区")
    month = campaign.campaign(
        School.objects.all(), district, dt.date(2000, 1, 1), dt.date(2000, 1, 31)
    )
    assert month.figures()["hazards_rectified"]["value"] == 0
    assert month.paragraphs[1].text().startswith("2000-01-01至2000-01-31，德城区")


def test_the_page_links_each_figure_to_its_records(client):
    sign_in(client, UserFactory(role="dispatcher", region=Region.objects.get(code="371400")))
    body = client.get(reverse("reports:campaign")).content.decode()
    assert '<a href="/devices/?kind=one_key_alarm" class="figure">722</a>' in body
    assert 'class="figure">35600余</a>' in body
    assert client.get(reverse("reports:campaign") + "?from=2026-13-01").status_code == 400
    pdf = client.get(reverse("reports:campaign_pdf"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils (pdftotext)")
def test_a_monthly_city_report_pdf_has_its_figures_and_an_embedded_chinese_font(tmp_path):
    city = Region.objects.get(code="371400")
    report = scheduled.generate(
        scheduled.Kind.MONTHLY, city, dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    )
    path = tmp_path / "report.pdf"
    path.write_bytes(bytes(report.pdf))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    text = "".join(text.split())  # the PDF wraps lines
    assert "2029所中小学幼儿园" in text and "专业保安员874名" in text
    assert "监控摄像头35600余个" in text and "一键报警装置722套" in text
    assert "四个100%" in text and "统计口径" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes yes yes " in line for line in cjk)  # embedded, subset, unicode
    assert report.figures["campaign"]["figures"]["professional"]["value"] == 874
    assert report.xlsx[:2] == b"PK"


@given(st.integers(min_value=0, max_value=10**8))
def test_yu_never_overstates_and_drops_little(n):
    shown, approx = campaign.yu(n)
    assert shown <= n
    assert approx == (shown != n)
    if n >= campaign.YU_FROM:
        assert n - shown < max(n * campaign.YU_DROP_MAX, 100)
    else:
        assert shown == n


def test_yu_matches_the_source_reports_rounding():
    assert campaign.yu(20365) == (20000, True)
    assert campaign.yu(35640) == (35600, True)
    assert campaign.yu(35000) == (35000, False)
    assert campaign.yu(9999) == (9999, False)
