"""Live device state: keepalives cost nothing, transitions are written once and told once."""

import datetime as dt

from campus_safety.audit.models import AuditEntry
from campus_safety.devices import liveness
from campus_safety.devices.models import Device, MaintenanceWindow, StatusChange
from campus_safety.devices.services import faults_to_repair
from tests.devices.support import DeviceFactory, fresh_liveness


def statuses(*devices) -> list[str]:
    return [Device.objects.get(pk=d.pk).status for d in devices]


def test_a_keepalive_runs_no_query_and_writes_no_row(live, django_assert_num_queries):
    device = DeviceFactory()
    live.directory.load()
    with django_assert_num_queries(0):
        for _ in range(100):
            assert liveness.record_keepalive(device.device_id, protocol="mqtt")
    assert not StatusChange.objects.exists()


def test_an_unknown_device_is_turned_away_without_a_query(live, django_assert_num_queries):
    DeviceFactory()
    live.directory.load()
    with django_assert_num_queries(0):
        assert not liveness.record_keepalive("37140200111347999999")


def test_an_unapproved_device_or_the_wrong_protocol_is_turned_away(live):
    pending = DeviceFactory(is_approved=False)
    mqtt_device = DeviceFactory(protocol="mqtt")
    assert not liveness.record_keepalive(pending.device_id)
    assert not liveness.record_keepalive(mqtt_device.device_id, protocol="gb28181")
    assert liveness.record_keepalive(mqtt_device.device_id, protocol="mqtt")


