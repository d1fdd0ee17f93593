"""Guard tours end to end: scans in through the ingestion service or the phone page,
rounds evaluated, missed checkpoints alarmed and escalated, daily compliance."""

import datetime as dt

import pytest

from campus_safety.devices import liveness
from campus_safety.devices.models import Device, DeviceEvent
from campus_safety.gateway.ingest import DeviceMessage, ingest
from campus_safety.patrols import services
from campus_safety.patrols.models import Holiday, PatrolAlarm, TourPlan, TourRound, TourScan
from tests.devices.support import DeviceFactory, Events, fresh_liveness
from tests.factories import UserFactory, sign_in
from tests.patrols.support import FrozenClock, local, tour

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)  # a Monday


@pytest.fixture
def now(monkeypatch):
    return FrozenClock(monkeypatch, local(DAY, "07:00"))


@pytest.fixture
def events():
    recorder = Events()
    yield recorder
    recorder.close()


@pytest.fixture
def reader(db):
    """The school's guard-tour reader (an HTTP device) and a fresh liveness directory."""
    school, checkpoints, plan = tour()
    device = DeviceFactory(school=school, kind=Device.Kind.PATROL_CHECKPOINT, protocol="http")
    fresh_liveness()
    yield device, checkpoints, plan
    liveness.reset()


def scan(device, code: str, at: dt.datetime, event_id: str) -> DeviceMessage:
    payload = {"event_id": event_id, "ts": at.isoformat(), "checkpoint_id": code, "card_id": "C1"}
    return DeviceMessage(device.device_id, "patrol", event_id, at, payload, "http")


def test_device_scans_through_the_ingestion_service_complete_a_round(reader, now):
    device, _checkpoints, _plan = reader
    services.ensure_rounds(DAY)
    for n, (code, minute) in enumerate([("A", "08:05"), ("B", "08:12"), ("C", "08:20")]):
        assert ingest(scan(device, code, local(DAY, minute), f"e{n}")).outcome == "accepted"
    assert TourScan.objects.filter(checkpoint__isnull=False).count() == 3
    assert DeviceEvent.objects.filter(kind="patrol").count() == 3  # the raw log stays
    now.set(local(DAY, "08:41"))
    services.sweep()
    assert TourRound.objects.get().status == "complete"
    assert not PatrolAlarm.objects.exists()


def test_a_retried_delivery_is_one_scan(reader, now):
    device, _checkpoints, _plan = reader
    first = ingest(scan(device, "A", local(DAY, "08:05"), "same"))
    second = ingest(scan(device, "A", local(DAY, "08:05"), "same"))
    assert (first.outcome, second.outcome) == ("accepted", "duplicate")
    assert TourScan.objects.count() == 1


def test_an_unknown_code_is_kept_but_counts_for_no_round(reader, now):
    device, _checkpoints, _plan = reader
    ingest(scan(device, "ZZ", local(DAY, "08:05"), "x1"))
    stored = TourScan.objects.get()
    assert (stored.code, stored.checkpoint_id) == ("ZZ", None)


