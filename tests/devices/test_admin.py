"""Device credentials in the admin are write-only."""

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
