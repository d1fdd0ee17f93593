"""The login page lists the demo accounts and how to get the second factor — in demo
mode only (issue #14 item 11: the start-up log scrolls them away in seconds)."""

from campus_safety.simulator.demo_users import PASSWORD, TOTP_SECRET


def test_in_demo_mode_the_login_page_shows_the_demo_accounts(client, settings):
    settings.DEMO_MODE = True
    page = client.get("/accounts/login/").content.decode()
    for username in ("admin", "dispatcher", "police", "edu", "school", "auditor", "security"):
        assert f"<code>{username}</code>" in page
    assert PASSWORD in page and TOTP_SECRET in page
    assert "campus-safety demo-otp" in page and "CAMPUS_SAFETY_DEMO=1" in page


def test_outside_demo_mode_the_login_page_shows_no_account(client, settings):
    settings.DEMO_MODE = False
    page = client.get("/accounts/login/").content.decode()
    assert PASSWORD not in page and TOTP_SECRET not in page
    assert "demo-logins" not in page
