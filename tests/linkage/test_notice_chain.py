"""The forwarding chain: the city bureau passes a notice to district bureaus and police
stations, each forwards it to its own schools; receipts roll up to the city's notice;
who has not read — units and schools — is visible at each level."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campus_safety import clock
from campus_safety.audit.models import AuditEntry
from campus_safety.linkage import notices
from campus_safety.linkage.models import Notice, NoticeReceipt, NoticeRelay
from campus_safety.linkage.services import NotAllowed
from campus_safety.orgs.models import Organisation
from tests.factories import (
    CountyFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    city_region,
    sign_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    """A city bureau; two districts, each with a bureau and a station; three schools."""
    region = city_region()
    a = CountyFactory(code="371402", name="德城区", parent=region)
    b = CountyFactory(code="371403", name="陵城区", parent=region)
    city_bureau = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=region, name="市教体局"
    )
    bureau_a = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=a, name="德城区教体局"
    )
    bureau_b = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=b, name="陵城区教体局"
    )
    station_a = OrganisationFactory(
        kind=Organisation.Kind.POLICE_STATION, region=a, name="新华派出所"
    )
    a1 = SchoolFactory(region=a, police_station=station_a, name="德城一小")
    a2 = SchoolFactory(region=a, police_station=station_a, name="德城二小")
    b1 = SchoolFactory(region=b, name="陵城一小")
    users = {
        "city": UserFactory(username="city", role="education_staff", organisation=city_bureau),
        "a": UserFactory(username="bureau_a", role="education_staff", organisation=bureau_a),
        "b": UserFactory(username="bureau_b", role="education_staff", organisation=bureau_b),
        "station": UserFactory(username="station", role="police_officer", organisation=station_a),
        "a1": UserFactory(username="a1", role="school_admin", school=a1),
        "a2": UserFactory(username="a2", role="school_admin", school=a2),
        "b1": UserFactory(username="b1", role="school_admin", school=b1),
    }
    return {
        "units": {"a": bureau_a, "b": bureau_b, "station": station_a},
        "schools": {"a1": a1, "a2": a2, "b1": b1},
        "users": users,
    }


def send_down(city, **overrides):
    fields = {
        "title": "关于开展校园安全隐患排查的通知",
        "body": "请转发至辖区各校，并于周五前确认。",
        "target": {"units": [city["units"]["a"].pk, city["units"]["b"].pk]},
        "confirm_by": clock.now() + dt.timedelta(days=3),
    }
    fields.update(overrides)
    return notices.send_notice(city["users"]["city"], **fields)


def test_a_notice_to_units_makes_relays_not_receipts_and_the_units_see_it(city):
    notice = send_down(city)
    assert not NoticeReceipt.objects.filter(notice=notice).exists()
    assert set(notice.relays.values_list("organisation__name", flat=True)) == {
        "德城区教体局",
        "陵城区教体局",
    }
    users = city["users"]
    for who in ("a", "b", "city"):
        assert Notice.objects.visible_to(users[who]).filter(pk=notice.pk).exists(), who
    for who in ("a1", "station"):  # no school copy yet; the station was not passed it
        assert not Notice.objects.visible_to(users[who]).filter(pk=notice.pk).exists(), who
    assert not NoticeRelay.objects.visible_to(users["a1"]).exists()


def test_only_units_below_the_sender_can_be_passed_a_notice(city):
    with pytest.raises(ValidationError):
        notices.send_notice(
            city["users"]["a"],  # a district bureau cannot pass to the other district's
            title="t",
            body="b",
            target={"units": [city["units"]["b"].pk]},
        )
    assert list(notices.target_units(city["users"]["station"])) == []


def test_forwarding_reaches_the_units_schools_and_rolls_up(client, city):
    users, schools = city["users"], city["schools"]
    root = send_down(city)
    # District A forwards (with a note); district B has not even read it yet.
    child = notices.forward(users["a"], root, note="区教体局：请各校认真落实。")
    assert child.parent == root and child.kind == root.kind
    assert child.confirm_by == root.confirm_by
    assert child.body.startswith("区教体局") and root.body in child.body
    assert set(child.receipts.values_list("school_id", flat=True)) == {
        schools["a1"].pk,
        schools["a2"].pk,
    }
    relay = NoticeRelay.objects.get(notice=root, organisation=city["units"]["a"])
    assert relay.forwarded == child and relay.read_at is not None
    assert AuditEntry.objects.filter(action="notice.forward").exists()
    with pytest.raises(ValidationError):
        notices.forward(users["a"], root)  # once
    with pytest.raises(NotAllowed):
        notices.forward(users["station"], root)  # not passed to the station
    # One school reads and confirms its copy.
    notices.confirm(users["a1"], child, "已落实")

    tree = notices.chain(root)
    assert tree.total["units"] == 2
    assert tree.total["units_unread"] == 1 and tree.total["units_not_forwarded"] == 1
    assert tree.total["total"] == 2 and tree.total["read"] == 1
    assert tree.total["confirmed"] == 1
    assert (tree.unread, tree.unconfirmed) == (1, 1)

    # The city sees the chain: which unit has not read, which has not forwarded.
    sign_in(client, users["city"])
    page = client.get(reverse("linkage:notice_detail", args=[root.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and 'id="chain"' in body
    rows = {node.relay.organisation.name: node for _depth, node in page.context["chain_rows"]}
    assert rows["陵城区教体局"].relay.read_at is None
    assert rows["德城区教体局"].unread == 1
    # … and, one level down, which school has not read (the district's copy).
    unread = client.get(reverse("linkage:notice_detail", args=[child.pk]), {"show": "unread"})
    assert [r.school.name for r in unread.context["receipts"]] == ["德城二小"]

    # The district sees its own level: its schools, and where the notice came from.
    sign_in(client, users["a"])
    own = client.get(reverse("linkage:notice_detail", args=[child.pk]))
    assert own.context["parent"] == root
    assert own.context["totals"] == {"total": 2, "unread": 1, "pending": 1}


def test_opening_the_notice_marks_the_units_relay_read_and_the_form_forwards_it(client, city):
    users = city["users"]
    root = send_down(city, kind=Notice.Kind.WARNING, confirm_by=None)
    sign_in(client, users["b"])
    page = client.get(reverse("linkage:notice_detail", args=[root.pk]))
    assert page.status_code == 200 and 'id="forward-form"' in page.content.decode()
    relay = NoticeRelay.objects.get(notice=root, organisation=city["units"]["b"])
    assert relay.read_at is not None and relay.read_by == users["b"]
    response = client.post(
        reverse("linkage:notice_detail", args=[root.pk]), {"forward": "1", "note": "请转达"}
    )
    assert response.status_code == 302
    child = Notice.objects.get(parent=root)
    assert response["Location"] == reverse("linkage:notice_detail", args=[child.pk])
    assert child.kind == Notice.Kind.WARNING and child.banner_until is not None
    assert list(child.receipts.values_list("school__name", flat=True)) == ["陵城一小"]
    # the warning is on the school's banner now
    assert [n.pk for n in notices.active_warnings(users["b1"])] == [child.pk]
    # a school user posting "forward" is refused
    sign_in(client, users["b1"])
    refused = client.post(reverse("linkage:notice_detail", args=[child.pk]), {"forward": "1"})
    assert refused.status_code == 403


def test_a_district_can_pass_it_on_to_a_station_below_it(city):
    users = city["users"]
    root = send_down(city)
    child = notices.forward(users["a"], root, units=[city["units"]["station"].pk])
    assert NoticeRelay.objects.filter(notice=child, organisation=city["units"]["station"]).exists()
    grandchild = notices.forward(users["station"], child)
    assert set(grandchild.receipts.values_list("school__name", flat=True)) == {
        "德城一小",
        "德城二小",
    }
    tree = notices.chain(root)
    # the district's two schools got two copies each (its own and the station's): each
    # school counts once (tests/linkage/test_chain_rollup.py has the read/confirm cases)
    assert tree.total["units"] == 3 and tree.total["total"] == 2
    station_node = tree.children[0].children[0] if tree.children[0].children else None
    assert station_node is not None and station_node.relay.organisation.name == "新华派出所"


def test_the_api_sends_to_units_and_shows_the_chain_rolled_up(client, city):
    users = city["users"]
    sign_in(client, users["city"])
    created = client.post(
        "/api/v1/linkage/notices/",
        {
            "title": "关于开展校园安全隐患排查的通知",
            "body": "请转发至辖区各校。",
            "units": [city["units"]["a"].pk, city["units"]["b"].pk],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    root = Notice.objects.get(pk=created.json()["id"])
    notices.forward(users["a"], root)
    shown = client.get(f"/api/v1/linkage/notices/{root.pk}/").json()
    assert shown["title"] == root.title and shown["parent"] is None
    chain = shown["chain"]
    assert (chain["units"], chain["units_unread"], chain["units_not_forwarded"]) == (2, 1, 1)
    assert chain["schools"] == 2 and chain["read"] == 0
    names = {c["unit_name"]: c for c in chain["children"]}
    assert names["德城区教体局"]["forwarded_notice"] is not None
    assert names["陵城区教体局"]["read_at"] is None
    listing = client.get("/api/v1/linkage/notices/").json()
    assert all("chain" not in row for row in listing["results"])
    # a school reads its copy: no chain there
    child = Notice.objects.get(parent=root)
    sign_in(client, users["a1"])
    own = client.get(f"/api/v1/linkage/notices/{child.pk}/").json()
    assert own["parent"] == root.pk and own["chain"] is None


def test_a_unit_sees_its_own_level_not_its_sibling_units(client, city):
    root = send_down(city)
    sign_in(client, city["users"]["a"])
    page = client.get(reverse("linkage:notice_detail", args=[root.pk]))
    assert "chain" not in page.context and 'id="chain"' not in page.content.decode()
    assert client.get(f"/api/v1/linkage/notices/{root.pk}/").json()["chain"] is None
    sign_in(client, city["users"]["city"])
    assert client.get(f"/api/v1/linkage/notices/{root.pk}/").json()["chain"]["units"] == 2
