"""Real peer: sipp (Debian sip-tester) plays the device against our server.

Each run is one call (``-m 1``) under a global ``-timeout`` that fails the run, so a
scenario that stalls ends in seconds with a non-zero exit code and no process left.
Requests the platform originates (Catalog query, alarm Response) carry their own
Call-ID, so an out-of-call scenario (``-oocsf``) plays that part and raises the global
variable ``done`` only when every check in it passed; the main scenario waits for it.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from campus_safety.simulator.ports import free_port
from tests.gateway.gb28181.harness import (
    ALARM_BOX_ID,
    ALARM_INPUT_ID,
    DOMAIN,
    NVR_ID,
    PASSWORD,
    PLATFORM_ID,
)

SCENARIOS = Path(__file__).parent / "sipp"
CHANNELS = ["37140200001310000001", "37140200001310000002", "37140200001310000003"]


def run_sipp(
    server_port: int,
    scenario: str,
    workdir: Path,
    *,
    ooc: str | None = None,
    transport: str = "u1",
    device_id: str = NVR_ID,
    password: str = PASSWORD,
    timeout: float = 4.0,
) -> subprocess.CompletedProcess:
    sipp = shutil.which("sipp")
    if sipp is None:
        pytest.fail("sipp is not installed (Debian package sip-tester)")
    command = [
        sipp,
        f"127.0.0.1:{server_port}",
        "-sf",
        str(SCENARIOS / scenario),
        "-m",
        "1",
        "-timeout",
        f"{timeout}s",
        "-timeout_error",
        "-nostdin",
        "-t",
        transport,
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-au",
        device_id,
        "-ap",
        password,
        "-key",
        "platform_id",
        PLATFORM_ID,
        "-key",
        "domain",
        DOMAIN,
        "-key",
        "device_id",
        device_id,
        "-key",
        "alarm_input_id",
        ALARM_INPUT_ID,
        *[
            arg
            for i, channel in enumerate(CHANNELS, 1)
            for arg in ("-key", f"channel_{i}", channel)
        ],
        "-trace_err",
        "-trace_msg",
    ]
    if ooc:
        command += ["-oocsf", str(SCENARIOS / ooc)]
    # subprocess.run kills sipp if it outlives the timeout: nothing is left behind
    return subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout + 5,
        check=False,
    )


def explain(result: subprocess.CompletedProcess, workdir: Path) -> str:
    errors = "".join(p.read_text(errors="replace") for p in workdir.glob("*_errors.log"))
    return f"sipp exit {result.returncode}\n{errors[-3000:]}\n{result.stderr[-2000:]}"


def message_log(workdir: Path) -> list[tuple[dt.datetime, str]]:
    """sipp's -trace_msg log as (local time, message) pairs, in order."""
    text = "".join(p.read_text(errors="replace") for p in workdir.glob("*_messages.log"))
    parts = re.split(
        r"^-{10,} (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+)\s*$", text, flags=re.MULTILINE
    )
    return [
        (dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f"), body.strip())
        for stamp, body in zip(parts[1::2], parts[2::2], strict=True)
    ]


def test_sipp_device_registers_with_digest_and_gets_a_date_header(start_server, platform, tmp_path):
    server = start_server()
    result = run_sipp(server.port, "register.xml", tmp_path)
    assert result.returncode == 0, explain(result, tmp_path)
    assert [(device_id, expires) for device_id, expires, _ in platform.registered] == [
        (NVR_ID, 3600)
    ]


def test_sipp_device_with_a_wrong_password_is_refused_with_403(start_server, platform, tmp_path):
    server = start_server()
    result = run_sipp(
        server.port, "register_wrong_password.xml", tmp_path, password="not-the-password"
    )
    assert result.returncode == 0, explain(result, tmp_path)
    assert platform.registered == []


def test_sipp_keepalive_is_answered_200_and_marks_the_device_seen(start_server, platform, tmp_path):
    server = start_server()
    result = run_sipp(server.port, "keepalive.xml", tmp_path)
    assert result.returncode == 0, explain(result, tmp_path)
    assert [device_id for device_id, _ in platform.keepalives] == [NVR_ID]


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_sipp_keepalives_after_the_first_take_the_fast_path(
    start_server, platform, tmp_path, transport
):
    """The first keepalive of a shape is parsed; the next ones (other SN digits) are
    read by the fast path (plain_message.py) and answered as the parser's path would:
    the scenario checks each 200's CSeq, Via (rport filled in) and To tag."""
    server = start_server()
    result = run_sipp(server.port, "keepalives.xml", tmp_path, transport=transport)
    assert result.returncode == 0, explain(result, tmp_path)
    assert [device_id for device_id, _ in platform.keepalives] == [NVR_ID] * 4
    assert server.server.stats["keepalives_fast"] == 3


def test_sipp_catalog_in_two_parts_is_collected_until_sumnum(start_server, platform, tmp_path):
    server = start_server(catalog_on_register=True)
    result = run_sipp(server.port, "catalog.xml", tmp_path, ooc="catalog_answer.xml")
    assert result.returncode == 0, explain(result, tmp_path)
    assert len(platform.catalogs) == 1
    device_id, items = platform.catalogs[0]
    assert device_id == NVR_ID
    assert [item.device_id for item in items] == CHANNELS
    assert [item.name for item in items] == ["校门口", "操场东", "宿舍楼值班室"]  # GB2312 bytes
    assert {item.parent_id for item in items} == {NVR_ID}


def test_sipp_alarm_gets_200_at_once_and_result_ok_only_after_it_was_committed(
    start_server, platform, tmp_path
):
    platform.alarm_delay = 0.4  # a slow commit
    server = start_server()
    result = run_sipp(server.port, "alarm.xml", tmp_path, ooc="alarm_response.xml")
    assert result.returncode == 0, explain(result, tmp_path)
    committed = dt.datetime.fromtimestamp(platform.alarm_finished_at[0])
    log = message_log(tmp_path)
    ok_at = next(
        t
        for t, m in log
        if "received" in m.split("\n")[0]
        and "SIP/2.0 200 OK" in m
        and "MESSAGE" in m.split("CSeq:")[1].split("\n")[0]
    )
    response_at = next(
        t
        for t, m in log
        if "received" in m.split("\n")[0]
        and "<CmdType>Alarm</CmdType>" in m
        and "<Result>OK</Result>" in m
    )
    assert ok_at < committed <= response_at
    alarm = platform.alarms[0]
    assert (alarm.sender_id, alarm.notify.device_id, alarm.notify.sn) == (
        NVR_ID,
        ALARM_INPUT_ID,
        77,
    )


def test_sipp_one_key_alarm_box_registers_and_keeps_alive_over_tcp(
    start_server, platform, tmp_path
):
    server = start_server()
    result = run_sipp(
        server.port, "keepalive.xml", tmp_path, transport="t1", device_id=ALARM_BOX_ID
    )
    assert result.returncode == 0, explain(result, tmp_path)
    assert platform.registered[0][0] == ALARM_BOX_ID
    assert platform.registered[0][2].transport == "tcp"
    assert [device_id for device_id, _ in platform.keepalives] == [ALARM_BOX_ID]
