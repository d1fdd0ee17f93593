"""The picture-fault flag beside a device's status (set by video quality diagnosis):
it never changes the status liveness keeps, is recorded once per change in the status
history and is what the device filter's ``picture_fault`` finds."""

from django.http import QueryDict

from campus_safety.devices import services
from campus_safety.devices.filters import DeviceFilter
from campus_safety.devices.models import Device, StatusChange
from tests.devices.support import DeviceFactory


def test_the_flag_leaves_the_status_alone_and_is_recorded_once(clock):
    online = DeviceFactory(status=Device.Status.ONLINE)
    offline = DeviceFactory(status=Device.Status.OFFLINE)
    now = clock.now()
    changed = services.set_picture_faults({online.pk: ["blur"], offline.pk: ["no_signal"]}, now)
    assert changed == 2
    assert services.set_picture_faults({online.pk: ["blur"], offline.pk: ["no_signal"]}, now) == 0
    online.refresh_from_db()
    offline.refresh_from_db()
    assert (online.status, online.picture_faults, online.picture_fault_since) == (
        Device.Status.ONLINE,
        ["blur"],
        now,
    )
    assert offline.status == Device.Status.OFFLINE
    rows = StatusChange.objects.filter(device=online)
    assert [(r.from_status, r.to_status, r.reason) for r in rows] == [
        ("online", "online", "picture fault: blur")
    ]

    clock.advance(hours=1)
    services.set_picture_faults({online.pk: ["blur", "dark"]}, clock.now())
    online.refresh_from_db()
    assert online.picture_fault_since == now  # still faulty since the first fault
    services.set_picture_faults({online.pk: []}, clock.now())
    online.refresh_from_db()
    assert online.picture_faults == [] and online.picture_fault_since is None
    assert StatusChange.objects.filter(device=online).first().reason == "picture fine again"


def test_the_filter_finds_cameras_with_a_picture_fault(clock):
    faulty, fine = DeviceFactory(), DeviceFactory()
    services.set_picture_faults({faulty.pk: ["occluded"]}, clock.now())
    found = DeviceFilter(QueryDict("picture_fault=true"), queryset=Device.objects.all()).qs
    rest = DeviceFilter(QueryDict("picture_fault=false"), queryset=Device.objects.all()).qs
    assert list(found) == [faulty]
    assert list(rest) == [fine]
