"""The demo's forwarding chains (issue #20): the city education bureau → district bureaus
→ schools (the demo district also through the demo station), and the city police bureau
→ sub-bureaus → stations → schools, with the demo station left to forward — seeded the
same whatever hour the demo starts, nothing dated after "now"."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from campus_safety import clock as clock_module
from campus_safety.linkage import notices
from campus_safety.linkage.models import Notice, NoticeReceipt, NoticeRelay
from campus_safety.orgs.models import Organisation
from campus_safety.simulator import demo_linkage
from tests.factories import (
    CountyFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    city_region,
    sign_in,
)

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def org(kind: str, region, name: str, parent=None) -> Organisation:
    return OrganisationFactory(kind=kind, region=region, name=name, parent=parent)


@pytest.fixture
def small_city():
    """Two districts, each with an education bureau and a police sub-bureau with two
    stations of two schools each; the demo users."""
    K = Organisation.Kind
    city = city_region()
    city_edu = org(K.EDUCATION_BUREAU, city, "市教体局")
    city_police = org(K.POLICE_BUREAU, city, "市公安局")
    districts = {}
    for code, name in (("371402", "德城区"), ("371403", "陵城区")):
        county = CountyFactory(code=code, name=name)
        bureau = org(K.EDUCATION_BUREAU, county, f"{name}教体局", city_edu)
        sub = org(K.POLICE_SUB_BUREAU, county, f"{name}分局", city_police)
        stations = [org(K.POLICE_STATION, county, f"{name}{i}派出所", sub) for i in (1, 2)]
        schools = [
            SchoolFactory(region=county, police_station=station, has_police_room=False)
            for station in stations
            for _ in range(2)
        ]
        districts[code] = {"bureau": bureau, "sub": sub, "stations": stations, "schools": schools}
    demo = districts["371402"]
    users = [
        UserFactory(username="admin", role="system_admin", is_superuser=True, is_staff=True),
        UserFactory(username="dispatcher", role="dispatcher", organisation=city_police),
        UserFactory(username="police", role="police_officer", organisation=demo["stations"][0]),
        UserFactory(username="edu", role="education_staff", organisation=demo["bureau"]),
        UserFactory(username="school", role="school_admin", school=demo["schools"][0]),
    ]
    every_school = [s for d in districts.values() for s in d["schools"]]
    return {"districts": districts, "users": users, "schools": every_school}


def seed(small_city) -> dict[str, int]:
    return demo_linkage.write_linkage(random.Random(7), small_city["schools"], small_city["users"])


@pytest.mark.parametrize("hour", ["00:20", "07:00", "23:50"])
def test_both_chains_are_seeded_at_any_hour_with_nothing_in_the_future(small_city, clock, hour):
    clock_module.start_at(clock_module.parse_start(hour, SHANGHAI))
    counts = seed(small_city)
    now = clock_module.now()
    edu_root = Notice.objects.get(parent=None, title__startswith="关于做好寒假前")
    police_root = Notice.objects.get(parent=None, title__startswith="关于开展校园周边")
    assert counts["notice_relays"] == NoticeRelay.objects.count() > 0
    for notice in Notice.objects.all():
        assert notice.created_at <= now, notice
    chained = Notice.objects.filter(title__in=[edu_root.title, police_root.title])
    assert chained.count() > 2 and all(n.confirm_by > now for n in chained)
    for relay in NoticeRelay.objects.select_related("notice"):
        for moment in (relay.read_at, relay.forwarded_at):
            assert moment is None or relay.notice.created_at <= moment <= now
    for receipt in NoticeReceipt.objects.select_related("notice"):
        for moment in (receipt.read_at, receipt.confirmed_at):
            assert moment is None or receipt.notice.created_at <= moment <= now
        if receipt.confirmed_at:
            assert receipt.read_at <= receipt.confirmed_at

    # the education chain: two districts; the demo one forwarded and passed it to the
    # demo station, whose schools hold two copies and count once
    edu_tree = notices.chain(edu_root)
    assert edu_tree.total["units"] >= 3  # two districts and the demo station below one
    demo_bureau = small_city["districts"]["371402"]["bureau"]
    demo_node = next(c for c in edu_tree.children if c.relay.organisation_id == demo_bureau.pk)
    assert demo_node.relay.forwarded_id is not None
    assert demo_node.total["total"] == 4  # its four schools, two of them reached twice
    assert [c.relay.organisation.name for c in demo_node.children] == ["德城区1派出所"]

    # the police chain: sub-bureaus → stations; the demo station has read, not forwarded
    police_tree = notices.chain(police_root)
    demo_sub = small_city["districts"]["371402"]["sub"]
    sub_node = next(c for c in police_tree.children if c.relay.organisation_id == demo_sub.pk)
    assert sub_node.relay.forwarded_id is not None and len(sub_node.children) == 2
    police = small_city["users"][2]
    demo_station = next(
        c for c in sub_node.children if c.relay.organisation_id == police.organisation_id
    )
    assert demo_station.relay.read_at is not None and demo_station.relay.forwarded_id is None


def test_the_demo_users_see_their_part_of_the_chains(client, small_city, clock):
    seed(small_city)
    _admin, dispatcher, police, edu, _school = small_city["users"]
    police_root = Notice.objects.get(parent=None, title__startswith="关于开展校园周边")
    # the dispatcher sent the police chain: its page shows the whole chain
    sign_in(client, dispatcher)
    page = client.get(reverse("linkage:notice_detail", args=[police_root.pk]))
    assert page.status_code == 200 and 'id="chain"' in page.content.decode()
    # the demo station can forward the sub-bureau's copy passed to it
    sub_copy = Notice.objects.get(
        parent=police_root, sender_organisation=police.organisation.parent
    )
    sign_in(client, police)
    page = client.get(reverse("linkage:notice_detail", args=[sub_copy.pk]))
    assert 'id="forward-form"' in page.content.decode()
    child = notices.forward(police, sub_copy)
    assert child.receipts.count() == 2
    # the district bureau sees its forwarded copy and where it came from
    edu_root = Notice.objects.get(parent=None, title__startswith="关于做好寒假前")
    own = Notice.objects.get(parent=edu_root, sender_organisation=edu.organisation)
    sign_in(client, edu)
    page = client.get(reverse("linkage:notice_detail", args=[own.pk]))
    assert page.context["parent"] == edu_root and 'id="chain"' in page.content.decode()


def test_a_reseed_removes_the_chains(small_city, clock):
    seed(small_city)
    removed = demo_linkage.delete_city_linkage("3714")
    assert removed["notice"] > 0
    assert not Notice.objects.exists() and not NoticeRelay.objects.exists()
    clock_module.advance(hours=1)
    seed(small_city)
    assert Notice.objects.filter(parent=None, title__startswith="关于做好寒假前").count() == 1


def test_no_chain_without_the_city_units(clock):
    """A town without a city bureau above its district (the small demo of test_demo.py)
    seeds no chain and fails nothing."""
    county = CountyFactory(code="371402", name="德城区")
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=county)
    users = [UserFactory(username="edu", role="education_staff", organisation=bureau)]
    counts = demo_linkage.write_linkage(random.Random(1), [SchoolFactory(region=county)], users)
    assert counts["notice_relays"] == 0 and not NoticeRelay.objects.exists()
