"""A scripted device on a raw socket, for protocol tests sipp cannot express.

Digest answers are computed here with hashlib (RFC 2617), independently of digest.py.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import time

from campus_safety.gateway.gb28181 import sip
from tests.gateway.gb28181.harness import DOMAIN, NVR_ID, PASSWORD, PLATFORM_ID


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class UdpPeer:
    transport = "UDP"

    def __init__(
        self, server_port: int, device_id: str = NVR_ID, *, host: str = "127.0.0.1"
    ) -> None:
        self.server = ("127.0.0.1", server_port)
        self.device_id = device_id
        self.host = host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.cseq = 0
        self.requests: list[sip.SipRequest] = []  # requests from the platform

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def receive(self, timeout: float = 2.0) -> bytes:
        self.sock.settimeout(timeout)
        data, _ = self.sock.recvfrom(70000)
        return data

    def response(self, timeout: float = 2.0) -> sip.SipResponse:
        """The next response; requests from the platform met on the way are kept."""
        deadline = time.monotonic() + timeout
        while True:
            message = sip.parse_message(self.receive(max(0.01, deadline - time.monotonic())))
            if isinstance(message, sip.SipResponse):
                return message
            self.requests.append(message)

    def platform_request(self, timeout: float = 2.0) -> sip.SipRequest:
        if self.requests:
            return self.requests.pop(0)
        message = sip.parse_message(self.receive(timeout))
        assert isinstance(message, sip.SipRequest), message
        return message

    def build(
        self,
        method: str,
        *,
        body: bytes = b"",
        headers: list[tuple[str, str]] = (),
        branch: str | None = None,
        cseq: int | None = None,
    ) -> bytes:
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        branch = branch or sip.BRANCH_COOKIE + secrets.token_hex(6)
        lines = [
            f"{method} sip:{PLATFORM_ID}@{DOMAIN} SIP/2.0",
            f"Via: SIP/2.0/{self.transport} {self.host}:{self.port};rport;branch={branch}",
            f"From: <sip:{self.device_id}@{DOMAIN}>;tag=dev{self.port}",
            f"To: <sip:{self.device_id if method == 'REGISTER' else PLATFORM_ID}@{DOMAIN}>",
            f"Call-ID: call-{self.port}-{cseq}@127.0.0.1",
            f"CSeq: {cseq} {method}",
            "Max-Forwards: 70",
            *[f"{k}: {v}" for k, v in headers],
        ]
        if body:
            lines.append("Content-Type: Application/MANSCDP+xml")
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def authorization(self, challenge: str, password: str, *, qop: bool = True) -> str:
        nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
        realm = re.search(r'realm="([^"]+)"', challenge).group(1)
        uri = f"sip:{PLATFORM_ID}@{DOMAIN}"
        ha1 = md5(f"{self.device_id}:{realm}:{password}")
        ha2 = md5(f"REGISTER:{uri}")
        if qop:
            response = md5(f"{ha1}:{nonce}:00000001:0a4f113b:auth:{ha2}")
            extra = ', qop=auth, nc=00000001, cnonce="0a4f113b"'
        else:
            response, extra = md5(f"{ha1}:{nonce}:{ha2}"), ""
        return (
            f'Digest username="{self.device_id}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{response}", algorithm=MD5{extra}'
        )

    def register(
        self, *, password: str = PASSWORD, expires: int | None = 3600, qop: bool = True
    ) -> sip.SipResponse:
        expiry = [] if expires is None else [("Expires", str(expires))]
        contact = [("Contact", f"<sip:{self.device_id}@127.0.0.1:{self.port}>")]
        self.send(self.build("REGISTER", headers=contact + expiry))
        challenge = self.response()
        if challenge.status != 401:
            return challenge
        auth = self.authorization(challenge.header("WWW-Authenticate"), password, qop=qop)
        self.send(self.build("REGISTER", headers=[*contact, *expiry, ("Authorization", auth)]))
        return self.response()

    def message(self, body: bytes, **kwargs) -> sip.SipResponse:
        self.send(self.build("MESSAGE", body=body, **kwargs))
        return self.response()

    def answer(self, request: sip.SipRequest, status: int = 200) -> None:
        self.send(sip.build_response(request, status, to_tag="peer"))


class TcpPeer(UdpPeer):
    """The same device on one TCP connection (RFC 3261 18.3 framing)."""

    transport = "TCP"

    def __init__(self, server_port: int, device_id: str = NVR_ID) -> None:
        self.server = ("127.0.0.1", server_port)
        self.device_id = device_id
        self.sock = socket.create_connection(self.server, timeout=2)
        self.host, self.port = self.sock.getsockname()[:2]
        self.cseq = 0
        self.requests = []
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self, timeout: float = 2.0) -> bytes:
        self.sock.settimeout(timeout)
        while True:
            length = sip.frame_length(self.buffer)
            if length is not None:
                data, self.buffer = self.buffer[:length], self.buffer[length:]
                return data
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
