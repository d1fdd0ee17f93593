"""Gateway processes of one host sharing the SIP port (``GB28181_REUSE_PORT``, issue #22).

Devices know the platform by one address. With SO_REUSEPORT the kernel gives each
device's datagrams to one of the gateways sharing it; when that gateway is gone, the
same address reaches the other at once, which takes the device's alarm from the address
it last registered from and asks it (403 to its keepalive) to register again.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from campus_safety.gateway.gb28181 import manscdp
from campus_safety.gateway.gb28181 import server as gb
from tests.gateway.gb28181.harness import (
    ALARM_BOX_ID,
    FakePlatform,
    ServerThread,
    free_udp_port,
    make_config,
)
from tests.gateway.gb28181.peer import UdpPeer


class SharedPortServer(ServerThread):
    """A server bound with ``reuse_port`` to a port another may share."""

    def __init__(self, platform: FakePlatform, port: int) -> None:
        self.platform = platform
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        start = gb.start_gb28181(
            platform.interface(), "127.0.0.1", port, config=make_config(), reuse_port=True
        )
        self.server = self.call(start)
        self.port = port


@pytest.fixture
def gateways(platform):
    """Two servers on one port, as two gateway processes of a host."""
    port = free_udp_port()
    started = [SharedPortServer(platform, port), SharedPortServer(platform, port)]
    yield started
    for gateway in started:
        if gateway.loop.is_running():
            gateway.stop()


def test_a_server_not_sharing_its_port_keeps_it_to_itself(sip_server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        with pytest.raises(OSError):
            other.bind(("127.0.0.1", sip_server.port))


def test_when_the_gateway_a_device_registered_with_dies_the_other_takes_its_alarm(
    gateways, platform
):
    device = UdpPeer(gateways[0].port, ALARM_BOX_ID)
    try:
        assert device.register().status == 200
        [holder] = [g for g in gateways if ALARM_BOX_ID in g.server.registrations]
        [survivor] = [g for g in gateways if g is not holder]
        holder.stop()  # its socket closes: the port is the survivor's alone

        body = manscdp.build_alarm_notify(
            3, ALARM_BOX_ID, alarm_time="2024-03-01T08:00:00", description="一键报警"
        )
        assert device.message(body).status == 200
        request = device.platform_request()  # the Response, once committed
        device.answer(request)
        response = manscdp.parse(request.body)
        assert (response.sn, response.fields["Result"]) == (3, "OK")
        [alarm] = platform.alarms
        assert alarm.sender_check is gb.SenderCheck.LAST_REGISTRATION
        assert survivor.server.stats["alarms_unregistered"] == 1

        # its next keepalive asks it to register again, with the survivor
        assert device.message(manscdp.build_keepalive(4, ALARM_BOX_ID)).status == 403
        assert device.register().status == 200
        assert ALARM_BOX_ID in survivor.server.registrations
        assert device.message(manscdp.build_keepalive(5, ALARM_BOX_ID)).status == 200
    finally:
        device.close()
