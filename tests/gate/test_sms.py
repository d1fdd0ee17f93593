"""The gate's messages leave by SMS (messaging/): a refused pick-up tells the class
teacher and each active guardian, a pick-up code and a guardian link go to the person's
own phone; the pick-up log shows each notification's SMS state, and nothing is queued
for a refusal that rolled back."""

import pytest
from django.core import signing
from django.db import transaction
from django.urls import reverse

from campus_safety.gate import services
from campus_safety.gate.models import Pickup, PickupNotification
from campus_safety.messaging.models import OutboundMessage
from campus_safety.messaging.services import send_due
from tests.factories import sign_in

pytestmark = pytest.mark.django_db
TEACHER, MOTHER, FATHER = "13900000001", "13900000002", "13900000003"


@pytest.fixture
def child(school, school_admin, clock):
    student = services.save_student(
        school,
        by=school_admin,
        student_number="K001",
        name="小明",
        class_name="大一班",
        class_teacher="刘老师",
        teacher_phone=TEACHER,
    )
    mother = services.add_pickup_person(
        student, by=school_admin, name="小明妈妈", relation="mother", phone=MOTHER
    )
    father = services.add_pickup_person(
        student, by=school_admin, name="小明爸爸", relation="father", phone=FATHER
    )
    father.is_active = False  # no longer on the list: not told
    father.save(update_fields=["is_active"])
    return student, mother


def test_a_refused_pick_up_texts_the_teacher_and_each_active_guardian(child, school, guard):
    student, _mother = child
    result = services.release(student, school, by=guard, person_name="陌生人")
    assert result.pickup.outcome == Pickup.Outcome.REFUSED
    messages = OutboundMessage.objects.filter(purpose="pickup_refused")
    assert sorted(m.phone for m in messages) == [TEACHER, MOTHER]
    assert {m.recipient for m in messages} == {"刘**", "小***"}
    assert all(m.school == school and "大一班" in m.text and "小明" not in m.text for m in messages)
    notes = PickupNotification.objects.filter(pickup=result.pickup).select_related("sms")
    assert sorted(n.sms.phone for n in notes) == [TEACHER, MOTHER]
    assert {n.sms.state for n in notes} == {"pending"}


def test_a_refusal_that_rolls_back_queues_no_sms(child, school, guard):
    student, _mother = child

    class Aborted(Exception):
        pass

    with pytest.raises(Aborted), transaction.atomic():
        services.release(student, school, by=guard, person_name="陌生人")
        raise Aborted
    assert not OutboundMessage.objects.exists() and not Pickup.objects.exists()


def test_the_pick_up_log_shows_each_notification_s_sms_state(
    client, child, school, guard, school_admin, clock, settings
):
    settings.SMS_BACKEND = "log"
    student, _mother = child
    services.release(student, school, by=guard, person_name="陌生人")
    sign_in(client, school_admin)
    page = client.get(reverse("gate:pickups")).content.decode()
    assert page.count("Waiting to be sent") == 2
    send_due(clock.now())
    page = client.get(reverse("gate:pickups")).content.decode()
    assert page.count("Notified") == 2 and page.count(">Notified 小***: Sent<") == 1
    assert MOTHER not in page and TEACHER not in page


def test_a_pick_up_code_is_texted_to_its_person(child, school_admin, clock, settings):
    settings.SMS_BACKEND = "log"
    _student, mother = child
    issued, code = services.issue_pickup_code(mother, by=school_admin)
    message = OutboundMessage.objects.get(purpose="pickup_code")
    assert message.phone == MOTHER and code in message.text
    assert message.idempotency_key == f"gate.pickup-code:{issued.pk}"
    send_due(clock.now())
    message.refresh_from_db()
    assert message.state == "sent" and message.text == ""  # the code is not kept


def test_a_guardian_link_is_texted_with_the_platform_s_public_address(
    child, school_admin, clock, settings
):
    settings.PUBLIC_BASE_URL = "https://safety.dezhou.example"
    _student, mother = child
    services.approve_pickup_person(mother, by=school_admin)
    link, token = services.issue_guardian_link(mother, by=school_admin)
    message = OutboundMessage.objects.get(purpose="guardian_link")
    assert message.phone == MOTHER
    assert f"https://safety.dezhou.example/gate/guardian/?t={token}" in message.text
    assert signing.loads(token, salt=services.LINK_SALT)["l"] == link.pk
    assert services.guardian_link(token) == link


def test_the_release_page_says_the_code_is_texted(client, child, school_admin, clock):
    _student, mother = child
    sign_in(client, school_admin)
    response = client.post(reverse("gate:release"), {"issue_code": mother.pk})
    page = response.content.decode()
    assert "The code is also sent by SMS to 139****0002." in page and MOTHER not in page
    assert OutboundMessage.objects.filter(purpose="pickup_code").count() == 1
