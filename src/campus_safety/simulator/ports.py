"""A free local port for a platform started by a test or a benchmark."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port free on both UDP and TCP (the SIP server takes both on one port)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
        try:
            with socket.socket() as tcp:
                tcp.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
