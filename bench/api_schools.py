"""Benchmark: response times of the school list API and the school detail page.

Seeds a fresh demo city in a temp data dir (SQLite) — or reuses ``--data-dir`` —
starts the platform under uvicorn on a free port, signs in as ``admin`` through the
login form (password, then the TOTP second factor: a fresh demo admin enrols, and the
script computes the codes from the key the enrolment page shows), then sends
sequential requests and prints median, p95 and max per endpoint. Target: p95 ≤ 100 ms.

    .venv/bin/python bench/api_schools.py [--requests 200] [--data-dir DIR --totp-secret KEY]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit

TARGET_P95_MS = 100.0
CLI = [sys.executable, "-m", "campus_safety.cli"]
PASSWORD = "Demo@2026!"  # noqa: S105 — the published demo password
ENDPOINTS = (
    ("GET /api/v1/schools/", "/api/v1/schools/"),
    ("GET /api/v1/schools/?ordering=-guard_gap&region=371402",
     "/api/v1/schools/?ordering=-guard_gap&region=371402"),
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def totp(secret_base32: str, at: float | None = None) -> str:
    """RFC 6238 code (SHA-1, 30 s, 6 digits), as any authenticator app computes it."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class Browser:
    """One keep-alive connection with a cookie jar: enough to act as a signed-in user."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, form: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.headers.items()}, data

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path)

    def post_form(self, path: str, page: bytes, fields: dict[str, str]):
        """POST a form back with the CSRF token from the page that showed it."""
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not match:
            sys.exit(f"no CSRF token on {path}")
        return self.request("POST", path, {"csrfmiddlewaretoken": match.group(1).decode(),
                                           **fields})  # fmt: skip


def sign_in(browser: Browser, username: str, totp_secret: str | None) -> None:
    """Password, then the second factor: enrol if the user has no device yet."""
    _, _, page = browser.get("/accounts/login/")
    status, headers, _ = browser.post_form(
        "/accounts/login/", page, {"username": username, "password": PASSWORD}
    )
    location = headers.get("location", "")
    if status != 302:
        sys.exit(f"sign-in as {username} failed (HTTP {status})")
    path = urlsplit(location).path
    if path.endswith("/2fa/setup/"):
        _, _, page = browser.get(location)
        match = re.search(rb'id="totp-secret">([A-Z2-7]+)<', page)
        if not match:
            sys.exit("enrolment page shows no TOTP key")
        totp_secret = match.group(1).decode()
        print(f"  enrolled {username} for TOTP; key {totp_secret} (pass --totp-secret to reuse)")
    elif path.endswith("/2fa/verify/"):
        if not totp_secret:
            sys.exit(f"{username} already has a TOTP device: pass --totp-secret")
        _, _, page = browser.get(location)
    else:
        return  # no second factor required
    for attempt in range(2):
        status, headers, _ = browser.post_form(location, page, {"code": totp(totp_secret)})
        if status == 302:
            return
        # A code is accepted once: after a recent sign-in, wait for the next 30 s window.
        if attempt == 0:
            time.sleep(30.5 - time.time() % 30)
            _, _, page = browser.get(location)
    sys.exit(f"second factor for {username} was refused (HTTP {status})")


def measure(browser: Browser, paths: list[str], warmup: int = 5) -> tuple[list[float], Counter]:
    for path in paths[:warmup]:
        browser.get(path)
    times, statuses = [], Counter()
    for path in paths:
        started = time.perf_counter()
        status, _, _ = browser.get(path)
        times.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
    return times, statuses


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]  # nearest rank


def seed(data_dir: Path, env: dict[str, str], reuse: bool) -> None:
    for args in (["migrate", "--noinput", "-v", "0"],
                 ["seed-demo", "-v", "0", *(["--if-empty"] if reuse else [])]):  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True,
                                check=False)  # fmt: skip
        if result.returncode != 0:
            sys.exit(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        print(f"  {args[0]}: {time.perf_counter() - started:.1f} s {result.stdout.strip()}")


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """uvicorn on ``port``; its output (tracebacks included) goes to ``log``."""
    uvicorn = Path(sys.executable).with_name("uvicorn")
    command = [str(uvicorn)] if uvicorn.exists() else [sys.executable, "-m", "uvicorn"]
    with log.open("w") as out:
        server = subprocess.Popen(
            [*command, "campus_safety.asgi:application", "--host", "127.0.0.1", "--port",
             str(port), "--log-level", "warning", "--no-access-log"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the server exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("the server did not answer /healthz within 60 s")


def school_ids(browser: Browser) -> list[int]:
    status, _, body = browser.get("/api/v1/schools/?page_size=500")
    if status != 200:
        sys.exit(f"GET /api/v1/schools/ answered HTTP {status}: is the schools API there yet?")
    data = json.loads(body)
    rows = data["results"] if isinstance(data, dict) else data
    return [row["id"] for row in rows]


def run(args: argparse.Namespace, data_dir: Path) -> None:
    env = {**os.environ, "CAMPUS_SAFETY_DATA_DIR": str(data_dir), "DEBUG": "0"}
    env.pop("DATABASE_URL", None)
    print(f"data dir {data_dir}")
    seed(data_dir, env, reuse=args.data_dir is not None)
    port = free_port()
    log = data_dir / "bench-server.log"
    server = start_server(env, port, log)
    try:
        browser = Browser(port)
        sign_in(browser, "admin", args.totp_secret)
        ids = school_ids(browser)
        rng = random.Random(0)
        runs = [(label, [path] * args.requests) for label, path in ENDPOINTS]
        runs.append(("GET /schools/<id>/ (school detail page)",
                     [f"/schools/{rng.choice(ids)}/" for _ in range(args.requests)]))  # fmt: skip
        print(f"\n{args.requests} sequential requests each, signed in as admin "
              f"(target p95 ≤ {TARGET_P95_MS:.0f} ms)")  # fmt: skip
        print(f"{'endpoint':<58}{'median':>9}{'p95':>9}{'max':>9}  status")
        for label, paths in runs:
            times, statuses = measure(browser, paths)
            ok = "OK" if p95(times) <= TARGET_P95_MS else "SLOW"
            if set(statuses) != {200}:
                ok = f"ERRORS (see {log})" if args.data_dir else "ERRORS (see below)"
            codes = ", ".join(f"{code}×{n}" for code, n in sorted(statuses.items()))
            print(f"{label:<58}{statistics.median(times):>7.1f}ms{p95(times):>7.1f}ms"
                  f"{max(times):>7.1f}ms  {codes}  {ok}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
        errors = [line for line in log.read_text().splitlines() if "ERROR" in line]
        if errors and args.data_dir is None:  # the temp dir and its log are about to go
            causes = [line for line in log.read_text().splitlines()
                      if re.match(r"^[\w.]+(Error|Exception|DoesNotExist)\b", line)]  # fmt: skip
            print(f"\nserver errors ({len(errors)}), first: {errors[0]}")
            if causes:
                print(f"  cause: {causes[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, help="reuse this data dir (seeded if empty)")
    parser.add_argument("--totp-secret", help="admin's TOTP key when it is already enrolled")
    args = parser.parse_args()
    if args.data_dir is not None:
        run(args, args.data_dir.resolve())
        return
    with tempfile.TemporaryDirectory(prefix="cs-bench-api-") as data_dir:
        run(args, Path(data_dir))


if __name__ == "__main__":
    main()
