"""factory_boy factories for the registry; one place, used by every test package."""

import factory

from campus_safety.accounts.models import User
from campus_safety.orgs.models import Organisation, Region, School
from campus_safety.workforce.models import Equipment, Guard

PASSWORD = "Test-pass-2026!"


OUTLINE = {"type": "Polygon", "coordinates": [[[116, 37], [117, 37], [117, 38], [116, 37]]]}


def city_region() -> Region:
    city, _ = Region.objects.get_or_create(
        code="371400", defaults={"name": "德州市", "level": "city"}
    )
    return city


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    # 371450-371479: never a code a test names (371400 city, 371402/371403 the
    # fixture counties), so a factory county is never a fixture's county by chance.
    code = factory.Sequence(lambda n: f"3714{50 + n % 30:02d}")
    name = factory.Sequence(lambda n: f"县{n}")
    level = "county"
    parent = factory.LazyFunction(city_region)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"单位{n}")
    kind = Organisation.Kind.POLICE_STATION
    region = factory.SubFactory(CountyFactory)


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    code = factory.Sequence(lambda n: f"{1371400000 + n:010d}")
    name = factory.Sequence(lambda n: f"测试第{n}小学")
    kind = School.Kind.PRIMARY
    students = 600
    boarders = 0
    staff = 40
    region = factory.SubFactory(CountyFactory)
    longitude = 116.3
    latitude = 37.45


class GuardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guard

    name = factory.Sequence(lambda n: f"保安{n}")
    kind = Guard.Kind.FULL_TIME
    school = factory.SubFactory(SchoolFactory)
    certificate_number = factory.Sequence(lambda n: f"SD{n:08d}")


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Equipment

    school = factory.SubFactory(SchoolFactory)
    kind = Equipment.Kind.BATON
    quantity = 4


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.DISPATCHER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def sign_in(client, user) -> None:
    """Log ``user`` in as if they had passed both factors (password and TOTP)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from campus_safety.accounts import two_factor

    client.force_login(user)
    if two_factor.required_for(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        device = device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
