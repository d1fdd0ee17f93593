"""``make test`` first names what the suite talks to and is missing (issue #14 item 12:
it needed sipp, Mosquitto and Chromium and said nothing)."""

import os
import subprocess
import sys
from pathlib import Path

from campus_safety.simulator.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


def _check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ROOT / ".ci" / "test-deps", "check"],
        env={**os.environ, "BIN": str(Path(sys.executable).parent), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_check_passes_where_the_suite_can_run():
    result = _check()
    assert result.returncode == 0, result.stderr


def test_the_check_names_a_broker_that_does_not_answer_and_how_to_get_one():
    result = _check(MQTT_URL=f"mqtt://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "an MQTT broker answering at" in result.stderr
    assert "make test-deps" in result.stderr and "mosquitto" in result.stderr
