"""``serve`` does its slow start-up work (every view module and the web application
imported, the garbage collected) before the SIP server listens: done after, it held
the event loop for over a second, and the first SIP alarm after a start waited 1.15 s
for its ``Result OK`` (issue #13)."""

from __future__ import annotations

import pytest

from campus_safety.simulator.ports import free_port
from tests.gateway.serve_process import Platform

pytestmark = [pytest.mark.mqtt]


def test_start_up_is_warmed_before_the_sip_server_listens(platform_env, tmp_path):
    platform = Platform(platform_env, free_port(), tmp_path / "platform.log")
    platform.start()
    platform.stop()
    lines = (tmp_path / "platform.log").read_text().splitlines()
    warmed = next(n for n, line in enumerate(lines) if "start-up warmed" in line)
    listening = next(n for n, line in enumerate(lines) if "GB/T 28181 SIP server on" in line)
    assert warmed < listening
