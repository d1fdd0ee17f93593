"""The drill form's device field follows the chosen school (issue #14 item 3): a
dispatcher's scope holds hundreds of one-key alarms, so the list offers only the chosen
school's, fetched when the school changes, and the server accepts only those."""

import re

import pytest
from django.urls import reverse

from campus_safety.alarms.forms import TestWindowForm
from campus_safety.alarms.models import TestWindow
from tests.devices.support import DeviceFactory
from tests.factories import SchoolFactory, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_school(county, station):
    return SchoolFactory(region=county, police_station=station)


def _options(html: str) -> list[str]:
    return re.findall(r'<option value="(\d*)"', html)


def test_the_device_list_is_empty_until_a_school_is_chosen(device, other_school, dispatcher):
    DeviceFactory(school=other_school)
    form = TestWindowForm(user=dispatcher)
    assert list(form.fields["device"].queryset) == []
    assert _options(str(form["device"])) == [""]  # "every alarm device of the school"
    assert 'hx-trigger="change from:#id_school"' in str(form["device"])


def test_the_school_fetches_its_own_devices_only(client, device, other_school, dispatcher):
    elsewhere = DeviceFactory(school=other_school)
    sign_in(client, dispatcher)
    url = reverse("alarms:drill_devices")
    html = client.get(url, {"school": device.school_id}).content.decode()
    assert _options(html) == ["", str(device.pk)]
    html = client.get(url, {"school": other_school.pk}).content.decode()
    assert _options(html) == ["", str(elsewhere.pk)]
    assert _options(client.get(url).content.decode()) == [""]


def test_a_school_out_of_scope_is_not_found(client, device, school_admin, other_school):
    sign_in(client, school_admin)
    url = reverse("alarms:drill_devices")
    assert client.get(url, {"school": other_school.pk}).status_code == 404


def test_a_device_of_another_school_is_refused(client, clock, device, other_school, dispatcher):
    elsewhere = DeviceFactory(school=other_school)
    sign_in(client, dispatcher)
    response = client.post(
        reverse("alarms:drills"),
        {
            "school": device.school_id,
            "device": elsewhere.pk,
            "starts_at": "2026-12-08T10:00",
            "ends_at": "2026-12-08T11:00",
            "reason": "月度测试",
        },
    )
    assert response.status_code == 400
    assert "device" in response.context["form"].errors
    assert not TestWindow.objects.exists()


def test_a_school_admin_finds_its_school_chosen_and_its_devices_listed(
    device, school_admin, other_school
):
    DeviceFactory(school=other_school)
    form = TestWindowForm(user=school_admin)
    assert form.initial["school"] == device.school_id
    assert list(form.fields["device"].queryset) == [device]


@pytest.mark.parametrize("value", ["²", "9" * 30, "-1", "abc"])
def test_a_malformed_school_is_a_clear_answer_not_an_error(
    client, device, other_school, dispatcher, value
):
    sign_in(client, dispatcher)
    response = client.get(reverse("alarms:drill_devices"), {"school": value})
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert _options(response.content.decode()) == [""]


@pytest.mark.parametrize("value", ["²", "9" * 30])
def test_a_malformed_school_posted_is_a_form_error(client, clock, device, dispatcher, value):
    sign_in(client, dispatcher)
    response = client.post(
        reverse("alarms:drills"),
        {"school": value, "starts_at": "2026-12-08T10:00", "ends_at": "2026-12-08T11:00",
         "reason": "月度测试"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "school" in response.context["form"].errors
