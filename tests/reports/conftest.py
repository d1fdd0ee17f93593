import pytest


@pytest.fixture(autouse=True)
def empty_cache():
    """The big screen keeps its KPI part a minute in the cache; tests start without it."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
