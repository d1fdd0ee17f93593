"""``serve`` in demo mode prints the demo logins and keeps them in the data dir."""

import pytest

from campus_safety import cli
from campus_safety.simulator.demo_users import PASSWORD, TOTP_SECRET


@pytest.mark.django_db
def test_the_demo_logins_are_printed_and_kept_in_the_data_dir(settings, tmp_path, capsys):
    settings.DEMO_MODE = True
    settings.DATA_DIR = tmp_path
    cli.show_demo_logins("http://127.0.0.1:8079/")
    printed = capsys.readouterr().out
    kept = (tmp_path / "demo-logins.txt").read_text()
    assert str(tmp_path / "demo-logins.txt") in printed
    assert kept.startswith(
        "校园安全联动平台 Campus Safety Linkage Platform: http://127.0.0.1:8079/"
    )
    for text in (PASSWORD, TOTP_SECRET, "dispatcher", "auditor", "CAMPUS_SAFETY_DEMO=1"):
        assert text in printed and text in kept
