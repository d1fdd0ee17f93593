"""Alarm test support: a school with a station chain, an alarm device, units, and a
helper that sends an alarm through the real ingestion entry point."""

from __future__ import annotations

import itertools

import factory

from campus_safety.alarms import services
from campus_safety.alarms.models import AlarmCase, PoliceUnit
from campus_safety.orgs.models import Organisation
from tests.factories import OrganisationFactory

_event_ids = itertools.count(1)


class PoliceUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PoliceUnit

    name = factory.Sequence(lambda n: f"巡逻车{n}")
    kind = PoliceUnit.Kind.PATROL_CAR
    organisation = factory.SubFactory(OrganisationFactory)
    longitude = 116.31
    latitude = 37.45


def station_chain(region) -> Organisation:
    """A police station under a sub-bureau under the city bureau (three levels)."""
    bureau = OrganisationFactory(kind=Organisation.Kind.POLICE_BUREAU, region=region)
    sub = OrganisationFactory(
        kind=Organisation.Kind.POLICE_SUB_BUREAU, region=region, parent=bureau
    )
    return OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=region, parent=sub)


def send_alarm(device, clock, *, priority: int = 1, is_test: bool = False) -> AlarmCase:
    """One alarm event as the gateway hands it over; returns the case it landed in."""
    from campus_safety.alarms.models import AlarmEvent

    now = clock.now()
    pk, _ = services.ingest_alarm(
        device_pk=device.pk,
        device_id=device.device_id,
        school_id=device.school_id,
        event_id=f"e{next(_event_ids)}",
        occurred_at=now,
        received_at=now,
        protocol=device.protocol,
        priority=priority,
        method=2,
        is_test=is_test,
    )
    return AlarmEvent.objects.get(pk=pk).case
