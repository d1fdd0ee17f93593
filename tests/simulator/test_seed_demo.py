"""``campus-safety seed-demo`` on a real database: the whole city, its users and scopes."""

from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from campus_safety.accounts.models import User
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.simulator.demo_users import DEMO_USERS, PASSWORD, login_lines
from campus_safety.workforce.models import Guard
from tests.simulator.seeding import seeded_demo_city

pytestmark = pytest.mark.django_db


GATE_REGISTER = ("门岗登记终端", "access_controller")


@pytest.fixture(scope="module", autouse=True)
def demo_city(django_db_setup, django_db_blocker):
    with seeded_demo_city(django_db_blocker) as output:
        yield output


def inside(ring, lon, lat):
    """Ray casting, written again here so the test does not trust the generator's own."""
    crossings = 0
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            crossings += 1
    return crossings % 2 == 1


def test_the_city_and_its_eleven_divisions_are_regions_of_shandong():
    city = Region.objects.get(code="371400")
    assert (city.name, city.level, city.parent.code, city.parent.name) == (
        "德州市", "city", "370000", "山东省")  # fmt: skip
    assert city.children.filter(level="county").count() == 11
    assert all(r.outline["type"] == "Polygon" for r in city.children.all())


def test_every_school_lies_inside_its_division_outline():
    outlines = {r.pk: r.outline["coordinates"][0] for r in Region.objects.filter(level="county")}
    for region_id, lon, lat in School.objects.values_list("region_id", "longitude", "latitude"):
        assert inside(outlines[region_id], lon, lat), (region_id, lon, lat)


def test_school_codes_are_unique():
    assert School.objects.values("code").distinct().count() == 2029


def test_each_professional_guard_has_a_security_company():
    professional = Guard.objects.filter(kind="professional")
    assert professional.count() == 874
    assert not professional.filter(company__isnull=True).exists()
    assert set(professional.values_list("company__kind", flat=True)) == {"security_company"}


def test_each_school_answers_to_a_police_station_of_its_own_division():
    schools = School.objects.select_related("police_station")
    assert not schools.filter(police_station__isnull=True).exists()
    assert all(s.police_station.kind == "police_station"
               and s.police_station.region_id == s.region_id for s in schools)  # fmt: skip


def test_seeding_again_if_empty_changes_nothing():
    before = (School.objects.count(), Guard.objects.count(), User.objects.count())
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "already there" in out.getvalue()
    assert (School.objects.count(), Guard.objects.count(), User.objects.count()) == before


def test_seeding_a_database_with_schools_is_refused_without_force():
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", stdout=StringIO())


def test_there_is_one_demo_user_per_role_and_all_sign_in_with_the_demo_password():
    users = User.objects.filter(username__in=[u.username for u in DEMO_USERS])
    assert {u.role for u in users} == set(User.Role.values)
    assert len({u.password for u in users}) == 1  # one hash shared by all
    assert users[0].check_password(PASSWORD)


def test_only_the_admin_is_a_superuser():
    assert list(User.objects.filter(is_superuser=True).values_list("username", flat=True)) == [
        "admin"
    ]


@pytest.mark.parametrize("username", ["admin", "dispatcher", "auditor", "security"])
def test_city_wide_users_see_every_school(username):
    assert School.objects.visible_to(User.objects.get(username=username)).count() == 2029


def test_the_dispatcher_sits_in_the_city_police_bureau():
    dispatcher = User.objects.get(username="dispatcher")
    assert dispatcher.organisation.name == "德州市公安局"
    assert dispatcher.organisation.kind == Organisation.Kind.POLICE_BUREAU


def test_the_police_user_sees_exactly_the_schools_of_their_station():
    police = User.objects.get(username="police")
    station = police.organisation
    visible = School.objects.visible_to(police)
    assert station.kind == Organisation.Kind.POLICE_STATION
    assert station.region.code == "371402"
    assert set(visible) == set(School.objects.filter(police_station=station))
    assert visible.count() >= 10


def test_the_education_user_sees_decheng_district_only():
    edu = User.objects.get(username="edu")
    visible = School.objects.visible_to(edu)
    assert edu.organisation.name == "德城区教育和体育局"
    assert visible.count() == School.objects.filter(region__code="371402").count()
    assert set(visible.values_list("region__code", flat=True)) == {"371402"}


@pytest.mark.parametrize("username", ["school", "guard", "volunteer"])
def test_school_side_users_see_their_one_school_in_the_police_users_station(username):
    user = User.objects.get(username=username)
    police = User.objects.get(username="police")
    assert School.objects.visible_to(user).count() == 1
    assert user.school.police_station == police.organisation


def test_the_school_user_and_its_guard_and_volunteer_share_a_school():
    schools = User.objects.filter(username__in=["school", "guard", "volunteer"]).aggregate(
        n=Count("school", distinct=True)
    )
    assert schools["n"] == 1


def test_login_lines_name_every_demo_user_and_the_actual_scope():
    lines = login_lines()
    assert PASSWORD in lines[0]
    police = User.objects.get(username="police")
    assert any(line.startswith("police") and police.organisation.name in line for line in lines)
    assert len(lines) == 1 + len(DEMO_USERS)


# --- devices (设备) ---


def test_the_city_has_exactly_722_one_key_alarms_in_gate_rooms():
    from campus_safety.devices.models import Device

    alarms = Device.objects.filter(kind="one_key_alarm")
    assert alarms.count() == 722
    assert set(alarms.values_list("key_area", flat=True)) == {"gate_room"}
    assert alarms.values("school").distinct().count() == 722  # one per school that has one
    protocols = dict(alarms.values_list("protocol").annotate(n=Count("pk")))
    assert protocols["gb28181"] > protocols["mqtt"] > protocols["http"] > 0


def test_the_city_has_35600_or_more_cameras_all_behind_their_schools_nvr():
    from campus_safety.devices.models import Device

    cameras = Device.objects.filter(kind="camera")
    assert cameras.count() >= 35_600
    assert not cameras.filter(parent__isnull=True).exists()
    assert not cameras.exclude(parent__kind="nvr").exists()
    assert not cameras.exclude(parent__school=F("school")).exists()
    nvrs = Device.objects.filter(kind="nvr")
    assert nvrs.count() == 2029 and nvrs.values("school").distinct().count() == 2029


def test_device_ids_are_gb28181_ids_whose_type_fits_the_kind():
    from campus_safety.devices import identifiers
    from campus_safety.devices.models import Device
    from campus_safety.devices.services import type_mismatch

    rows = list(Device.objects.values_list("device_id", "kind", "school__region__code"))
    for device_id, kind, region in rows:
        assert identifiers.validate_device_id(device_id) and len(device_id) == 20
        assert device_id[:6] == region and device_id[8:10] == "11"
        assert type_mismatch(device_id, kind) == "", device_id


def test_only_http_devices_have_a_secret_and_no_device_has_its_own_password():
    from campus_safety.devices.models import Device

    rows = list(Device.objects.values_list("protocol", "password", "secret", "name", "kind"))
    assert all(password == "" for _, password, *_ in rows)
    # a school's gate register (gate.services.gate_device) is the platform's own alarm
    # source, made when the gate raises its first alarm: no secret, so nothing can send
    # as it over HTTP
    sent = [row for row in rows if (row[3], row[4]) != GATE_REGISTER]
    assert all((len(secret) == 32) == (protocol == "http") for protocol, _, secret, *_ in sent)
    assert all(row[2] == "" for row in rows if (row[3], row[4]) == GATE_REGISTER)
