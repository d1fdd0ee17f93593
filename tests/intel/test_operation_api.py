"""What a special operation did, over REST: arrests and patrols listed and recorded,
leads linked and unlinked — the page's validation (400 with the reason, in Chinese),
its services and audit entries, police only, scoped like the page."""

from __future__ import annotations

import datetime as dt

import pytest

from campus_safety.accounts.tokens import create_token
from campus_safety.audit.models import AuditEntry
from campus_safety.intel import services
from campus_safety.intel.models import OperationEntry
from tests.factories import UserFactory, sign_in

from .support import at

pytestmark = pytest.mark.django_db
START, END = dt.date(2026, 6, 1), dt.date(2026, 6, 30)
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def op(world, clock):
    clock.start_at(at(dt.date(2026, 6, 20), 18))
    return services.create_operation(
        name="护校专项",
        starts_on=START,
        ends_on=END,
        user=world["officer"],
        school_ids=[world["school"].pk],
    )


def _url(operation, what, reference=""):
    tail = f"{reference}/" if reference else ""
    return f"/api/v1/intel/operations/{operation.pk}/{what}/{tail}"


def _lead(school, summary="校门口有人兜售管制刀具"):
    return services.submit_lead(
        source="police", summary=summary, latitude=school.latitude, longitude=school.longitude
    )


def _post(client, url, data, **extra):
    return client.post(url, data, content_type="application/json", **extra)


def test_officer_records_arrests_patrols_and_links_a_lead_with_a_token(client, world, op):
    """A client with a personal API token, as a station's system would."""
    _row, token = create_token(world["officer"], "station system")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    incident = services.record_incident(
        kind="theft",
        occurred_at=at(dt.date(2026, 6, 4)),
        latitude=world["school"].latitude,
        longitude=world["school"].longitude,
        source="manual",
    )
    lead = _lead(world["school"])

    arrest = _post(
        client,
        _url(op, "arrests"),
        {"day": "2026-06-05", "persons": 3, "incident": incident.reference, "place": "长江路"},
        **auth,
    )
    assert arrest.status_code == 201, arrest.content.decode()
    body = arrest.json()
    assert (body["day"], body["persons"], body["incident"], body["place"]) == (
        "2026-06-05", 3, incident.reference, "长江路",
    )  # fmt: skip
    assert body["recorded_by"] == world["officer"].username
    patrol = _post(
        client,
        _url(op, "patrols"),
        {"day": "2026-06-06", "officers": 4, "hours": 2.5, "note": "放学"},
        **auth,
    )
    assert patrol.status_code == 201, patrol.content.decode()
    assert (patrol.json()["officers"], patrol.json()["hours"]) == (4, 2.5)
    linked = _post(client, _url(op, "leads"), {"lead": lead.reference}, **auth)
    assert linked.status_code == 201, linked.content.decode()
    assert linked.json()["lead"] == lead.reference and linked.json()["lead_id"] == lead.pk
    assert linked.json()["day"] == "2026-06-20"  # today, inside the period

    arrests = client.get(_url(op, "arrests"), **auth).json()
    assert arrests["count"] == 1 and arrests["results"][0]["persons"] == 3
    suffixed = client.get(f"/api/v1/intel/operations/{op.pk}/arrests.json", **auth)
    assert suffixed.json() == arrests
    patrols = client.get(_url(op, "patrols"), **auth).json()
    assert [p["officers"] for p in patrols["results"]] == [4]
    leads = client.get(_url(op, "leads"), **auth).json()
    assert [x["lead"] for x in leads["results"]] == [lead.reference]
    assert services.operation_totals(op) == {
        "leads": 1, "arrests": 3, "patrols": 1, "officer_hours": 10.0,
    }  # fmt: skip

    named = AuditEntry.objects.filter(action="intel.operation.entry").order_by("pk")
    assert [e.detail["kind"] for e in named] == ["arrest", "patrol", "lead"]
    assert {e.user_id for e in named} == {world["officer"].pk}
    assert named.last().detail["lead"] == lead.reference
    assert {e.object_id for e in named} == {str(op.pk)}


def test_unlinking_a_lead_removes_the_link_keeps_the_lead_and_is_audited(client, world, op):
    lead = _lead(world["school"])
    services.add_operation_entry(
        op, user=world["officer"], kind="lead", day=START, lead_reference=lead.reference
    )
    sign_in(client, world["officer"])
    response = client.delete(_url(op, "leads", lead.reference))
    assert response.status_code == 204
    assert not op.entries.exists()
    lead.refresh_from_db()  # the lead itself stays
    entry = AuditEntry.objects.get(action="intel.operation.unlink")
    assert entry.user == world["officer"] and entry.object_id == str(op.pk)
    assert entry.detail == {"kind": "lead", "day": "2026-06-01", "lead": lead.reference}
    again = client.delete(_url(op, "leads", lead.reference))
    assert again.status_code == 404
    # offered again on the page, and linkable again
    assert services.suggested_leads(op, world["officer"], dt.date(2026, 6, 20)) == [lead]
    assert _post(client, _url(op, "leads"), {"lead": lead.reference}).status_code == 201


