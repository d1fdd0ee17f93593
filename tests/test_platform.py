"""The platform shell: health check and the campus-safety command."""

import json
import subprocess
import sys

import pytest

from campus_safety.cli import main
from tests.factories import GuardFactory, SchoolFactory


@pytest.mark.django_db
def test_healthz_answers_ok_after_checking_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_report_summary_json_is_computed_from_the_rows(capsys):
    school = SchoolFactory(students=1200)
    GuardFactory(school=school, kind="full_time")
    GuardFactory(school=school, kind="part_time")
    main(["campus-safety", "report", "summary", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["schools"] == 1
    assert data["guards"] == {"professional": 0, "full_time": 1, "part_time": 1, "total": 2}
    assert data["staffing"]["required"] == 4
    assert data["staffing"]["schools_short"] == 1


def test_console_script_runs_django_checks(tmp_path):
    env = {"CAMPUS_SAFETY_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "campus_safety.cli", "check", "--fail-level", "ERROR"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()


def test_serve_runs_on_uvloop_unless_told_to_use_asyncio(settings):
    import uvloop

    from campus_safety import runtime

    assert runtime.loop_factory() is uvloop.new_event_loop
    settings.SERVE_EVENT_LOOP = "asyncio"
    assert runtime.loop_factory() is None
