"""出警统计 page: a period and a district narrow the cases; one row per district with a
total, charts of the same figures; bad filter input is a 400 that says why."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse

from campus_safety.alarms import statistics
from campus_safety.alarms.models import AlarmCase
from tests.devices.support import DeviceFactory
from tests.factories import CountyFactory, SchoolFactory, UserFactory, sign_in

pytestmark = pytest.mark.django_db
State = AlarmCase.State
URL = reverse("alarms:statistics")
NOW = dt.datetime(2026, 3, 15, 4, 0, tzinfo=dt.UTC)  # 12:00 in Beijing


def _case(device, opened, *, state, ack=None, dispatch=None, arrive=None, is_test=False):
    return AlarmCase.objects.create(
        school=device.school,
        device=device,
        state=state,
        is_test=is_test,
        opened_at=opened,
        last_event_at=opened,
        acknowledged_at=opened + dt.timedelta(seconds=ack) if ack is not None else None,
        dispatched_at=opened + dt.timedelta(seconds=dispatch) if dispatch is not None else None,
        arrived_at=opened + dt.timedelta(seconds=arrive) if arrive is not None else None,
    )


@pytest.fixture
def now(clock):
    clock.advance(seconds=(NOW - clock.now()).total_seconds())
    return NOW


@pytest.fixture
def lingcheng_device(db):
    county = CountyFactory(code="371403", name="陵城区")
    return DeviceFactory(school=SchoolFactory(region=county, name="陵城一中"))


@pytest.fixture
def cases(now, device, lingcheng_device):
    """德城区: three real cases this month (one false alarm) and a drill; one in
    February. 陵城区: one real case this month, one last December."""
    march = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    _case(device, march, state=State.RESOLVED, ack=10, dispatch=40, arrive=300)
    _case(device, march, state=State.RESOLVED, ack=20, dispatch=60, arrive=500)
    _case(device, march, state=State.FALSE_ALARM, ack=30)
    _case(device, march, state=State.TEST, ack=1, arrive=1, is_test=True)
    _case(device, dt.datetime(2026, 2, 10, 1, 0, tzinfo=dt.UTC), state=State.RESOLVED, ack=90)
    _case(lingcheng_device, march, state=State.FALSE_ALARM, ack=50)
    _case(
        lingcheng_device,
        dt.datetime(2025, 12, 20, 1, 0, tzinfo=dt.UTC),
        state=State.RESOLVED,
        ack=70,
    )


@pytest.fixture
def city_user(client, city):
    user = UserFactory(role="dispatcher", region=city)
    sign_in(client, user)
    return user


def _table_rows(body: str, table_id: str) -> list[list[str]]:
    table = body.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("</thead>", 1)[1], re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        ]
        for r in rows
    ]


def test_this_month_is_one_row_per_district_and_a_total(client, city_user, cases):
    response = client.get(URL)
    assert response.status_code == 200
    rows = _table_rows(response.content.decode(), "response-times")
    assert rows == [
        ["德城区", "3", "20 / 30", "40 / 60", "300 / 500", "1 / 3", "33.3%"],
        ["陵城区", "1", "50 / 50", "— / —", "— / —", "1 / 1", "100.0%"],
        ["合计", "4", "20 / 50", "40 / 60", "300 / 500", "2 / 4", "50.0%"],
    ]


def test_the_period_widens_to_three_months_and_the_year(client, city_user, cases):
    three = client.get(URL, {"period": "last_3_months"}).context["figures"]
    assert [(d["name"], d["alarms"]) for d in three["districts"]] == [("德城区", 4), ("陵城区", 1)]
    year = client.get(URL, {"period": "this_year"}).context["figures"]
    assert year["total"]["alarms"] == 5
    assert client.get(URL, {"period": "last_3_months"}).context["since"] == dt.date(2026, 1, 1)


def test_a_custom_period_counts_the_days_given_inclusive(client, city_user, cases):
    response = client.get(URL, {"period": "custom", "since": "2025-12-20", "until": "2026-02-10"})
    figures = response.context["figures"]
    assert [(d["name"], d["alarms"]) for d in figures["districts"]] == [
        ("德城区", 1),
        ("陵城区", 1),
    ]
    body = response.content.decode()
    assert 'name="since" value="2025-12-20"' in body and 'name="until" value="2026-02-10"' in body


def test_the_district_filter_keeps_one_district(client, city_user, cases):
    response = client.get(URL, {"period": "this_year", "region": "371403"})
    figures = response.context["figures"]
    assert [d["name"] for d in figures["districts"]] == ["陵城区"]
    assert figures["total"]["alarms"] == 1
    assert [r["name"] for r in response.context["by_school"]] == ["陵城一中"]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (
            {"period": "custom", "since": "2026-03-10", "until": "2026-03-01"},
            "起始日期晚于截止日期",
        ),
        ({"period": "custom", "since": "2026-03-01"}, "请填写起止两个日期"),
        ({"period": "custom", "since": "2026-13-01", "until": "2026-03-01"}, "日期"),
        ({"period": "next_decade"}, "选择"),
        ({"region": "999999"}, "选择"),
    ],
)
def test_bad_filter_input_is_a_400_that_says_why(client, city_user, cases, query, reason):
    response = client.get(URL, query)
    assert response.status_code == 400
    errors = response.content.decode().split('id="filter-errors"', 1)[1].split("</ul>", 1)[0]
    assert reason in errors


def test_the_charts_carry_the_tables_figures(client, city_user, cases):
    body = client.get(URL).content.decode()
    spec = json.loads(body.split('id="chart-times" type="application/json">', 1)[1].split("<")[0])
    assert spec["categories"] == ["德城区", "陵城区"]
    assert [s["data"] for s in spec["series"]] == [[20, 50], [40, None], [300, None]]
    rate = json.loads(
        body.split('id="chart-false-alarms" type="application/json">', 1)[1].split("<")[0]
    )
    assert rate["series"][0]["data"] == [33.3, 100.0]
    assert 'data-chart="chart-times"' in body and "echarts.min.js" in body


def test_a_district_user_sees_only_their_districts_cases(client, cases, county):
    sign_in(client, UserFactory(role="education_staff", region=county))
    figures = client.get(URL, {"period": "this_year"}).context["figures"]
    assert [d["name"] for d in figures["districts"]] == ["德城区"]
    assert figures["total"]["alarms"] == 4


def test_roles_without_alarms_may_not_open_it(client, city):
    sign_in(client, UserFactory(role="auditor", region=city))
    assert client.get(URL).status_code == 403


def test_the_page_takes_a_bounded_number_of_queries(
    client, city_user, cases, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        assert client.get(URL, {"period": "this_year"}).status_code == 200


def test_the_page_is_in_english_when_chosen(client, city_user, cases):
    client.post(reverse("set_language"), {"language": "en", "next": URL})
    body = client.get(URL).content.decode()
    assert "Response statistics" in body and "False-alarm rate" in body and "This month" in body
    assert "出警统计" not in body


@pytest.mark.parametrize(
    ("period", "today", "first"),
    [
        ("this_month", dt.date(2026, 3, 15), dt.date(2026, 3, 1)),
        ("last_3_months", dt.date(2026, 3, 15), dt.date(2026, 1, 1)),
        ("last_3_months", dt.date(2026, 1, 31), dt.date(2025, 11, 1)),
        ("last_3_months", dt.date(2026, 2, 1), dt.date(2025, 12, 1)),
        ("this_year", dt.date(2026, 3, 15), dt.date(2026, 1, 1)),
    ],
)
def test_named_periods_start_on_the_first_of_a_month(period, today, first):
    assert statistics.period_range(period, today) == (first, today)
