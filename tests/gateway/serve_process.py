"""``campus-safety serve`` as a real process, for the tests that need the whole platform
(SIP, MQTT on the local Mosquitto, HTTP) on a database of its own.

The fixtures that prepare its environment (``database_url``, ``platform_env``) are in
``tests/gateway/conftest.py``.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from campus_safety.simulator.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "campus_safety.cli"]
MQTT_URL = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
PASSWORD = "Serve-pass-2026"  # the platform-wide GB/T 28181 device password
PLATFORM_ID, DOMAIN = "37140000002000000001", "3714000000"

SETUP = """
import json
from campus_safety.accounts.models import User
from campus_safety.devices.models import Device
from tests.devices.support import SECRET, DeviceFactory
from tests.factories import SchoolFactory, UserFactory, city_region
school = SchoolFactory()
devices = {}
for protocol, serial in (("gb28181", 200), ("mqtt", 300), ("http", 400)):
    devices[protocol] = [
        DeviceFactory(school=school, protocol=protocol, device_id=f"3714020000134{serial + n:07d}")
        .device_id
        for n in range(%(count)d)
    ]
UserFactory(username="city-dispatcher", role=User.Role.DISPATCHER, region=city_region())
UserFactory(username="school-admin", role=User.Role.SCHOOL_ADMIN, school=school)
print(json.dumps({"devices": devices, "secret": SECRET}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [*COMMAND, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def set_up_devices(env: dict[str, str], count: int) -> dict:
    """``count`` devices per protocol in one school, and two users who see its cases:
    ``{"devices": {"gb28181": [...], "mqtt": [...], "http": [...]}, "secret": ...}``."""
    output = manage(env, "shell", "-c", SETUP % {"count": count})
    return json.loads(output.strip().splitlines()[-1])


class ProcessGroup:
    """A child started in its own session: stopped with SIGTERM (SIGKILL after 15 s),
    or killed the hard way, group and all."""

    process: subprocess.Popen | None = None

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


class Platform(ProcessGroup):
    """``campus-safety serve`` as its own process group, killed the hard way.

    ``open_files`` (soft, hard) starts it under that RLIMIT_NOFILE, as ``ulimit -n``
    would."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        log: Path,
        *,
        open_files: tuple[int, int] | None = None,
    ) -> None:
        self.env, self.port, self.log_path = env, port, log
        self.open_files = open_files
        self.process: subprocess.Popen | None = None

    def _limit_open_files(self) -> None:  # in the child, before exec
        if self.open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, self.open_files)

    def start(self) -> None:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [*COMMAND, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=self._limit_open_files if self.open_files else None,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the platform did not start:\n" + self.log_path.read_text()[-3000:])


class MqttDevices:
    """Devices publishing alarms at QoS 1; a PUBACK from the broker is their acknowledgement."""

    def __init__(self, device_ids: list[str], topic_root: str = "campus/v1") -> None:
        import paho.mqtt.client as paho

        host, _, port = MQTT_URL.removeprefix("mqtt://").partition(":")
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"cs-test-dev-{secrets.token_hex(4)}"
        )
        self.client.connect(host, int(port or 1883))
        self.client.loop_start()
        self.device_ids = device_ids
        self.topic_root = topic_root
        self.sent: list[tuple[object, tuple[str, str]]] = []

    @property
    def acked(self) -> set[tuple[str, str]]:
        """What the broker acknowledged (PUBACK): from then on the device forgets it."""
        return {event for info, event in self.sent if info.is_published()}

    @property
    def pending(self) -> int:
        return sum(not info.is_published() for info, _ in self.sent)

    def publish(self, device_id: str, event_id: str) -> None:
        body = json.dumps({
            "event_id": event_id, "ts": time.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
            "priority": 1, "description": "一键报警",
        })  # fmt: skip
        info = self.client.publish(f"{self.topic_root}/{device_id}/alarm", body, qos=1)
        self.sent.append((info, (device_id, event_id)))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Process(ProcessGroup):
    """One ``serve --role …`` process in its own process group."""

    def __init__(self, name: str, roles: str, env: dict[str, str], log_dir: Path) -> None:
        self.name, self.roles, self.env = name, roles, env
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [*COMMAND, "serve", "--role", self.roles, "--host", "127.0.0.1",
                 "--port", str(self.port)],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{self.name} died:\n{self.tail()}"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"{self.name} did not start:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