@pytest.mark.parametrize(
    ("what", "data", "field", "reason"),
    [
        ("arrests", {"day": "2026-05-31", "persons": 1}, "day", "日期不在专项行动期间内"),
        ("arrests", {"day": "2026-06-21", "persons": 1}, "day", "日期不能晚于今天"),
        ("arrests", {"day": "2026-06-10", "persons": 0}, "persons", "抓获人数须为1至500人"),
        ("arrests", {"day": "2026-06-10", "persons": 1, "incident": "SJ0"}, "incident", "没有"),
        ("arrests", {"persons": 1}, "day", "必填"),
        ("patrols", {"day": "2026-06-10", "officers": 2, "hours": 0}, "hours", "巡逻时长"),
        ("patrols", {"day": "2026-06-10", "officers": 2, "hours": 30}, "hours", "巡逻时长"),
        ("patrols", {"day": "2026-06-10", "officers": 0, "hours": 2}, "persons", "巡逻警力"),
        ("leads", {"lead": "XS-NOPE", "day": "2026-06-10"}, "lead", "没有该编号的线索"),
        ("leads", {"lead": "XS-NOPE", "day": "2026-07-02"}, "day", "日期不在专项行动期间内"),
    ],
)
def test_bad_input_is_400_with_the_reason_in_chinese(client, world, op, what, data, field, reason):
    sign_in(client, world["officer"])
    response = _post(client, _url(op, what), data, **ZH)
    assert response.status_code == 400
    body = response.json()
    assert reason in " ".join(map(str, body.get(field, []))), body
    assert not OperationEntry.objects.exists()
    assert not AuditEntry.objects.filter(action="intel.operation.entry").exists()


def test_a_lead_twice_and_another_stations_lead_are_refused(client, world, op):
    sign_in(client, world["officer"])
    mine = _lead(world["school"])
    assert _post(client, _url(op, "leads"), {"lead": mine.reference}).status_code == 201
    twice = _post(client, _url(op, "leads"), {"lead": mine.reference}, **ZH)
    assert twice.status_code == 400 and "已关联" in twice.json()["lead"][0]
    elsewhere = _lead(world["other"])  # 陵城区's lead: not the officer's to see
    response = _post(client, _url(op, "leads"), {"lead": elsewhere.reference}, **ZH)
    assert response.status_code == 400 and "没有该编号的线索" in response.json()["lead"][0]
    assert op.entries.count() == 1


def test_another_station_gets_404_a_school_and_the_bureau_403(client, world, op):
    lead = _lead(world["school"])
    services.add_operation_entry(
        op, user=world["officer"], kind="lead", day=START, lead_reference=lead.reference
    )
    services.add_operation_entry(op, user=world["officer"], kind="arrest", day=START, persons=2)
    other_officer = UserFactory(role="police_officer", organisation=world["other"].police_station)
    arrest = {"day": "2026-06-10", "persons": 1}
    for user, expected in (
        (other_officer, 404),  # the operation is outside its area: it does not exist
        (world["school_admin"], 403),  # no operations at all
        (world["education"], 403),  # reads the totals on the page, never the records
    ):
        client.logout()
        sign_in(client, user)
        for what in ("arrests", "patrols", "leads"):
            assert client.get(_url(op, what)).status_code == expected, (user.role, what)
        assert _post(client, _url(op, "arrests"), arrest).status_code == expected, user.role
        assert _post(client, _url(op, "leads"), {"lead": lead.reference}).status_code == expected
        assert client.delete(_url(op, "leads", lead.reference)).status_code == expected
    assert op.entries.count() == 2
    assert not AuditEntry.objects.filter(action="intel.operation.unlink").exists()
    # the bureau still reads the operation and its totals
    assert client.get(f"/api/v1/intel/operations/{op.pk}/").json()["totals"]["arrests"] == 2


def test_a_dispatcher_above_the_station_reaches_the_records(client, world, op):
    """A bureau's dispatcher covers its district: the station's operation is in scope."""
    bureau = world["school"].police_station.parent.parent
    dispatcher = UserFactory(role="dispatcher", organisation=bureau)
    sign_in(client, dispatcher)
    response = _post(client, _url(op, "patrols"), {"day": "2026-06-10", "officers": 6, "hours": 4})
    assert response.status_code == 201, response.content.decode()
    assert client.get(_url(op, "patrols")).json()["count"] == 1


def test_the_endpoints_are_in_the_openapi_schema(client, world):
    sign_in(client, world["officer"])
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    base = "/api/v1/intel/operations/{id}/"
    assert {"get", "post"} <= set(schema["paths"][base + "arrests/"])
    assert {"get", "post"} <= set(schema["paths"][base + "patrols/"])
    assert {"get", "post"} <= set(schema["paths"][base + "leads/"])
    assert "delete" in schema["paths"][base + "leads/{reference}/"]
