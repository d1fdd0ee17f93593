import pytest

from campus_safety.devices import liveness
from tests.devices.support import Events, fresh_liveness


@pytest.fixture(autouse=True)
def live(db, clock):
    """A fresh in-memory liveness for every test; forgotten afterwards."""
    instance = fresh_liveness()
    yield instance
    liveness.reset()


@pytest.fixture
def events():
    recorder = Events()
    yield recorder
    recorder.close()
