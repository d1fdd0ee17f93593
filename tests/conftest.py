"""Shared fixtures: the clock, users in scopes, and a small city.

The suite runs in parallel (``make test``: pytest-xdist, one process per worker).
Each test process gets resources of its own here, before any test runs:

* a data dir (personal-data keys, uploaded media) in a temporary directory, also
  handed to the subprocesses tests start (``CAMPUS_SAFETY_DATA_DIR``);
* its own Redis pub/sub channels for the event bus and the live fan-out (Redis
  channels are server-wide, whatever the database number);
* PostgreSQL test databases are suffixed per worker by pytest-django (``_gw0``…).

MQTT tests use per-test client IDs, topic roots and share groups; servers started by
tests listen on free ports (``campus_safety.simulator.ports.free_port``).
"""

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from campus_safety import clock as clock_module
from tests import factories

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop in tests


def pytest_configure(config):
    from django.conf import settings

    from campus_safety import bus
    from campus_safety.live import fanout

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tag = f"test-{worker}-{uuid.uuid4().hex[:8]}"
    data_dir = Path(tempfile.mkdtemp(prefix=f"campus-safety-{worker}-"))
    config._campus_safety_data_dir = data_dir
    settings.DATA_DIR = data_dir
    settings.MEDIA_ROOT = data_dir / "media"
    # Subprocesses (and xdist workers, which inherit this process's environment) use
    # the same directory and key; the key is passed on so that no two processes race to
    # create the data dir's secret_key file.
    os.environ["CAMPUS_SAFETY_DATA_DIR"] = str(data_dir)
    os.environ.pop("CAMPUS_SAFETY_MEDIA_DIR", None)  # under the data dir, as here
    os.environ["SECRET_KEY"] = settings.SECRET_KEY
    bus.CHANNEL = f"campus-safety:events:{tag}"
    fanout.CHANNEL = f"campus-safety:live:{tag}"


def pytest_unconfigure(config):
    data_dir = getattr(config, "_campus_safety_data_dir", None)
    if data_dir is not None:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """A module that sets up something expensive once (a module-scoped fixture, e.g. the
    seeded demo city) stays on one worker, so it is set up once, not once per worker."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group"):
            continue
        module = item.nodeid.split("::", 1)[0]
        shared = any(
            definition.scope in ("module", "package", "class")
            for name in info.names_closure
            for definition in info.name2fixturedefs.get(name, ())
            if definition.baseid == module
        )
        if shared:
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.fixture(autouse=True)
def site_language():
    """Each test starts in the site's language. The test client's requests leave the
    thread's language set (LocaleMiddleware activates one, nothing deactivates it), so a
    test after one that asked in English wrote English labels into the records it made
    outside a request — on whichever worker the order put them together."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's deliberate slowness protects real passwords, not test fixtures."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture
def clock():
    clock_module.reset()
    yield clock_module
    clock_module.reset()


@pytest.fixture
def city(db):
    return factories.city_region()


@pytest.fixture
def admin_user(db):
    return factories.UserFactory(
        is_superuser=True, is_staff=True, role="system_admin", username="root"
    )


@pytest.fixture(autouse=True)
def default_staffing_rule(settings):
    """Pin the staffing settings so figures do not depend on the environment."""
    settings.STAFFING_RULE = "gbt29315_2022"
    settings.STAFFING_BLOCK_ROUNDING = "started"
    settings.STAFFING_BOARDERS_PER_GUARD = 0


@pytest.fixture
def decheng(city):
    """德城区, the district most tests scope by (with an outline for the maps)."""
    return factories.CountyFactory(code="371402", name="德城区", outline=factories.OUTLINE)


@pytest.fixture
def lingcheng(city):
    """陵城区, the district next door: what a 德城区 user must not see."""
    return factories.CountyFactory(code="371403", name="陵城区")


@pytest.fixture
def dispatcher(client, city):
    """A city-wide user, signed in with both factors on ``client``."""
    user = factories.UserFactory(role="dispatcher", region=city)
    factories.sign_in(client, user)
    return user
