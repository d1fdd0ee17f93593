"""演示账号 — one demo login per role, each with the scope a real user of that role has.

``DEMO_USERS`` is the list shown to whoever starts the demo (``campus-safety serve``
prints ``login_lines()`` and keeps them in ``<data dir>/demo-logins.txt``; the login
page shows the accounts in demo mode); ``create_demo_users`` gives each account its
scope in the seeded city. All share one published password, so these accounts are for
the demo only and ``seed-demo --force`` deletes them with the city.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.hashers import make_password

from campus_safety.accounts.models import User

if TYPE_CHECKING:
    from campus_safety.orgs.models import Organisation, Region, School
    from campus_safety.simulator.plan import City

PASSWORD = "Demo@2026!"  # noqa: S105 — published demo password, see README
# Published TOTP secret of every demo account, created in demo mode only
# (CAMPUS_SAFETY_DEMO=1): add it to any authenticator app, or run `campus-safety demo-otp`.
TOTP_SECRET = "MNQW24DVOMWXGYLGMV2HSLLEMVWW6LJSGAZDM"  # noqa: S105 — b"campus-safety-demo-2026"
JOINED = datetime(2026, 1, 1, tzinfo=UTC)  # fixed, so two seedings dump identically
DEMO_DISTRICT = "371402"  # 德城区: the education user's and the police user's district


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    label: str  # the role as the demo's audience calls it
    scope: str  # "city", "police_bureau", "station", "education_bureau" or "school"
    description: str  # what the scope covers, for the login list


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", User.Role.SYSTEM_ADMIN, "平台系统管理员 (superuser)", "city",
             "德州市全市; Django admin"),
    DemoUser("dispatcher", User.Role.DISPATCHER, "指挥中心调度员", "police_bureau",
             "德州市公安局指挥中心, 全市学校"),
    DemoUser("police", User.Role.POLICE_OFFICER, "派出所民警", "station",
             "德城区一个派出所及其负责的学校"),
    DemoUser("edu", User.Role.EDUCATION_STAFF, "教育局工作人员", "education_bureau",
             "德城区教育和体育局, 德城区学校"),
    DemoUser("school", User.Role.SCHOOL_ADMIN, "学校管理员", "school",
             "该派出所辖区内的一所学校"),
    DemoUser("guard", User.Role.GUARD, "保安员", "school", "同一所学校"),
    DemoUser("volunteer", User.Role.VOLUNTEER, "志愿者", "school", "同一所学校"),
    DemoUser("auditor", User.Role.AUDITOR, "审计员", "city", "德州市全市 (审计日志)"),
    DemoUser("security", User.Role.SECURITY_ADMIN, "安全管理员", "city",
             "德州市全市 (账号与安全)"),
)  # fmt: skip
USERNAMES = tuple(u.username for u in DEMO_USERS)


def demo_station_and_school(city: City) -> tuple[str, str]:
    """The police user's station (the 德城区 station with most schools) and the school
    user's school (that station's biggest primary school, or biggest school)."""
    per_station = Counter(
        s.police_station_name for s in city.schools if s.region_code == DEMO_DISTRICT
    )
    station = min(per_station, key=lambda name: (-per_station[name], name))
    schools = [s for s in city.schools if s.police_station_name == station]
    primary = [s for s in schools if s.kind == "primary"] or schools
    school = max(primary, key=lambda s: (s.students, s.code))
    return station, school.code


def _password_hash(seed: int) -> str:
    """One hash for all demo users, salted from the seed: deterministic, hashed once."""
    salt = hashlib.sha256(f"campus-safety-demo-{seed}".encode()).hexdigest()[:32]
    return make_password(PASSWORD, salt=salt)


def create_demo_users(
    city: City,
    organisations: dict[str, Organisation],
    schools: dict[str, School],
    regions: dict[str, Region],
) -> list[User]:
    """Create (or reset) the demo accounts with their scopes in the seeded city."""
    from campus_safety.simulator.city import POLICE_BUREAU, education_bureau_name
    from campus_safety.simulator.geography import CITY_CODE, COUNTIES

    station, school_code = demo_station_and_school(city)
    district = next(c for c in COUNTIES if c.code == DEMO_DISTRICT)
    scopes = {
        "city": {"region": regions[CITY_CODE]},
        "police_bureau": {"organisation": organisations[POLICE_BUREAU]},
        "station": {"organisation": organisations[station]},
        "education_bureau": {"organisation": organisations[education_bureau_name(district)]},
        "school": {"school": schools[school_code]},
    }
    password = _password_hash(city.seed)
    users = []
    for demo in DEMO_USERS:
        is_admin = demo.username == "admin"
        fields = {
            "role": demo.role, "display_name": demo.label.split(" ")[0], "password": password,
            "is_superuser": is_admin, "is_staff": is_admin, "is_active": True,
            "date_joined": JOINED, "last_login": None, "region": None, "organisation": None,
            "school": None, **scopes[demo.scope],
        }  # fmt: skip
        user, _ = User.objects.update_or_create(username=demo.username, defaults=fields)
        users.append(user)
    if settings.DEMO_MODE:
        add_demo_totp(users)
    return users


def totp_key_hex() -> str:
    padded = TOTP_SECRET + "=" * (-len(TOTP_SECRET) % 8)
    return base64.b32decode(padded).hex()


def add_demo_totp(users: list[User]) -> None:
    """Demo mode only: a confirmed TOTP device with the published secret per account,
    so a visitor can sign in with two factors without enrolling a phone first."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user__in=users, name="demo").delete()
    TOTPDevice.objects.bulk_create(
        TOTPDevice(user=u, name="demo", confirmed=True, key=totp_key_hex()) for u in users
    )


def current_demo_code() -> str:
    from django_otp.oath import TOTP

    totp = TOTP(bytes.fromhex(totp_key_hex()))
    return f"{totp.token():06d}"


def delete_demo_users() -> None:
    User.objects.filter(username__in=USERNAMES).delete()


def _scope_of(user: User) -> str:
    if user.school_id:
        return user.school.name
    if user.organisation_id:
        return user.organisation.name
    if user.region_id:
        return user.region.name
    return ""


def login_lines() -> list[str]:
    """Printable lines: the shared password, then username, role and scope per account.

    Scopes are read from the database when the demo city is seeded, so the lines name
    the actual station and school.
    """
    found = {
        u.username: u
        for u in User.objects.filter(username__in=USERNAMES).select_related(
            "school", "organisation", "region"
        )
    }
    width = max(len(u.username) for u in DEMO_USERS)
    lines = [f"password for all / 密码: {PASSWORD}"]
    if settings.DEMO_MODE:
        lines.append(
            f"TOTP secret for all / 动态口令密钥: {TOTP_SECRET} (an authenticator app, or "
            "`CAMPUS_SAFETY_DEMO=1 campus-safety demo-otp` prints the current code)"
        )
    for demo in DEMO_USERS:
        user = found.get(demo.username)
        detail = _scope_of(user) if user else ""
        scope = f"{demo.description} — {detail}" if detail else demo.description
        lines.append(f"{demo.username:<{width}}  {demo.label}  [{scope}]")
    return lines


LOGIN_FILE = "demo-logins.txt"


def write_login_file(url: str) -> tuple[list[str], Path]:
    """``login_lines()``, also written to ``<data dir>/demo-logins.txt`` under the
    platform's address; returns the lines and the file."""
    lines = login_lines()
    path = Path(settings.DATA_DIR) / LOGIN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "\n".join([f"校园安全联动平台 Campus Safety Linkage Platform: {url}", *lines]) + "\n"
    )
    return lines, path
