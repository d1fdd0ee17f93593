"""SIP over TCP is bounded whatever a peer does (issue #13): connections per address and
in all, a few seconds to register, closed after a failed registration; only a
connection that carries a registration may stay idle long. Real sockets against the
real server (the platform faked in memory, harness.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from campus_safety import fd_limits
from campus_safety.gateway.gb28181 import manscdp
from tests.gateway.gb28181.harness import NVR_ID, wait_until
from tests.gateway.gb28181.peer import TcpPeer

OPTIONS = (
    b"OPTIONS sip:37140000002000000001@3714000000 SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-limits-%d\r\n"
    b"From: <sip:37140200001180000001@3714000000>;tag=a\r\n"
    b"To: <sip:37140000002000000001@3714000000>\r\n"
    b"Call-ID: limits-%d@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)


def connect(port: int, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def is_closed_by_server(sock: socket.socket, timeout: float = 2.0) -> bool:
    """True once the server closed (FIN or reset) within ``timeout``; answers are read
    and dropped on the way."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if sock.recv(65536) == b"":
                return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
    return False


def is_answered(sock: socket.socket, n: int = 1) -> bool:
    sock.sendall(OPTIONS % (n, n))
    sock.settimeout(2)
    return sock.recv(65536).startswith(b"SIP/2.0 200")


def close_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.close()


def test_connections_beyond_the_per_address_limit_are_refused_and_others_still_served(
    start_server,
):
    server = start_server(max_tcp_connections_per_host=3)
    held = [connect(server.port) for _ in range(3)]
    refused = connect(server.port)
    neighbour = connect(server.port, "127.0.0.2")
    try:
        assert is_closed_by_server(refused)
        assert all(is_answered(sock, n) for n, sock in enumerate(held))
        assert is_answered(neighbour)
        assert server.server.stats["tcp_refused"] == 1
    finally:
        close_all([*held, refused, neighbour])


def test_connections_beyond_the_total_limit_are_refused(start_server):
    server = start_server(max_tcp_connections=4)
    held = [connect(server.port, f"127.0.0.{n}") for n in range(2, 6)]
    refused = connect(server.port, "127.0.0.9")
    try:
        assert is_closed_by_server(refused)
        assert all(is_answered(sock) for sock in held)
        held[0].close()  # a place comes free
        wait_until(lambda: len(server.server._tcp.connections) == 3)
        latecomer = connect(server.port, "127.0.0.9")
        assert is_answered(latecomer)
        latecomer.close()
    finally:
        close_all([*held, refused])


def test_the_total_limit_is_a_share_of_the_process_descriptors(start_server):
    server = start_server()  # max_tcp_connections 20,000 by default
    limit = fd_limits.open_file_limit()
    assert server.server._tcp.limit == min(20_000, fd_limits.sip_tcp_share(limit))
    assert server.server._tcp.limit < limit / 2


@pytest.mark.parametrize(
    ("limit", "share"), [(256, 64), (512, 128), (1024, 384), (65_536, 32_640), (64, 16)]
)
def test_sip_tcp_gets_half_of_what_is_left_after_the_reserve(limit, share):
    assert fd_limits.sip_tcp_share(limit) == share


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one():
    script = (
        "import resource; from campus_safety import fd_limits;"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 512));"
        "print(fd_limits.raise_open_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.split() == ["512", "(512,", "512)"]


@pytest.mark.parametrize("peer", ["silent", "garbage without a header end", "OPTIONS pings"])
def test_a_connection_that_registers_no_device_is_closed_after_the_register_timeout(
    start_server, peer
):
    server = start_server(tcp_register_timeout=0.5)
    sock = connect(server.port)
    try:
        started = time.monotonic()
        while not is_closed_by_server(sock, timeout=0.1):
            assert time.monotonic() - started < 3.0, "still open"
            if peer == "garbage without a header end":
                sock.sendall(b"A" * 1000)
            elif peer == "OPTIONS pings":
                sock.sendall(OPTIONS % (1, 1))
        assert time.monotonic() - started >= 0.4
        assert server.server.stats["tcp_timed_out"] == 1
        wait_until(lambda: not server.server._tcp.connections)
    finally:
        sock.close()


def test_a_registered_connection_stays_open_until_it_is_idle_for_the_idle_timeout(
    start_server, platform
):
    server = start_server(tcp_register_timeout=0.3, tcp_idle_timeout=1.5)
    device = TcpPeer(server.port)
    try:
        assert device.register().status == 200
        time.sleep(0.8)  # well past the register timeout
        assert device.message(manscdp.build_keepalive(1, NVR_ID)).status == 200
        assert len(platform.keepalives) == 1
        assert not is_closed_by_server(device.sock, timeout=0.8)
        assert is_closed_by_server(device.sock, timeout=3.0)  # 1.5 s after the keepalive
    finally:
        device.close()


@pytest.mark.parametrize(
    ("device_id", "password", "status"),
    [(NVR_ID, "wrong-password", 403), ("37140200001180000099", "Campus-2024", 404)],
)
def test_a_failed_registration_closes_the_connection(start_server, device_id, password, status):
    server = start_server()  # the register timeout (10 s) is far away
    device = TcpPeer(server.port, device_id)
    try:
        assert device.register(password=password).status == status
        assert is_closed_by_server(device.sock, timeout=2.0)
    finally:
        device.close()


def test_connections_take_descriptors_above_the_range_select_can_watch(start_server):
    # As `serve` does at start; a machine whose hard limit leaves no room above 1,023 could
    # not run the gateway beside paho's select() either, so that is a failure here too.
    limit = fd_limits.raise_open_file_limit()
    assert limit > fd_limits.SELECT_LIMIT + 16, f"open-file hard limit {limit} is too low"
    server = start_server()
    sock = connect(server.port)
    try:
        assert is_answered(sock)
        (connection,) = server.server._tcp.connections
        assert connection.transport.get_extra_info("socket").fileno() >= fd_limits.SELECT_LIMIT
    finally:
        sock.close()
