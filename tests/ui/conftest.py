import pytest

from tests.ui.chromium import launched


@pytest.fixture
def browser():
    with launched() as browser:
        yield browser
