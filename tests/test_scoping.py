"""Default-deny scoping (scoping.py): each kind of scope sees exactly its schools."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import Http404
from django.test.utils import isolate_apps

from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.scoping import (
    ScopedQuerySet,
    check_scope_declarations,
    get_visible_or_404,
    region_prefix,
)
from campus_safety.workforce.models import Guard
from tests.factories import (
    CountyFactory,
    GuardFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_districts():
    decheng = CountyFactory(code="371402", name="德城区")
    lingcheng = CountyFactory(code="371403", name="陵城区")
    station = OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=decheng)
    a = SchoolFactory(region=decheng, police_station=station)
    b = SchoolFactory(region=decheng)
    c = SchoolFactory(region=lingcheng)
    for school in (a, b, c):
        GuardFactory(school=school)
    return {"decheng": decheng, "lingcheng": lingcheng, "station": station, "schools": (a, b, c)}


def visible_codes(user, model=School):
    return set(model.objects.visible_to(user).values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("code", "prefix"), [("371400", "3714"), ("370000", "37"), ("371402", "371402")]
)
def test_region_prefix_covers_subordinate_codes(code, prefix):
    assert region_prefix(code) == prefix


def test_anonymous_and_unscoped_users_see_nothing(two_districts):
    assert visible_codes(AnonymousUser()) == set()
    assert visible_codes(UserFactory()) == set()


def test_inactive_user_sees_nothing(two_districts):
    city = Region.objects.get(code="371400")
    assert visible_codes(UserFactory(region=city, is_active=False)) == set()


def test_city_region_scope_sees_every_district(two_districts):
    city = Region.objects.get(code="371400")
    assert visible_codes(UserFactory(region=city)) == {s.pk for s in two_districts["schools"]}


def test_district_region_scope_sees_only_its_district(two_districts):
    a, b, _ = two_districts["schools"]
    assert visible_codes(UserFactory(region=two_districts["decheng"])) == {a.pk, b.pk}


def test_police_station_sees_only_the_schools_it_is_responsible_for(two_districts):
    a, _, _ = two_districts["schools"]
    officer = UserFactory(role="police_officer", organisation=two_districts["station"])
    assert visible_codes(officer) == {a.pk}
    assert visible_codes(officer, Guard) == set(
        Guard.objects.filter(school=a).values_list("pk", flat=True)
    )


def test_education_bureau_sees_its_region(two_districts):
    bureau = OrganisationFactory(
        kind=Organisation.Kind.EDUCATION_BUREAU, region=two_districts["lingcheng"]
    )
    staff = UserFactory(role="education_staff", organisation=bureau)
    assert visible_codes(staff) == {two_districts["schools"][2].pk}


def test_school_scope_sees_only_its_school_even_with_a_wider_region(two_districts):
    a, _, _ = two_districts["schools"]
    user = UserFactory(role="school_admin", school=a, region=two_districts["decheng"])
    assert visible_codes(user) == {a.pk}


def test_superuser_sees_everything(two_districts):
    assert len(visible_codes(UserFactory(is_superuser=True))) == 3


def test_directory_models_are_readable_by_any_signed_in_user(two_districts):
    user = UserFactory(school=two_districts["schools"][2])
    assert Region.objects.visible_to(user).count() == Region.objects.count()
    assert Region.objects.visible_to(AnonymousUser()).count() == 0


# --- declarations are explicit (issue #13, defect 9) ---


def test_every_model_with_a_scoped_manager_declares_who_may_see_it():
    from django.core import checks

    from campus_safety.scoping import check_scope_declarations

    assert check_scope_declarations() == []
    assert [m for m in checks.run_checks() if m.id == "campus_safety.S001"] == []


@pytest.fixture
def undeclared():
    """A model with a scoped manager and no ``scope_paths``, in an app registry of its own."""
    with isolate_apps("campus_safety.orgs") as isolated:

        class Undeclared(models.Model):
            objects = ScopedQuerySet.as_manager()

            class Meta:
                app_label = "orgs"

            def __str__(self) -> str:
                return str(self.pk)

        yield Undeclared, isolated.get_app_config("orgs")


def test_an_undeclared_model_fails_the_system_check(undeclared):
    model, config = undeclared
    errors = check_scope_declarations(app_configs=[config])
    assert [(e.id, e.obj) for e in errors] == [("campus_safety.S001", model)]


def test_an_undeclared_model_is_visible_to_nobody_by_accident(undeclared):
    model, _ = undeclared
    admin = UserFactory.build(is_superuser=True)
    with pytest.raises(ImproperlyConfigured, match="declares no scope_paths"):
        model.objects.visible_to(admin)


def test_directories_are_readable_by_every_signed_in_user_and_nobody_else(two_districts):
    user = UserFactory()  # signed in, no scope at all
    assert Region.objects.visible_to(user).count() == Region.objects.count()
    assert Organisation.objects.visible_to(user).count() == Organisation.objects.count()
    assert not Region.objects.visible_to(AnonymousUser()).exists()


def test_police_units_are_seen_by_the_police_in_scope_only(two_districts):
    from campus_safety.alarms.models import PoliceUnit

    station = two_districts["station"]
    other = OrganisationFactory(
        kind=Organisation.Kind.POLICE_STATION, region=two_districts["lingcheng"]
    )
    ours = PoliceUnit.objects.create(name="巡逻车1", kind="patrol_car", organisation=station)
    theirs = PoliceUnit.objects.create(name="巡逻车2", kind="patrol_car", organisation=other)
    city = Region.objects.get(code="371400")
    a, _, _ = two_districts["schools"]

    def seen(user):
        return set(PoliceUnit.objects.visible_to(user).values_list("pk", flat=True))

    assert seen(UserFactory(role="dispatcher", region=city)) == {ours.pk, theirs.pk}
    assert seen(UserFactory(role="police_officer", organisation=station)) == {ours.pk}
    assert seen(UserFactory(role="school_admin", school=a)) == set()
    assert seen(UserFactory(role="education_staff", region=two_districts["decheng"])) == set()


def test_get_visible_or_404_hides_what_is_out_of_scope_and_malformed_keys(two_districts):
    a, b, c = two_districts["schools"]
    officer = UserFactory(role="police_officer", organisation=two_districts["station"])
    assert get_visible_or_404(School, officer, pk=a.pk) == a
    assert get_visible_or_404(School.objects.filter(region__code="371402"), officer, pk=a.pk)
    for lookup in ({"pk": b.pk}, {"pk": c.pk}, {"pk": "not-a-number"}, {"pk": 10**9}):
        with pytest.raises(Http404):
            get_visible_or_404(School, officer, **lookup)
