"""Fixtures: a fake platform and a real GB/T 28181 server started per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.gateway.gb28181.harness import FakePlatform, ServerThread, make_config


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def start_server(platform: FakePlatform) -> Iterator[Callable[..., ServerThread]]:
    """Start a server with config overrides; stopped (and its sockets closed) after."""
    started: list[ServerThread] = []

    def start(**overrides: Any) -> ServerThread:
        thread = ServerThread(platform, make_config(**overrides))
        started.append(thread)
        return thread

    yield start
    for thread in started:
        thread.stop()


@pytest.fixture
def sip_server(start_server: Callable[..., ServerThread]) -> ServerThread:
    return start_server()
