"""``serve --role``: which services each role starts and which paths each process answers."""

from __future__ import annotations

import asyncio

import pytest

from campus_safety import runtime
from campus_safety.cli import serve


def test_roles_parse_from_repeats_and_commas_and_default_to_all_in_one():
    assert runtime.parse_roles(["web,sip", "jobs"]) == {"web", "sip", "jobs"}
    assert runtime.parse_roles([]) == runtime.ALL_IN_ONE
    with pytest.raises(ValueError, match="unknown role"):
        runtime.parse_roles(["gateway"])


def test_an_unknown_role_is_refused_by_serve_with_the_known_ones(capsys):
    with pytest.raises(SystemExit):
        serve(["--role", "websocket"])
    assert "web, http-ingest, sip, mqtt, jobs" in capsys.readouterr().err


def test_each_role_starts_its_services_once():
    names = lambda roles: [s.name for s in runtime.services_for(frozenset(roles))]  # noqa: E731
    assert names({"web"}) == []
    assert names({"sip", "mqtt"}) == ["ingest-writer", "sip", "mqtt"]
    assert names({"jobs"}) == ["jobs"]
    assert names(runtime.ALL_IN_ONE) == ["ingest-writer", "sip", "mqtt", "jobs"]
    options = runtime.Options("127.0.0.1", 1, roles=frozenset({"web"}))
    assert not options.gateway and not options.tasks


def _get(app, path: str, method: str = "GET") -> int:
    sent = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)  # the client stays connected until the answer

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(),
        "query_string": b"", "headers": [(b"host", b"testserver")], "scheme": "http",
        "server": ("testserver", 80), "client": ("127.0.0.1", 1), "root_path": "",
        "http_version": "1.1", "asgi": {"version": "3.0"},
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.mark.django_db(transaction=True)
def test_a_process_answers_only_its_roles_paths_and_every_one_its_health():
    sip_only = runtime.application_for(frozenset({"sip"}))
    assert _get(sip_only, "/healthz") == 200
    assert _get(sip_only, "/accounts/login/") == 404
    assert _get(sip_only, "/api/v1/ingest", "POST") == 404
    ingest = runtime.application_for(frozenset({"http-ingest"}))
    assert _get(ingest, "/api/v1/ingest", "POST") != 404  # refused for want of a signature
    assert _get(ingest, "/accounts/login/") == 404
    web = runtime.application_for(frozenset({"web"}))
    assert _get(web, "/accounts/login/") == 200
    assert _get(web, "/api/v1/ingest", "POST") == 404
