"""An alarm from a device the server holds no registration for (issue #13, defect 3).

After a restart the server may not know a device's registration (a TCP one cannot be
taken back, a UDP one may have lapsed); the device does not know that and sends its
alarm. A MESSAGE carries no credentials, so the address the device last registered
from vouches for it: from there the alarm is taken; from a device with no registration
on record it is taken flagged unverified; from another address, or from a device that
is unknown or unapproved, it is refused. A taken alarm is answered 200 and its
Response goes back where it came from; the device's next keepalive is refused (403),
which makes it register again.
"""

from __future__ import annotations

from campus_safety.gateway.gb28181 import manscdp
from campus_safety.gateway.gb28181 import server as gb
from tests.gateway.gb28181.harness import ALARM_BOX_ID, wait_until
from tests.gateway.gb28181.peer import TcpPeer, UdpPeer

UNKNOWN_ID = "37140200001340009999"


def alarm_body(sn: int = 5, device_id: str = ALARM_BOX_ID) -> bytes:
    return manscdp.build_alarm_notify(
        sn, device_id, alarm_time="2024-03-01T08:00:00", description="一键报警", alarm_type="1"
    )


def alarm_response(device: UdpPeer) -> manscdp.Message:
    request = device.platform_request()
    device.answer(request)
    return manscdp.parse(request.body)


def test_an_alarm_from_the_address_a_device_last_registered_from_is_taken(sip_server, platform):
    platform.last_registered[ALARM_BOX_ID] = "127.0.0.1"  # registered before a restart
    device = UdpPeer(sip_server.port, ALARM_BOX_ID)
    try:
        assert device.message(alarm_body(sn=7)).status == 200
        response = alarm_response(device)  # sent where the alarm came from
        assert (response.cmd_type, response.sn, response.fields["Result"]) == ("Alarm", 7, "OK")
        [alarm] = platform.alarms
        assert (alarm.sender_id, alarm.sender_check) == (
            ALARM_BOX_ID,
            gb.SenderCheck.LAST_REGISTRATION,
        )
        # asked to register: its keepalive is refused until it does
        keepalive = manscdp.build_keepalive(8, ALARM_BOX_ID)
        assert device.message(keepalive).status == 403
        assert device.register().status == 200
        assert device.message(manscdp.build_keepalive(9, ALARM_BOX_ID)).status == 200
    finally:
        device.close()


def test_an_alarm_from_a_device_with_no_registration_on_record_is_taken_unverified(
    sip_server, platform
):
    device = UdpPeer(sip_server.port, ALARM_BOX_ID)
    try:
        assert device.message(alarm_body()).status == 200
        assert alarm_response(device).fields["Result"] == "OK"
        assert [a.sender_check for a in platform.alarms] == [gb.SenderCheck.UNVERIFIED]
    finally:
        device.close()


def test_an_alarm_from_another_address_than_the_last_registration_is_refused(sip_server, platform):
    platform.last_registered[ALARM_BOX_ID] = "10.9.9.9"
    device = UdpPeer(sip_server.port, ALARM_BOX_ID)
    try:
        response = device.message(alarm_body())
        assert (response.status, response.reason) == (
            403,
            "Forbidden (not registered from this address)",
        )
        assert platform.alarms == []
    finally:
        device.close()


def test_an_alarm_from_an_unknown_or_unapproved_device_is_refused(sip_server, platform):
    platform.devices[UNKNOWN_ID] = ("", False)  # pending approval
    for device_id in (UNKNOWN_ID, "37140200001340008888"):
        device = UdpPeer(sip_server.port, device_id)
        try:
            response = device.message(alarm_body(device_id=device_id))
            assert (response.status, response.reason) == (403, "Forbidden (not registered)")
        finally:
            device.close()
    assert platform.alarms == []


def test_a_resent_alarm_without_a_registration_is_answered_once(sip_server, platform):
    device = UdpPeer(sip_server.port, ALARM_BOX_ID)
    try:
        request = device.build("MESSAGE", body=alarm_body())
        device.send(request)
        device.send(request)  # the same transaction: answered from the cache
        assert [device.response().status, device.response().status] == [200, 200]
        assert alarm_response(device).fields["Result"] == "OK"
        assert len(platform.alarms) == 1
    finally:
        device.close()


def test_an_alarm_over_a_new_tcp_connection_after_a_restart_is_answered_on_it(sip_server, platform):
    platform.last_registered[ALARM_BOX_ID] = "127.0.0.1"  # a TCP registration is not restored
    device = TcpPeer(sip_server.port, ALARM_BOX_ID)
    try:
        assert device.message(alarm_body(sn=11)).status == 200
        assert alarm_response(device).sn == 11
        wait_until(lambda: platform.alarms)
        assert platform.alarms[0].remote.transport == "tcp"
    finally:
        device.close()


def test_without_a_sender_check_an_alarm_needs_a_registration(start_server, platform):
    interface = platform.interface()
    server = start_server()
    server.server.interface = gb.PlatformInterface(**{**interface.__dict__, "sender_check": None})
    device = UdpPeer(server.port, ALARM_BOX_ID)
    try:
        assert device.message(alarm_body()).status == 403
        assert platform.alarms == []
    finally:
        device.close()
