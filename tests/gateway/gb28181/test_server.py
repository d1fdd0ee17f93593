"""The SIP server over real sockets on 127.0.0.1, with a scripted device as the peer."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from campus_safety.gateway.gb28181 import manscdp
from campus_safety.gateway.gb28181 import server as gb
from tests.gateway.gb28181.harness import (
    ALARM_INPUT_ID,
    DOMAIN,
    NVR_ID,
    PASSWORD,
    wait_until,
)
from tests.gateway.gb28181.peer import TcpPeer, UdpPeer

GB_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}")


@pytest.fixture
def device(sip_server):
    peer = UdpPeer(sip_server.port)
    yield peer
    peer.close()


def alarm_body(sn: int = 5) -> bytes:
    return manscdp.build_alarm_notify(
        sn, ALARM_INPUT_ID, alarm_time="2024-03-01T08:00:00", description="一键报警", alarm_type="1"
    )


# --- REGISTER ------------------------------------------------------------------------------


def test_register_without_credentials_is_challenged_with_md5_digest_in_the_domain_realm(device):
    device.send(device.build("REGISTER", headers=[("Expires", "3600")]))
    response = device.response()
    assert response.status == 401
    challenge = response.header("WWW-Authenticate")
    assert challenge.startswith("Digest ")
    assert f'realm="{DOMAIN}"' in challenge
    assert "algorithm=MD5" in challenge
    assert 'qop="auth"' in challenge


def test_register_with_the_right_password_gets_200_with_a_gb_date_and_the_expiry(device, platform):
    response = device.register(expires=7200)
    assert response.status == 200
    assert GB_DATE.fullmatch(response.header("Date"))
    assert response.header("Expires") == "7200"
    assert platform.registered == [(NVR_ID, 7200, gb.Remote("udp", "127.0.0.1", device.port))]


def test_register_without_qop_in_the_answer_is_accepted_too(device):
    assert device.register(qop=False).status == 200


def test_a_requested_expiry_is_clamped_to_the_allowed_range_and_the_granted_value_returned(
    device, platform
):
    assert device.register(expires=60).header("Expires") == "3600"
    assert device.register(expires=10**7).header("Expires") == "86400"
    assert device.register(expires=None).header("Expires") == "86400"


def test_register_with_a_wrong_password_is_forbidden(device, platform):
    response = device.register(password="wrong")
    assert response.status == 403
    assert platform.registered == []


def test_repeated_wrong_passwords_lock_the_device_out_for_a_while(device):
    for _ in range(gb.MAX_AUTH_FAILURES):
        assert device.register(password="wrong").status == 403
    response = device.register()
    assert response.status == 403
    assert "retry later" in response.reason


def test_an_unknown_device_is_not_found(device, platform):
    platform.devices.clear()
    response = device.register()
    assert response.status == 404
    assert platform.pending == []


def test_with_auto_registration_an_unknown_device_waits_for_approval(start_server, platform):
    server = start_server(auto_register=True)
    platform.devices.clear()
    device = UdpPeer(server.port)
    try:
        assert device.register().status == 403
        assert [device_id for device_id, _ in platform.pending] == [NVR_ID]
        assert device.register().status == 403  # still pending: not listed twice
        assert len(platform.pending) == 1
        platform.devices[NVR_ID] = (PASSWORD, True)  # an administrator approved it
        assert device.register().status == 200
    finally:
        device.close()


def test_an_expired_nonce_with_the_right_password_is_challenged_again_as_stale(start_server):
    now = [1_700_000_000.0]
    server = start_server(wall_time=lambda: now[0])
    device = UdpPeer(server.port)
    try:
        device.send(device.build("REGISTER"))
        challenge = device.response().header("WWW-Authenticate")
        now[0] += 301
        device.send(
            device.build(
                "REGISTER", headers=[("Authorization", device.authorization(challenge, PASSWORD))]
            )
        )
        response = device.response()
        assert response.status == 401
        assert "stale=true" in response.header("WWW-Authenticate")
    finally:
        device.close()


def test_a_nonce_we_did_not_issue_is_challenged_again(device):
    forged = 'Digest realm="3714000000", nonce="' + "0" * 60 + '"'
    device.send(
        device.build(
            "REGISTER", headers=[("Authorization", device.authorization(forged, PASSWORD))]
        )
    )
    response = device.response()
    assert response.status == 401
    assert "stale" not in response.header("WWW-Authenticate")


def test_expires_zero_unregisters_the_device(device, platform):
    assert device.register().status == 200
    response = device.register(expires=0)
    assert response.status == 200
    assert platform.unregistered == [NVR_ID]
    assert device.message(manscdp.build_keepalive(1, NVR_ID)).status == 403


def test_a_registration_that_is_not_refreshed_expires(start_server, platform):
    server = start_server(register_min_expires=1, register_max_expires=1)
    device = UdpPeer(server.port)
    try:
        assert device.register().header("Expires") == "1"
        wait_until(lambda: platform.unregistered == [NVR_ID], timeout=3)
    finally:
        device.close()


# --- MESSAGE -------------------------------------------------------------------------------


def test_a_keepalive_is_answered_200_and_reported(device, platform):
    device.register()
    response = device.message(manscdp.build_keepalive(3, NVR_ID))
    assert response.status == 200
    assert platform.keepalives == [(NVR_ID, gb.Remote("udp", "127.0.0.1", device.port))]


def test_a_device_s_later_keepalives_are_read_from_its_first_one(device, platform, sip_server):
    device.register()
    for sn in (3, 4, 1234567):
        assert device.message(manscdp.build_keepalive(sn, NVR_ID)).status == 200
    assert len(platform.keepalives) == 3
    memo = sip_server.server.keepalive_bodies
    assert (len(memo), memo.hits) == (1, 2)
    # a body of another shape is parsed (and refused if it must be), never taken as one
    other = manscdp.build_keepalive(5, NVR_ID).replace(b"<Status>OK", b"<Status>ERROR")
    assert device.message(other).status == 200
    assert memo.hits == 2
    broken = manscdp.build_keepalive(6, NVR_ID).replace(b"</Notify>", b"</Notif>")
    assert device.message(broken).status == 400
    assert len(platform.keepalives) == 4


def test_a_keepalive_from_an_unregistered_device_is_refused(device, platform):
    response = device.message(manscdp.build_keepalive(3, NVR_ID))
    assert response.status == 403
    assert platform.keepalives == []


def test_only_the_address_that_registered_may_speak_for_the_device(device, sip_server):
    device.register()
    impostor = UdpPeer(sip_server.port, host="127.0.0.2")
    try:
        response = impostor.message(manscdp.build_keepalive(4, NVR_ID))
        assert (response.status, response.reason) == (
            403,
            "Forbidden (not registered from this address)",
        )
    finally:
        impostor.close()
    moved_port = UdpPeer(sip_server.port)  # same host, new port: NAT rebinding is fine
    try:
        assert moved_port.message(manscdp.build_keepalive(5, NVR_ID)).status == 200
    finally:
        moved_port.close()


def test_a_udp_registration_taken_back_after_a_restart_needs_no_new_register(
    device, sip_server, platform
):
    server = sip_server.server
    assert server.restore_registration(
        NVR_ID, gb.Remote("udp", "127.0.0.1", device.port), expires_in=3000
    )
    assert not server.restore_registration(
        NVR_ID, gb.Remote("tcp", "127.0.0.1", device.port), expires_in=3000
    )
    assert device.message(manscdp.build_keepalive(1, NVR_ID)).status == 200
    assert platform.registered == []  # no REGISTER happened


def test_a_retransmitted_request_gets_the_same_answer_and_is_processed_once(device, platform):
    device.register()
    request = device.build("MESSAGE", body=alarm_body())
    device.send(request)
    first = device.response()
    device.send(request)  # the device did not hear us: same branch, same CSeq
    second = device.response()
    assert first.status == 200
    assert first.headers == second.headers
    response_to_alarm = device.platform_request()
    device.answer(response_to_alarm)
    time.sleep(0.2)
    assert len(platform.alarms) == 1


def test_an_alarm_is_acknowledged_with_result_ok_only_after_it_is_committed(device, platform):
    platform.alarm_delay = 0.3
    device.register()
    started = time.time()
    assert device.message(alarm_body(sn=41)).status == 200
    assert time.time() - started < 0.2  # the 200 does not wait for the commit
    request = device.platform_request()
    received = time.time()
    device.answer(request)
    assert platform.alarm_finished_at and platform.alarm_finished_at[0] <= received
    body = manscdp.parse(request.body)
    assert (body.root, body.cmd_type, body.sn, body.device_id) == (
        "Response",
        "Alarm",
        41,
        ALARM_INPUT_ID,
    )
    assert body.fields["Result"] == "OK"
    alarm = platform.alarms[0]
    assert (alarm.sender_id, alarm.notify.device_id, alarm.notify.priority) == (
        NVR_ID,
        ALARM_INPUT_ID,
        1,
    )


def test_an_alarm_the_platform_rejects_is_answered_with_result_error(device, platform):
    platform.alarm_outcome = "rejected"
    device.register()
    device.message(alarm_body())
    request = device.platform_request()
    device.answer(request)
    assert manscdp.parse(request.body).fields["Result"] == "ERROR"


def test_an_alarm_that_could_not_be_committed_is_never_acknowledged(device, platform):
    platform.alarm_error = RuntimeError("database down")
    device.register()
    assert device.message(alarm_body()).status == 200
    with pytest.raises(TimeoutError):
        device.platform_request(timeout=0.5)


def test_our_request_over_udp_is_retransmitted_until_the_device_answers(device, platform):
    platform.alarm_outcome = "accepted"
    device.register()
    device.message(alarm_body())
    first = device.platform_request()
    # Ignored the first: timer E resends it (at T1 = 0.5 s; no wall-clock bound asserted
    # here, a loaded CI worker reads the first one late — the 2 s wait is the bound).
    again = device.platform_request(timeout=2)
    assert again.top_via.branch == first.top_via.branch
    assert again.call_id == first.call_id and again.cseq == first.cseq
    device.answer(again)
    with pytest.raises(TimeoutError):
        device.platform_request(timeout=1.2)  # answered: no more resends


def test_device_status_and_info_queries_return_the_parsed_answers(device, sip_server):
    device.register()
    pending = sip_server.submit(sip_server.server.query_device_status(NVR_ID))
    query = device.platform_request()
    device.answer(query)
    sn = manscdp.parse(query.body).sn
    device.message(
        manscdp.build(
            "Response",
            "DeviceStatus",
            sn,
            NVR_ID,
            [
                ("Result", "OK"),
                ("Online", "ONLINE"),
                ("Status", "OK"),
                (
                    "Alarmstatus",
                    [("Item", [("DeviceID", ALARM_INPUT_ID), ("DutyStatus", "ALARM")])],
                ),
            ],
        )
    )
    status = pending.result(3)
    assert (status.online, status.status) == ("ONLINE", "OK")
    assert status.alarm_status[0].duty_status == "ALARM"


def test_the_ui_can_query_from_another_event_loop_and_thread(device, sip_server):
    device.register()
    with ThreadPoolExecutor(1) as pool:  # as async_to_sync would: its own loop and thread
        pending = pool.submit(asyncio.run, gb.query_device_info(NVR_ID))
        query = device.platform_request()
        device.answer(query)
        device.message(
            manscdp.build(
                "Response",
                "DeviceInfo",
                manscdp.parse(query.body).sn,
                NVR_ID,
                [
                    ("Result", "OK"),
                    ("Manufacturer", "Hikvision"),
                    ("Model", "DS-7608"),
                    ("Channel", "8"),
                ],
            )
        )
        info = pending.result(3)
    assert (info.manufacturer, info.model, info.channel) == ("Hikvision", "DS-7608", 8)


def test_a_query_the_device_never_answers_times_out(device, sip_server):
    device.register()
    with pytest.raises(gb.QueryTimeout):
        sip_server.call(sip_server.server.query_device_status(NVR_ID, timeout=0.3))


def test_a_query_to_an_unregistered_device_fails_at_once(sip_server):
    with pytest.raises(gb.DeviceNotRegistered):
        sip_server.call(sip_server.server.query_device_info(NVR_ID))


# --- malformed input and floods --------------------------------------------------------------


def test_a_garbage_datagram_is_dropped_and_the_server_keeps_serving(device, sip_server):
    device.send(b"\x00\xff\xfe garbage \r\n\r\n")
    device.send(b"hello")
    with pytest.raises(TimeoutError):
        device.receive(timeout=0.3)
    device.send(device.build("OPTIONS"))
    assert device.response().status == 200
    assert sip_server.server.stats["malformed"] == 2


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda m: re.sub(rb"Call-ID: [^\r]*\r\n", b"", m), "missing Call-ID"),
        (
            lambda m: m.replace(b"Content-Length: 0", b"Content-Length: 40"),
            "Content-Length exceeds body",
        ),
        (lambda m: m.replace(b"CSeq: 1 OPTIONS", b"CSeq: one OPTIONS"), "malformed CSeq"),
        (lambda m: m.replace(b"Max-Forwards: 70", b"Max-Forwards 70"), "malformed header line"),
    ],
)
def test_a_malformed_request_is_answered_400_with_the_reason(device, mangle, reason):
    device.send(mangle(device.build("OPTIONS", cseq=1)))
    status_line = device.receive().split(b"\r\n")[0].decode()
    assert status_line == f"SIP/2.0 400 Bad Request ({reason})"


def test_an_oversize_request_is_answered_400(start_server):
    server = start_server(max_message_bytes=2048)
    device = UdpPeer(server.port)
    try:
        device.send(device.build("MESSAGE", body=b"<x>" + b"a" * 4000 + b"</x>"))
        response = device.response()
        assert (response.status, response.reason) == (400, "Bad Request (message too large)")
    finally:
        device.close()


@pytest.mark.parametrize(
    "body",
    [
        b"<Notify><CmdType>Keepalive</CmdType>",  # unclosed
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<Notify><CmdType>&b;</CmdType><SN>1</SN><DeviceID>1</DeviceID></Notify>",
        b"<Notify><SN>1</SN><DeviceID>37140200001180000001</DeviceID></Notify>",
    ],
)
def test_a_bad_manscdp_body_is_answered_400(device, body):
    device.register()
    response = device.message(body)
    assert response.status == 400


def test_a_flood_from_one_address_is_rate_limited(start_server):
    server = start_server(rate_per_second=5, rate_burst=5)
    device = UdpPeer(server.port)
    try:
        for _ in range(40):
            device.send(device.build("OPTIONS"))
        answered = 0
        with pytest.raises(TimeoutError):
            while True:
                device.response(timeout=0.3)
                answered += 1
        assert 5 <= answered <= 7
        assert server.server.stats["rate_limited"] >= 33
    finally:
        device.close()


def test_options_is_answered_and_other_methods_are_not_allowed(device):
    device.send(device.build("OPTIONS"))
    assert device.response().status == 200
    device.send(device.build("INVITE"))
    response = device.response()
    assert response.status == 405
    assert "MESSAGE" in response.header("Allow")


# --- TCP -------------------------------------------------------------------------------------


def test_over_tcp_messages_are_framed_by_content_length_and_answered_on_the_connection(
    sip_server, platform
):
    device = TcpPeer(sip_server.port)
    try:
        assert device.register().status == 200
        first = device.build("MESSAGE", body=manscdp.build_keepalive(1, NVR_ID))
        second = device.build("MESSAGE", body=manscdp.build_keepalive(2, NVR_ID))
        stream = b"\r\n\r\n" + first + second  # CRLF keep-alives, then two messages at once
        device.send(stream[:50])
        time.sleep(0.05)
        device.send(stream[50:])  # and a message split across segments
        assert [device.response().status, device.response().status] == [200, 200]
        assert len(platform.keepalives) == 2
        assert platform.registered[0][2].transport == "tcp"
    finally:
        device.close()


def test_over_tcp_the_platform_sends_its_requests_on_the_device_connection(sip_server, platform):
    device = TcpPeer(sip_server.port)
    try:
        device.register()
        device.message(alarm_body(sn=9))
        request = device.platform_request()
        assert request.top_via.transport == "TCP"
        assert manscdp.parse(request.body).fields["Result"] == "OK"
        device.answer(request)
    finally:
        device.close()


def test_over_tcp_a_message_without_content_length_is_answered_400_and_closed(sip_server):
    device = TcpPeer(sip_server.port)
    try:
        device.send(re.sub(rb"Content-Length: 0\r\n", b"", device.build("OPTIONS")))
        device.buffer = b""
        data = device.sock.recv(65536)
        assert data.startswith(b"SIP/2.0 400 Bad Request (missing Content-Length)")
        assert device.sock.recv(65536) == b""  # the server hung up: framing was lost
    finally:
        device.close()


# --- catalog ---------------------------------------------------------------------------------


def test_after_registering_the_device_is_asked_for_its_catalog_and_parts_are_collected(
    start_server, platform
):
    server = start_server(catalog_on_register=True)
    device = UdpPeer(server.port)
    try:
        device.register()
        query = device.platform_request()
        assert manscdp.parse(query.body).cmd_type == "Catalog"
        device.answer(query)
        sn = manscdp.parse(query.body).sn
        channels = [
            {"DeviceID": f"3714020000131000000{i}", "Name": f"通道{i}"} for i in range(1, 6)
        ]
        for part in (channels[:2], channels[2:4], channels[4:]):
            body = manscdp.build_catalog_response(sn, NVR_ID, 5, part)
            assert device.message(body).status == 200
        wait_until(lambda: platform.catalogs)
        device_id, items = platform.catalogs[0]
        assert device_id == NVR_ID
        assert [item.name for item in items] == [f"通道{i}" for i in range(1, 6)]
    finally:
        device.close()


def test_an_incomplete_catalog_is_handed_over_when_the_time_is_up(start_server, platform):
    server = start_server(catalog_on_register=True, catalog_timeout=0.5)
    device = UdpPeer(server.port)
    try:
        device.register()
        query = device.platform_request()
        device.answer(query)
        sn = manscdp.parse(query.body).sn
        device.message(
            manscdp.build_catalog_response(
                sn, NVR_ID, 3, [{"DeviceID": "37140200001310000001", "Name": "大门"}]
            )
        )
        wait_until(lambda: platform.catalogs)
        assert [item.device_id for item in platform.catalogs[0][1]] == ["37140200001310000001"]
    finally:
        device.close()