def test_a_missed_checkpoint_raises_one_alarm_to_the_school_then_the_police(
    reader, now, events, django_capture_on_commit_callbacks
):
    device, checkpoints, _plan = reader
    services.ensure_rounds(DAY)
    ingest(scan(device, "A", local(DAY, "08:05"), "e1"))
    ingest(scan(device, "C", local(DAY, "08:20"), "e2"))
    now.set(local(DAY, "08:40"))  # B due 08:30, grace until 08:40 inclusive
    services.sweep()
    assert not PatrolAlarm.objects.exists()
    now.advance(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.sweep()
        services.sweep()  # a second sweep raises nothing new
    alarm = PatrolAlarm.objects.get()
    assert alarm.checkpoint == checkpoints[1] and alarm.school_id == device.school_id
    assert TourRound.objects.get().status == "missed"
    assert events.names("patrol.alarm") == ["patrol.alarm"]

    now.advance(minutes=15)
    with django_capture_on_commit_callbacks(execute=True):
        services.sweep()
    alarm.refresh_from_db()
    assert alarm.escalated_at == now.at
    assert events.names("patrol.alarm") == ["patrol.alarm", "patrol.alarm_escalated"]


def test_an_alarm_acknowledged_in_time_is_not_escalated(reader, now):
    device, _checkpoints, _plan = reader
    services.ensure_rounds(DAY)
    now.set(local(DAY, "09:00"))
    services.sweep()
    assert PatrolAlarm.objects.count() == 3
    head = UserFactory(role="school_admin", school=device.school)
    for alarm in PatrolAlarm.objects.all():
        services.acknowledge_alarm(alarm, head)
    now.advance(minutes=30)
    services.sweep()
    assert not PatrolAlarm.objects.filter(escalated_at__isnull=False).exists()
    with pytest.raises(services.PatrolError):
        services.resolve_alarm(PatrolAlarm.objects.first(), head, "  ")


def test_a_guard_records_a_scan_from_the_qr_page_once(client, now):
    school, checkpoints, _plan = tour()
    guard = UserFactory(role="guard", school=school)
    sign_in(client, guard)
    url = f"/patrols/scan/{checkpoints[0].pk}/"
    assert client.get(url + "?code=WRONG").status_code == 400
    page = client.get(url + "?code=A")
    assert page.status_code == 200 and "巡更点A" in page.content.decode()
    event_id = page.context["event_id"]
    for _ in range(2):  # a double tap
        response = client.post(url, {"code": "A", "event_id": event_id})
        assert response.status_code == 200
    assert TourScan.objects.filter(user=guard, checkpoint=checkpoints[0]).count() == 1
    assert client.post(url, {"code": "A", "event_id": ""}).status_code == 400


def test_a_guard_cannot_scan_another_schools_checkpoint(client, now):
    _school, checkpoints, _plan = tour()
    other_guard = UserFactory(role="guard", school=tour()[0])
    sign_in(client, other_guard)
    assert client.get(f"/patrols/scan/{checkpoints[0].pk}/?code=A").status_code == 404


def test_school_day_plans_skip_holidays_and_run_on_make_up_days(now):
    _school, _checkpoints, plan = tour(starts=("08:00", "12:00"))
    plan.days = TourPlan.Days.SCHOOL_DAYS
    plan.save()
    Holiday.objects.create(date=DAY, name="假日")
    Holiday.objects.create(date=dt.date(2026, 3, 7), name="调休", is_school_day=True)
    assert services.ensure_rounds(DAY) == 0
    assert services.ensure_rounds(dt.date(2026, 3, 7)) == 2  # a Saturday make-up day
    assert services.ensure_rounds(dt.date(2026, 3, 8)) == 0  # Sunday
    assert services.ensure_rounds(dt.date(2026, 3, 7)) == 0  # idempotent


def walk(school, checkpoints, hours, skip=()):
    """Scans of every checkpoint at hh:01, hh:02 … for each hour (``skip``: (hour, index))."""
    for hour in hours:
        for m, checkpoint in enumerate(checkpoints):
            if (hour, m) in skip:
                continue
            TourScan.objects.create(
                school=school, checkpoint=checkpoint, code=checkpoint.code, source="device",
                source_key="d0", event_id=f"{hour}-{m}",
                occurred_at=local(DAY, f"{hour}:0{m + 1}"), received_at=local(DAY, "18:00"),
            )  # fmt: skip


@pytest.mark.parametrize(("skip", "walked", "compliant"), [((), 5, True), ((("16", 2),), 4, False)])
def test_five_walked_rounds_make_a_compliant_day_four_do_not(now, skip, walked, compliant):
    hours = ["08", "10", "12", "14", "16"]
    school, checkpoints, _plan = tour(starts=tuple(f"{h}:00" for h in hours))
    services.ensure_rounds(DAY)
    walk(school, checkpoints, hours, skip)
    now.set(local(DAY, "23:00"))
    services.sweep()
    row = services.compliance(type(school).objects.filter(pk=school.pk), DAY)[school.pk]
    assert (row.rounds, row.walked, row.missed) == (5, walked, 5 - walked)
    assert row.is_compliant is compliant
