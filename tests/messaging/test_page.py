"""The SMS page: a school sees its own messages — phone masked, codes never shown —
another school's administrator sees none of them; filters; bounded queries."""

import pytest
from django.core import checks
from django.db import transaction
from django.urls import reverse

from campus_safety.messaging import services
from campus_safety.messaging.models import OutboundMessage
from tests.factories import UserFactory, sign_in

pytestmark = pytest.mark.django_db
PHONE = "13900000002"


def queue(school, key, purpose="pickup_refused", text="大一班 小*: 接送被拒"):
    with transaction.atomic():
        return services.enqueue(
            purpose=purpose, phone=PHONE, text=text, recipient="小***", key=key, school=school
        )


def test_the_school_sees_its_messages_masked_and_without_codes(client, school, school_admin):
    queue(school, "note")
    queue(school, "code", purpose="pickup_code", text="接送码 ABCD-EFGH")
    sign_in(client, school_admin)
    response = client.get(reverse("messaging:messages"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("139****0002") == 2 and PHONE not in page
    assert "接送被拒" in page and "ABCD" not in page
    assert "待发送" in page and "接送码" in page  # Chinese first: the purpose's label


def test_another_school_s_administrator_sees_none_of_them(client, school, other_admin):
    queue(school, "note")
    sign_in(client, other_admin)
    page = client.get(reverse("messaging:messages")).content.decode()
    assert "139****0002" not in page and "暂无" in page


def test_the_education_bureau_sees_its_region_and_a_volunteer_nothing(client, school, county):
    from campus_safety.orgs.models import Organisation

    queue(school, "note")
    bureau = Organisation.objects.create(
        name="德城区教育和体育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=county
    )
    sign_in(client, UserFactory(role="education_staff", organisation=bureau))
    assert "139****0002" in client.get(reverse("messaging:messages")).content.decode()
    client.logout()
    sign_in(client, UserFactory(role="volunteer", school=school))
    assert client.get(reverse("messaging:messages")).status_code == 403


def test_filters_by_state_and_purpose(client, school, school_admin, clock):
    queue(school, "note")
    queue(school, "code", purpose="pickup_code", text="接送码 ABCD-EFGH")
    OutboundMessage.objects.filter(idempotency_key="note").update(state="failed", last_error="E1")
    sign_in(client, school_admin)
    url = reverse("messaging:messages")
    failed = client.get(url, {"state": "failed"}, headers={"HX-Request": "true"})
    assert failed.content.decode().count("139****0002") == 1 and "E1" in failed.content.decode()
    codes = client.get(url, {"purpose": "pickup_code"}).content.decode()
    assert codes.count("139****0002") == 1 and "E1" not in codes


def test_the_page_s_queries_do_not_grow_with_its_rows(
    client, school, school_admin, django_assert_max_num_queries
):
    for n in range(30):
        queue(school, f"k-{n}")
    sign_in(client, school_admin)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("messaging:messages")).status_code == 200


def test_the_checks_refuse_an_unusable_gateway_setting(settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = "ftp://sms.example"
    settings.SMS_HTTP_SECRET = ""
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    ids = {m.id for m in checks.run_checks() if m.id.startswith("messaging.")}
    assert ids == {"messaging.E002", "messaging.E003", "messaging.W001"}
    settings.SMS_BACKEND = "carrier-pigeon"
    assert {m.id for m in checks.run_checks() if m.id.startswith("messaging.")} == {
        "messaging.E001"
    }
