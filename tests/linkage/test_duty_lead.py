"""A problem a police room found can become an intel lead (issue #20 item 1): police
only, placed at the room's school (so its station sees it and no school does), linked
from the duty log, once, audited."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campus_safety.audit.models import AuditEntry
from campus_safety.intel.models import Lead
from campus_safety.linkage import services
from campus_safety.linkage.models import DutyLog, PoliceRoom
from campus_safety.linkage.services import NotAllowed
from tests.factories import SchoolFactory, sign_in
from tests.linkage.support import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    w = make_world()
    # A second school at the very same point: the lead must still sit at the room's.
    SchoolFactory(region=w.county, police_station=w.other_station, name="同址学校")
    return w


def room(world):
    return PoliceRoom.objects.get(school=world.school)


def test_recording_a_problem_as_a_lead_files_a_hazard_and_a_lead(world):
    log = services.record_duty(
        world.officer,
        room(world),
        kind="problem",
        notes="放学时段校门口有两名陌生男子多次向学生搭讪",
        problem_title="校门口陌生人搭讪",
        as_lead=True,
    )
    log.refresh_from_db()
    assert log.hazard is not None and log.lead is not None
    lead = log.lead
    assert lead.source == Lead.Source.POLICE and lead.reported_by == world.officer
    assert (lead.school_id, lead.police_station_id, lead.region_id) == (
        world.school.pk,
        world.station.pk,
        world.county.pk,
    )
    assert "校门口陌生人搭讪" in lead.summary and world.school.name in lead.summary
    assert Lead.objects.visible_to(world.officer).filter(pk=lead.pk).exists()
    for other in (world.contact, world.bureau_staff, world.other_officer):
        assert not Lead.objects.visible_to(other).filter(pk=lead.pk).exists()
    entry = AuditEntry.objects.get(action="duty_log.lead")
    assert entry.detail["lead"] == lead.reference


def test_an_earlier_problem_becomes_a_lead_from_the_page_once(client, world):
    log = services.record_duty(
        world.officer,
        room(world),
        kind="problem",
        notes="围墙外有人售卖管制刀具",
        problem_title="售刀",
    )
    assert log.lead is None
    sign_in(client, world.officer)
    url = reverse("linkage:room_detail", args=[world.school.pk])
    page = client.get(url)
    assert 'name="to_lead"' in page.content.decode()
    response = client.post(url, {"to_lead": log.pk})
    assert response.status_code == 302
    log.refresh_from_db()
    assert log.lead is not None and log.lead.school_id == world.school.pk
    assert log.lead.reference in client.get(url).content.decode()
    assert client.post(url, {"to_lead": log.pk}).status_code == 409
    assert Lead.objects.count() == 1


def test_only_police_turn_problems_into_leads_and_only_problems(client, world):
    log = services.record_duty(
        world.officer, room(world), kind="problem", notes="路口无人值守", problem_title="路口"
    )
    visit = services.record_duty(world.officer, room(world), kind="visit", notes="走访")
    with pytest.raises(NotAllowed):
        services.duty_problem_to_lead(world.bureau_staff, log)
    with pytest.raises(ValidationError):
        services.duty_problem_to_lead(world.officer, visit)
    with pytest.raises(NotAllowed):  # another station's officer: not his school
        services.duty_problem_to_lead(world.other_officer, log)
    sign_in(client, world.contact)
    url = reverse("linkage:room_detail", args=[world.school.pk])
    assert 'name="to_lead"' not in client.get(url).content.decode()
    assert client.post(url, {"to_lead": log.pk}).status_code == 403
    assert not Lead.objects.exists()
    assert DutyLog.objects.get(pk=log.pk).lead is None
