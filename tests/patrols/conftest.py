"""The patrol tests pin the English messages (refusal reasons and the like); the
platform's default language is Simplified Chinese, so these tests run in English."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
