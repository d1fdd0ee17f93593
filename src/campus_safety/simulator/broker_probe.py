"""Does an MQTT broker answer at this URL? ``make demo`` asks before it starts the demo:
with one, the demo's MQTT devices (one-key alarms, intrusion detectors) are simulated;
without, the demo runs without them and says so (fleet.set_aside_mqtt_devices).

"Answers" means a CONNACK accepting an MQTT 3.1.1 CONNECT, not merely an open port.
Standard library only, so the check starts in a few milliseconds:
``python -m campus_safety.simulator.broker_probe mqtt://127.0.0.1:1883`` exits 0 when
the broker answers, 1 when it does not.
"""

from __future__ import annotations

import secrets
import socket
import ssl
import struct
import sys
from urllib.parse import unquote, urlsplit

DEFAULT_URL = "mqtt://127.0.0.1:1883"


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _remaining_length(length: int) -> bytes:
    encoded = bytearray()
    while True:
        length, digit = divmod(length, 128)
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(encoded)


def connect_packet(client_id: str, username: str | None, password: str | None) -> bytes:
    """MQTT 3.1.1 CONNECT: clean session, 10 s keepalive, optional credentials."""
    flags = 0x02 | (0x80 if username else 0) | (0x40 if username and password else 0)
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", 10) + _string(client_id)
    if username:
        body += _string(username)
        if password:
            body += _string(password)
    return b"\x10" + _remaining_length(len(body)) + body


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def broker_answers(url: str = DEFAULT_URL, timeout: float = 2.0) -> bool:
    """True when the broker at ``url`` (mqtt:// or mqtts://) accepts a connection."""
    parts = urlsplit(url)
    is_tls = parts.scheme == "mqtts"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (8883 if is_tls else 1883)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    packet = connect_packet(f"campus-probe-{secrets.token_hex(4)}", username, password)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            sock = (
                ssl.create_default_context().wrap_socket(raw, server_hostname=host)
                if is_tls
                else raw
            )
            sock.settimeout(timeout)
            sock.sendall(packet)
            reply = _read(sock, 4)
            if reply[:1] == b"\x20":
                sock.sendall(b"\xe0\x00")  # DISCONNECT
    except OSError:
        return False
    return len(reply) == 4 and reply[0] == 0x20 and reply[3] == 0


if __name__ == "__main__":
    sys.exit(0 if broker_answers(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_URL) else 1)
