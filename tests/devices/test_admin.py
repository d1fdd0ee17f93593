"""Device credentials in the admin are write-only."""

from campus_safety.audit.models import AuditEntry
from campus_safety.devices.identifiers import make_device_id
from campus_safety.devices.models import Device
from tests.devices.support import SECRET, DeviceFactory
from tests.factories import sign_in


def test_the_device_form_never_shows_a_stored_secret_and_blank_keeps_it(client, admin_user):
    device = DeviceFactory(password="digest-pass-9")
    sign_in(client, admin_user)
    url = f"/admin/devices/device/{device.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert SECRET not in page.text and "digest-pass-9" not in page.text
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(school=device.school_id, name="改名", password="", secret="")
    data.pop("parent", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    device = Device.objects.get(pk=device.pk)
    assert (device.name, device.secret, device.password) == ("改名", SECRET, "digest-pass-9")


def approve_in_admin(client, admin_user, *devices):
    sign_in(client, admin_user)
    return client.post(
        "/admin/devices/device/",
        {"action": "approve", "_selected_action": [d.pk for d in devices]},
        follow=True,
    )


def test_the_admin_approves_through_the_service_channels_audit_and_directory(
    client, admin_user, live
):
    nvr = DeviceFactory(
        device_id=make_device_id("371402", "118", 1), kind="nvr", protocol="gb28181",
        is_approved=False,
    )  # fmt: skip
    channel = DeviceFactory(
        device_id=make_device_id("371402", "131", 2), kind="camera", protocol="gb28181",
        parent=nvr, school=nvr.school, is_approved=False,
    )  # fmt: skip
    live.directory.load()
    assert live.directory.get(channel.device_id) is None  # unapproved: unknown to the gateways

    page = approve_in_admin(client, admin_user, nvr)

    assert page.status_code == 200
    nvr.refresh_from_db()
    channel.refresh_from_db()
    assert (nvr.is_approved, channel.is_approved) == (True, True)
    assert AuditEntry.objects.filter(action="device.approve", object_id=str(nvr.pk)).exists()
    assert live.directory.get(channel.device_id) is not None


def test_the_admin_refuses_a_device_without_a_school_or_of_the_wrong_type_and_says_why(
    client, admin_user
):
    homeless = DeviceFactory(school=None, is_approved=False)
    mistyped = DeviceFactory(
        device_id=make_device_id("371402", "131", 3), kind="one_key_alarm", is_approved=False
    )
    fine = DeviceFactory(is_approved=False)

    page = approve_in_admin(client, admin_user, homeless, mistyped, fine)

    messages = [str(m) for m in page.context["messages"]]
    assert any(homeless.device_id in m for m in messages)
    assert any(mistyped.device_id in m for m in messages)
    approved = set(Device.objects.filter(is_approved=True).values_list("pk", flat=True))
    assert fine.pk in approved and not {homeless.pk, mistyped.pk} & approved


def test_approval_is_not_a_field_of_the_device_form(client, admin_user):
    device = DeviceFactory(is_approved=False)
    sign_in(client, admin_user)
    page = client.get(f"/admin/devices/device/{device.pk}/change/")
    assert "is_approved" not in page.context["adminform"].form.fields
