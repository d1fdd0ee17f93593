"""Writing and deleting the demo city (small samples, so each test seeds its own)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.simulator.city import build_city
from campus_safety.simulator.loading import delete_demo_city
from campus_safety.workforce.models import Equipment, Guard
from tests.factories import SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db


def snapshot():
    """Every seeded value as plain tuples, keyed by natural codes rather than ids."""
    return {
        "regions": list(Region.objects.values_list("code", "name", "level", "parent__code",
                                                   "outline")),
        "organisations": list(Organisation.objects.order_by("name").values_list(
            "name", "kind", "region__code", "parent__name", "phone", "address", "longitude",
            "latitude")),
        "schools": [
            (s.code, s.name, s.kind, s.students, s.boarders, s.staff, s.longitude, s.latitude,
             s.police_station.name, s.principal_name, s.principal_phone, s.police_room_phone)
            for s in School.objects.select_related("police_station")
        ],
        "guards": [
            (g.school.code, g.kind, g.name, g.phone, g.id_number, g.certificate_number,
             g.hired_on, g.company and g.company.name)
            for g in Guard.objects.select_related("school", "company").order_by("pk")
        ],
        "equipment": list(Equipment.objects.values_list("school__code", "kind", "quantity")),
    }  # fmt: skip


def seed(*args):
    call_command("seed_demo", "--schools", "60", *args, "--verbosity", "0", stdout=StringIO())


def test_seeding_the_same_seed_twice_writes_the_same_rows():
    seed("--seed", "5")
    first = snapshot()
    seed("--seed", "5", "--force")
    assert snapshot() == first


def test_seeding_another_seed_with_force_replaces_the_city():
    seed("--seed", "5")
    first = snapshot()
    seed("--seed", "6", "--force")
    assert snapshot()["schools"] != first["schools"]
    assert School.objects.count() == 60


def test_the_database_holds_what_the_plan_says():
    seed("--seed", "5")
    plan = build_city(5, schools=60)
    assert sorted(School.objects.values_list("code", flat=True)) == sorted(
        s.code for s in plan.schools
    )
    assert Guard.objects.count() == len(plan.guards)
    assert sum(Equipment.objects.values_list("quantity", flat=True)) == sum(
        e.quantity for e in plan.equipment
    )


def test_force_deletes_only_the_demo_city_and_demo_users():
    seed()
    keeper = UserFactory(username="keeper")
    delete_demo_city()
    assert not Region.objects.filter(code__startswith="3714").exists()
    assert not School.objects.exists() and not Guard.objects.exists()
    assert list(type(keeper).objects.values_list("username", flat=True)) == ["keeper"]


def test_force_refuses_when_other_rows_still_point_at_a_demo_school():
    seed()
    UserFactory(username="attached", school=School.objects.first())
    with pytest.raises(CommandError, match="Cannot delete the demo city"):
        seed("--force")


def test_seeding_refuses_a_database_with_schools_from_elsewhere():
    SchoolFactory()
    with pytest.raises(CommandError, match="already has schools"):
        seed()
