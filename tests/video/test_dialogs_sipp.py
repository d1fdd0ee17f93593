"""Platform-side INVITE/ACK/BYE against sipp playing a GB/T 28181 camera (real peer).

sipp registers the NVR (the gateway's own register scenario, waiting for "done"); the
test then asks the gateway's MediaDialogs for a channel's stream, as the video app does."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from campus_safety.video import media_control, sdp
from tests.gateway.gb28181.harness import NVR_ID, PLATFORM_ID, wait_until
from tests.gateway.gb28181.test_sipp import CHANNELS, explain, run_sipp

HERE = Path(__file__).parent / "sipp"


def _play(server, scenario: str, tmp_path: Path) -> tuple[dict, threading.Thread]:
    outcome: dict = {}

    def device() -> None:
        outcome["sipp"] = run_sipp(
            server.port, "catalog.xml", tmp_path, ooc=str(HERE / scenario), timeout=8.0
        )

    thread = threading.Thread(target=device)
    thread.start()
    wait_until(lambda: server.server.registration(NVR_ID), timeout=5)
    return outcome, thread


def _offer() -> bytes:
    return sdp.offer(platform_id=PLATFORM_ID, address="127.0.0.1", port=30000, ssrc="0100000007")


def test_invite_is_answered_acked_and_ended_with_bye(start_server, tmp_path):
    server = start_server()
    outcome, thread = _play(server, "invite_answer.xml", tmp_path)
    dialogs = server.server.dialogs
    answer = server.call(
        dialogs.invite(
            NVR_ID, CHANNELS[0], _offer(), subject=f"{CHANNELS[0]}:0100000007,{PLATFORM_ID}:0"
        )
    )
    described = sdp.parse(answer.sdp)
    assert (described.video.port, described.ssrc) == (15060, "0100000007")
    assert answer.dialog_id in dialogs.dialogs
    server.call(dialogs.bye(answer.dialog_id))
    thread.join(15)
    result = outcome["sipp"]
    assert result.returncode == 0, explain(result, tmp_path)
    errors = "".join(f.read_text(errors="replace") for f in tmp_path.glob("*_errors.log"))
    assert "Failed regexp" not in errors, errors  # sipp's checks of the INVITE we sent
    assert dialogs.dialogs == {}


def test_a_refused_invite_is_acked_and_reported_with_the_status(start_server, tmp_path):
    server = start_server()
    outcome, thread = _play(server, "invite_refuse.xml", tmp_path)
    with pytest.raises(media_control.MediaError) as refused:
        server.call(server.server.dialogs.invite(NVR_ID, CHANNELS[0], _offer(), subject="x:0,y:0"))
    assert refused.value.status == 486
    thread.join(15)
    assert outcome["sipp"].returncode == 0, explain(outcome["sipp"], tmp_path)


def test_an_invite_to_an_unregistered_device_fails_at_once(start_server):
    server = start_server()
    with pytest.raises(media_control.MediaError, match="not registered"):
        server.call(server.server.dialogs.invite(NVR_ID, CHANNELS[0], _offer(), subject="x"))