def test_device_goes_offline_after_interval_times_count_without_keepalive(
    live, clock, events, django_capture_on_commit_callbacks
):
    device = DeviceFactory(keepalive_interval=60, keepalive_count=3)
    live.start(clock.now())
    liveness.record_keepalive(device.device_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert [t.to_status for t in live.sweep()] == ["online"]
    clock.advance(seconds=179)
    assert live.sweep() == []
    clock.advance(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        (offline,) = live.sweep()
    assert (offline.from_status, offline.to_status) == ("online", "offline")
    assert offline.reason == "no keepalive for 180 s"
    assert statuses(device) == ["offline"]
    assert events.names("device.") == ["device.online", "device.offline"]
    change = StatusChange.objects.filter(device=device).first()
    assert (change.from_status, change.to_status) == ("online", "offline")


def test_device_comes_back_online_on_its_next_keepalive(live, clock):
    device = DeviceFactory(keepalive_interval=10, keepalive_count=2)
    live.start(clock.now())
    liveness.record_keepalive(device.device_id)
    live.sweep()
    clock.advance(seconds=25)
    live.sweep()
    assert statuses(device) == ["offline"]
    liveness.record_keepalive(device.device_id)
    (back,) = live.sweep()
    assert (back.from_status, back.to_status) == ("offline", "online")
    assert statuses(device) == ["online"]


def test_status_transitions_leave_no_audit_entries(live, clock):
    device = DeviceFactory(keepalive_interval=10, keepalive_count=2)
    entries = AuditEntry.objects.count()
    live.start(clock.now())
    liveness.record_keepalive(device.device_id)
    live.sweep()
    clock.advance(seconds=25)
    live.sweep()
    live.flush_last_seen()
    assert StatusChange.objects.count() == 2
    assert AuditEntry.objects.count() == entries


def test_an_expired_registration_takes_a_device_offline_before_its_keepalive_deadline(
    live, clock, settings
):
    settings.LIVENESS_RESTART_GRACE_SECONDS = 0
    device = DeviceFactory(protocol="gb28181", keepalive_interval=60, keepalive_count=3)
    live.start(clock.now())
    assert liveness.record_registration(device.device_id, 100, remote="10.0.0.5:5060")
    live.sweep()
    clock.advance(seconds=90)
    liveness.record_keepalive(device.device_id)
    clock.advance(seconds=10)
    (offline,) = live.sweep()
    assert offline.reason == "registration expired or withdrawn"


def test_unregistering_takes_a_device_offline_at_the_next_sweep(live, clock, settings):
    settings.LIVENESS_RESTART_GRACE_SECONDS = 0
    device = DeviceFactory(protocol="gb28181")
    live.start(clock.now())
    liveness.record_registration(device.device_id, 3600)
    live.sweep()
    liveness.record_registration(device.device_id, 0)
    clock.advance(seconds=1)
    assert [t.to_status for t in live.sweep()] == ["offline"]


def test_after_a_restart_devices_get_a_grace_period_instead_of_an_offline_storm(live, clock):
    long_ago = clock.now() - dt.timedelta(hours=1)
    devices = DeviceFactory.create_batch(
        5, status="online", status_since=long_ago, last_seen_at=long_ago
    )
    restarted = fresh_liveness()
    restarted.start(clock.now())
    assert restarted.sweep() == []
    clock.advance(seconds=170)
    for device in devices[:3]:  # these check in during the grace period
        liveness.record_keepalive(device.device_id)
    assert restarted.sweep() == []
    clock.advance(seconds=10)  # grace (one offline interval, 180 s) is over
    offline = restarted.sweep()
    assert sorted(t.device_id for t in offline) == sorted(d.device_id for d in devices[3:])
    assert statuses(*devices) == ["online"] * 3 + ["offline"] * 2


def test_the_restart_grace_can_be_set(live, clock, settings):
    settings.LIVENESS_RESTART_GRACE_SECONDS = 30
    long_ago = clock.now() - dt.timedelta(hours=1)
    DeviceFactory(status="online", status_since=long_ago, last_seen_at=long_ago)
    live.start(clock.now())
    clock.advance(seconds=29)
    assert live.sweep() == []
    clock.advance(seconds=1)
    assert [t.to_status for t in live.sweep()] == ["offline"]


def flap(live, clock, device, times: int) -> None:
    """Alternate offline/online ``times`` times (10 s × 2 device)."""
    for _ in range(times):
        clock.advance(seconds=21)
        live.sweep()  # offline
        liveness.record_keepalive(device.device_id)
        live.sweep()  # online


def test_a_flapping_device_is_announced_once(
    live, clock, events, settings, django_capture_on_commit_callbacks
):
    settings.LIVENESS_FLAP_CHANGES = 4
    device = DeviceFactory(keepalive_interval=10, keepalive_count=2)
    live.start(clock.now())
    liveness.record_keepalive(device.device_id)
    with django_capture_on_commit_callbacks(execute=True):
        live.sweep()
        flap(live, clock, device, 6)
    assert events.names("device.") == [
        "device.online",
        "device.offline",
        "device.online",
        "device.offline",
        "device.flapping",
    ]
    assert Device.objects.get(pk=device.pk).is_flapping
    # every change is still recorded: 1 + 12 transitions and the flapping marker
    assert StatusChange.objects.filter(device=device).count() == 14


def test_a_flapping_device_is_quiet_again_after_a_stable_period(
    live, clock, events, settings, django_capture_on_commit_callbacks
):
    settings.LIVENESS_FLAP_CHANGES = 4
    settings.LIVENESS_FLAP_STABLE_SECONDS = 60
    device = DeviceFactory(keepalive_interval=10, keepalive_count=2)
    live.start(clock.now())
    liveness.record_keepalive(device.device_id)
    live.sweep()
    flap(live, clock, device, 3)
    assert Device.objects.get(pk=device.pk).is_flapping
    for _ in range(7):  # stays online, keepalive every 10 s
        clock.advance(seconds=10)
        liveness.record_keepalive(device.device_id)
        with django_capture_on_commit_callbacks(execute=True):
            live.sweep()
    assert not Device.objects.get(pk=device.pk).is_flapping
    assert events.seen[-1][0] == "device.online"
    assert events.seen[-1][1]["flapping_ended"] is True


def test_a_maintenance_window_silences_the_announcement_but_records_the_change(
    live, clock, events, django_capture_on_commit_callbacks
):
    device = DeviceFactory(keepalive_interval=10, keepalive_count=2)
    MaintenanceWindow.objects.create(
        school=device.school,
        starts_at=clock.now(),
        ends_at=clock.now() + dt.timedelta(hours=1),
        reason="更换交换机",
    )
    live.start(clock.now())
    liveness.record_keepalive(device.device_id)
    live.sweep()
    clock.advance(seconds=25)
    with django_capture_on_commit_callbacks(execute=True):
        (offline,) = live.sweep()
        liveness.record_keepalive(device.device_id)
        (online,) = live.sweep()
    assert not offline.is_announced and not online.is_announced
    assert events.names("device.") == []
    reasons = list(StatusChange.objects.filter(device=device).values_list("reason", flat=True))
    assert "no keepalive for 20 s (maintenance window: not announced)" in reasons


def test_an_outage_that_outlives_its_maintenance_window_is_announced_when_it_closes(
    live, clock, events, django_capture_on_commit_callbacks
):
    device = DeviceFactory(keepalive_interval=10, keepalive_count=2)
    MaintenanceWindow.objects.create(
        school=device.school,
        device=device,
        starts_at=clock.now(),
        ends_at=clock.now() + dt.timedelta(minutes=10),
        reason="固件升级",
    )
    live.start(clock.now())
    liveness.record_keepalive(device.device_id)
    live.sweep()
    clock.advance(seconds=25)
    with django_capture_on_commit_callbacks(execute=True):
        live.sweep()
    assert events.names("device.offline") == []
    clock.advance(minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        live.sweep()
    assert events.names("device.offline") == ["device.offline"]
    assert events.seen[-1][1]["reason"] == "still down after the maintenance window"


def test_offline_beyond_the_fault_limit_becomes_a_fault_to_repair(
    live, clock, events, django_capture_on_commit_callbacks
):
    broken, fine = DeviceFactory(keepalive_interval=10, keepalive_count=2), DeviceFactory()
    live.start(clock.now())
    liveness.record_keepalive(broken.device_id)
    live.sweep()
    clock.advance(seconds=25)
    live.sweep()
    assert list(faults_to_repair()) == []
    clock.advance(hours=24)
    assert list(faults_to_repair()) == [broken]  # listed even before the sweep
    with django_capture_on_commit_callbacks(execute=True):
        (fault,) = live.sweep()
    assert (fault.to_status, fault.reason) == ("fault", "offline for more than 24 h")
    assert events.names("device.fault") == ["device.fault"]
    assert list(faults_to_repair()) == [broken]
    assert fine not in faults_to_repair()
    liveness.record_keepalive(broken.device_id)  # repaired
    assert [t.to_status for t in live.sweep()] == ["online"]


def test_a_reported_fault_is_not_cleared_by_keepalives_only_by_the_device(
    live, clock, events, django_capture_on_commit_callbacks
):
    device = DeviceFactory()
    live.start(clock.now())
    liveness.record_keepalive(device.device_id)
    live.sweep()
    with django_capture_on_commit_callbacks(execute=True):
        fault = liveness.record_reported_status(device.device_id, is_fault=True, reason="E42")
    assert fault.reason == "reported fault: E42"
    assert events.names("device.") == ["device.fault"]
    clock.advance(seconds=30)
    liveness.record_keepalive(device.device_id)
    assert live.sweep() == []
    assert statuses(device) == ["fault"]
    with django_capture_on_commit_callbacks(execute=True):
        liveness.record_reported_status(device.device_id, is_fault=False)
    assert statuses(device) == ["online"]
    assert events.names("device.") == ["device.fault", "device.online"]


def test_channels_go_down_with_their_nvr_and_come_back_with_it(live, clock):
    nvr = DeviceFactory(kind="nvr", protocol="gb28181", keepalive_interval=10, keepalive_count=2)
    cameras = DeviceFactory.create_batch(
        3, kind="camera", protocol="gb28181", parent=nvr, status="online"
    )
    already_down = DeviceFactory(kind="camera", protocol="gb28181", parent=nvr, status="offline")
    live.start(clock.now())
    liveness.record_keepalive(nvr.device_id)
    live.sweep()
    clock.advance(seconds=25)
    live.sweep()
    assert statuses(*cameras, already_down) == ["offline"] * 4
    liveness.record_keepalive(nvr.device_id)
    live.sweep()
    assert statuses(*cameras) == ["online"] * 3
    assert statuses(already_down) == ["offline"]  # it was down before the NVR went


def test_last_seen_reaches_the_database_in_one_batch_without_audit_entries(
    live, clock, django_assert_max_num_queries
):
    devices = DeviceFactory.create_batch(30)
    live.directory.load()
    entries = AuditEntry.objects.count()
    for device in devices:
        liveness.record_keepalive(device.device_id)
    with django_assert_max_num_queries(1):
        assert live.flush_last_seen() == 30
    assert live.flush_last_seen() == 0  # nothing new
    now = clock.now()
    for device in devices:
        seen = Device.objects.get(pk=device.pk).last_seen_at
        assert abs((seen - now).total_seconds()) < 1
    assert AuditEntry.objects.count() == entries


def test_a_registration_is_flushed_to_the_device(live, clock):
    device = DeviceFactory(protocol="gb28181")
    liveness.record_registration(device.device_id, 3600, remote="10.1.2.3:5060")
    live.flush_last_seen()
    device.refresh_from_db()
    assert device.remote_address == "10.1.2.3:5060"
    assert abs((device.register_expires_at - clock.now()).total_seconds() - 3600) < 1


def test_a_device_added_after_start_is_swept_too(live, clock):
    live.start(clock.now())
    device = DeviceFactory()
    liveness.record_keepalive(device.device_id)
    assert [t.device_id for t in live.sweep()] == [device.device_id]


def test_a_reported_fault_stays_a_fault_across_a_restart(live, clock):
    device = DeviceFactory(status="online")
    liveness.record_reported_status(device.device_id, is_fault=True, reason="E7")
    restarted = fresh_liveness()
    restarted.start(clock.now())
    clock.advance(seconds=30)
    liveness.record_keepalive(device.device_id)
    assert restarted.sweep() == []
    assert statuses(device) == ["fault"]
