"""A stand-in for the operator's SMS gateway: a real HTTP server on a free local port,
in a thread, that checks each request's signature as a gateway would and answers from
a script (status, JSON body, or a pause longer than the platform's timeout)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from campus_safety.messaging import signing

SECRET = "test-gateway-secret"


@dataclass
class Answer:
    status: int = 200
    body: dict = field(default_factory=dict)
    pause: float = 0.0  # seconds before answering (a timeout when > SMS_HTTP_TIMEOUT)


@dataclass
class Received:
    headers: dict
    body: bytes
    signature_valid: bool

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class FakeGateway:
    def __init__(self, answers: list[Answer] | None = None) -> None:
        self.answers = list(answers or [])
        self.received: list[Received] = []
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                valid = signing.is_valid(
                    SECRET.encode(),
                    self.headers.get(signing.TIMESTAMP_HEADER, ""),
                    body,
                    self.headers.get(signing.SIGNATURE_HEADER, ""),
                )
                with gateway.lock:
                    gateway.received.append(Received(dict(self.headers), body, valid))
                    answer = gateway.answers.pop(0) if gateway.answers else Answer()
                if not valid:
                    answer = Answer(401, {"error": "bad signature"})
                if answer.pause:
                    time.sleep(answer.pause)
                payload = json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the platform gave up waiting (the timeout test)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def __enter__(self) -> FakeGateway:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
