"""Every word a user sees is Chinese by default (issue #14 item 4).

Key pages are rendered in zh-Hans as each role sees them, and every page without a
parameter too, so a new page is checked the day it is added; the API's error bodies
(404, 409, 400, 403) likewise. The text a person reads — text nodes, and the attributes
a browser or the page's script shows (tooltips, placeholders, the card labels a phone
shows, confirmations) — may hold no run of Latin letters except an identifier, a code or
a unit on the allow-list below, or a username, reference or code made by the fixtures.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from campus_safety.accounts.models import User
from campus_safety.alarms import escalation, workflow
from campus_safety.devices import liveness
from campus_safety.devices.identifiers import make_device_id
from campus_safety.devices.models import Device
from campus_safety.orgs.models import Organisation
from campus_safety.patrols import services as patrols
from campus_safety.patrols.models import PatrolAlarm, TourRound
from tests.alarms.support import PoliceUnitFactory, send_alarm, station_chain
from tests.devices.support import DeviceFactory, fresh_liveness
from tests.factories import (
    CountyFactory,
    EquipmentFactory,
    GuardFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)
from tests.hazards.support import internal, trouble_spot
from tests.patrols.support import gate_post, tour

pytestmark = pytest.mark.django_db

# Latin a Chinese page may show, with the reason. Anything else is a word left in English.
ALLOWED = {
    "GB/T": "national standards are cited so (GB/T 28181, GB/T 2260, GB/T 29315)",
    "GB": "national standards (GB 50394) and gigabytes",
    "ID": "written so in Chinese (设备 ID)",
    "IP": "an address",
    "SIP": "the GB/T 28181 signalling protocol",
    "MQTT": "a device protocol",
    "HTTP": "a device protocol",
    "HTTPS": "a device protocol",
    "API": "written so in Chinese",
    "Excel": "the program a report opens in",
    "QR": "QR code (二维码) is written so on tags",
    "NFC": "a tag kind",
    "GPS": "written so in Chinese",
    "WGS": "a coordinate datum's name (WGS-84), written so in Chinese",
    "GCJ": "a coordinate datum's name (GCJ-02, 国测局坐标), written so in Chinese",
    "BD": "a coordinate datum's name (BD-09, 百度坐标), written so in Chinese",
    "TOTP": "the second-factor standard",
    "PDF": "a file kind",
    "JSON": "a file kind",
    "CSV": "a file kind",
    "xlsx": "a file kind",
    "PNG": "a file kind",
    "JPEG": "a file kind",
    "WebP": "a file kind",
    "NVR": "a device kind (network video recorder), written so in Chinese",
    "DVR": "a device kind",
    "IPC": "a device kind (IP camera)",
    "KTV": "a kind of venue, written so in Chinese",
    "Web": "GB/T 28181's Chinese device type names (Web 应用服务器)",
    "GIS": "GB/T 28181's Chinese device type names (GIS 服务器)",
    "HMAC": "a signature algorithm's name (HMAC-SHA256)",
    "SHA": "a signature algorithm's name (HMAC-SHA256)",
    "JavaScript": "what a browser calls it (启用 JavaScript)",
    "English": "the language switch names each language in itself",
    "km": "unit",
    "m": "unit",
    "s": "unit",
    "ms": "unit",
    "min": "unit",
    "h": "unit",
    "MB": "unit",
    "KB": "unit",
}
# Attributes whose text a person reads: tooltips, placeholders, screen-reader names, the
# card labels a phone shows (CSS attr(data-label)), and messages the page's script shows.
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "label", "hx-confirm"}
SHOWN_DATA_ATTRIBUTES = re.compile(
    r"data-(label|msg|confirm|unsupported|locating|failed|layer-name|empty)([-\w]*)$"
)
BUTTON_INPUTS = {"submit", "button", "reset"}
LATIN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
# A dotted lowercase code (the audit log's ``alarm.acknowledge`` in a tooltip) is an
# identifier, shown beside its phrase so that it can be searched for.
DOTTED_CODE = re.compile(r"\b[a-z_]+(?:\.[a-z_]+)+\b")
# Chinese text takes full-width punctuation: "学校:" is a label left with Django's suffix.
ASCII_COLON = re.compile(r"[\u3400-\u9fff）][ ]?:")
UNSHOWN = {"script", "style"}
CODES = {"code", "kbd", "samp"}  # a key to press, a secret, a token: shown as it is


class _Options(HTMLParser):
    """The options of each ``<select>``, in words: two alike cannot be told apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.selects: list[tuple[str, list[str]]] = []
        self._option: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "select":
            self.selects.append((dict(attrs).get("name") or "", []))
        elif tag == "option" and self.selects:
            self._option = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None:
            self.selects[-1][1].append(" ".join("".join(self._option).split()))
            self._option = None

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option.append(data)


def twice_offered(html: str) -> dict[str, str]:
    """{"select name": "the words"} for every select offering the same words twice."""
    parser = _Options()
    parser.feed(html)
    parser.close()
    twice = {}
    for name, options in parser.selects:
        seen = set()
        for words in options:
            if words in seen:
                twice[f"<select name={name}>"] = words
            seen.add(words)
    return twice


class _Text(HTMLParser):
    """The text of a page as a person meets it: script and style left out, and codes
    and keys (``<code>``, ``<kbd>``) too."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in UNSHOWN or tag in CODES:
            self._skip += 1
        is_button = tag == "input" and dict(attrs).get("type") in BUTTON_INPUTS
        for name, value in attrs:
            shown = name in SHOWN_ATTRIBUTES or SHOWN_DATA_ATTRIBUTES.match(name)
            if value and (shown or (is_button and name == "value")):
                self.chunks.append(value)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in UNSHOWN or tag in CODES:
            self._skip -= 1

    def handle_endtag(self, tag: str) -> None:
        if (tag in UNSHOWN or tag in CODES) and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.chunks.append(data)


def shown_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.chunks


def latin_words(chunks: list[str], known: set[str]) -> dict[str, str]:
    """Runs of Latin letters that are neither allowed nor one of the fixtures' codes,
    each with the text it was found in."""
    found: dict[str, str] = {}
    for chunk in chunks:
        text = " ".join(chunk.split())
        for code in sorted(known, key=len, reverse=True):
            chunk = chunk.replace(code, " ")
        chunk = DOTTED_CODE.sub(" ", chunk.replace("GB/T", " "))
        for word in LATIN.findall(chunk):
            if word not in ALLOWED:
                found.setdefault(word, text[:100])
        if ASCII_COLON.search(chunk):
            found.setdefault(":", text[:100])
    return found


def test_the_checker_finds_english_and_passes_codes():
    html = """<html><head><title>设备 · Devices</title><style>.a{color:red}</style>
      <script>var open = "Open";</script></head>
      <body><p>GB/T 28181 设备 ID：34020000001320000001，离线 180 s</p>
      <td data-label="reported">上报</td><input type="submit" value="Save">
      <input type="hidden" value="secret"><span title="heard from the device">在线</span>
      <p>巡更点 CP-01 · user7 <span title="alarm.acknowledge">签收</span> 12:30</p>
      <label>学校:</label><p>按 <kbd>Esc</kbd> 关闭；密钥 <code>JBSWY3DP</code></p>
      </body></html>"""
    words = latin_words(shown_text(html), known={"CP-01", "user7"})
    assert set(words) == {"Devices", "reported", "Save", "heard", "from", "the", "device", ":"}
    assert words["heard"] == "heard from the device"
    assert words[":"] == "学校:"


def test_the_checker_finds_a_select_offering_the_same_words_twice():
    html = """<select name="state"><option value="">全部</option><option value="all">全部
      </option><option value="open">未处理</option></select>
      <select name="kind"><option value="">全部</option><option>学校</option></select>"""
    assert twice_offered(html) == {"<select name=state>": "全部"}


# --- a small town: one district, a station, a school, and something on every page ---------


def _roles(county, station, school) -> dict[str, User]:
    bureau = Organisation.objects.create(
        name="德城区教育和体育局", kind=Organisation.Kind.EDUCATION_BUREAU, region=county
    )
    scopes = {
        "police_officer": {"organisation": station},
        "education_staff": {"organisation": bureau},
        "school_admin": {"school": school},
        "guard": {"school": school},
        "volunteer": {"school": school},
    }
    return {
        role: UserFactory(username=f"{role}1", role=role, **scopes.get(role, {"region": county}))
        for role, _label in User.Role.choices
    }


def _device_history(device: Device, clock) -> None:
    """Real status changes, written by the liveness sweeper: online, then offline."""
    live = fresh_liveness()
    try:
        live.start(clock.now())
        liveness.record_keepalive(device.device_id)
        live.sweep()
        clock.advance(seconds=device.keepalive_interval * device.keepalive_count + 1)
        live.sweep()
    finally:
        liveness.reset()


@pytest.fixture
def town(clock, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    county = CountyFactory(code="371402", name="德城区")
    station = station_chain(county)
    school = SchoolFactory(
        region=county, police_station=station, name="德城区第一实验小学", address="新湖大街1号"
    )
    GuardFactory(school=school, name="张保安")
    EquipmentFactory(school=school)
    users = _roles(county, station, school)
    PoliceUnitFactory(organisation=station, name="巡逻一组")

    button = DeviceFactory(school=school, name="门卫室一键报警", key_area="entrance")
    camera = DeviceFactory(
        school=school,
        name="南门摄像机",
        device_id=make_device_id("371402", "131", 1),
        kind=Device.Kind.CAMERA,
        protocol=Device.Protocol.GB28181,
    )
    _device_history(camera, clock)

    received = send_alarm(button, clock)
    clock.advance(seconds=workflow.ack_seconds() + 1)
    escalation.run_alarm_timers(clock.now())  # 升级: unacknowledged too long
    clock.advance(seconds=workflow.merge_seconds() + 1)  # a case of its own, not merged
    moved_on = send_alarm(DeviceFactory(school=school, name="二楼紧急按钮"), clock)
    workflow.acknowledge_case(moved_on, by=users["dispatcher"])

    hazard = internal(users["school_admin"], school)
    spot = trouble_spot(users["police_officer"], school)

    _school, checkpoints, plan = tour(school, codes=("01", "02"))
    patrols.ensure_rounds(patrols.local_day(clock.now()))
    patrol_alarm = PatrolAlarm.objects.create(
        school=school,
        round=TourRound.objects.filter(plan=plan).first(),
        checkpoint=checkpoints[0],
        raised_at=clock.now(),
    )
    gate_post(school, members=[(users["guard"], "guard")])
    return {
        "users": users,
        "school": school,
        "device": button,
        "camera": camera,
        "case": received,
        "moved_on": moved_on,
        "hazard": hazard,
        "spot": spot,
        "patrol_alarm": patrol_alarm,
        "known": _fixture_codes(),
    }


def _fixture_codes() -> set[str]:
    """Usernames, references and codes the fixtures made: shown as they are, by design."""
    from campus_safety.hazards.models import Hazard
    from campus_safety.workforce.models import Guard

    return (
        set(User.objects.values_list("username", flat=True))
        | set(Hazard.objects.values_list("reference", flat=True))
        | set(Guard.objects.values_list("certificate_number", flat=True))
    )


# (route, the town's object it shows, or None)
KEY_PAGES = [
    ("login", None),
    ("reports:overview", None),
    ("reports:summary", None),
    ("schools:school_list", None),
    ("schools:school_detail", "school"),
    ("devices:device_list", None),
    ("devices:device_detail", "camera"),
    ("devices:device_detail", "device"),
    ("alarms:wall", None),
    ("alarms:case_detail", "case"),
    ("alarms:case_detail", "moved_on"),
    ("alarms:statistics", None),
    ("hazards:list", None),
    ("hazards:detail", "hazard"),
    ("hazards:detail", "spot"),
    ("patrols:tours", None),
    ("patrols:school_rounds", "school"),
    ("patrols:posts_today", None),
    ("patrols:alarms", None),
    ("audit:entry_list", None),
    ("role_table", None),
]


def _url(route: str, obj) -> str:
    return reverse(route, args=[obj.pk]) if obj is not None else reverse(route)


def _english_on(client, url: str, known: set[str]) -> tuple[int, dict[str, str]]:
    response = client.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return response.status_code, {}
    html = response.content.decode()
    words = latin_words(shown_text(html), known)
    for select, text in twice_offered(html).items():
        words[f"{text!r} twice in {select}"] = text
    return 200, words


def _walk(town, client, pages) -> tuple[dict[str, dict[str, str]], set[str]]:
    """Every page as every role (and signed out); which rendered, and what was English:
    {word: {"url (role)": the text it was in}}."""
    english: dict[str, dict[str, str]] = {}
    rendered: set[str] = set()
    people = [None, *town["users"].values()]
    for user in people:
        client.logout()
        if user is not None:
            sign_in(client, user)
        for route, key in pages:
            url = _url(route, town[key] if key else None)
            status, words = _english_on(client, url, town["known"])
            if status == 200:
                rendered.add(url)
            for word, text in words.items():
                where = f"{url} ({user.role if user else 'signed out'})"
                english.setdefault(word, {})[where] = text
    return english, rendered


def _report(english: dict[str, dict[str, str]]) -> str:
    lines = []
    for word, where in sorted(english.items()):
        page, text = sorted(where.items())[0]
        lines.append(f"{word!r} in “{text}” on {page} and {len(where) - 1} more")
    return "\n".join(lines)


def test_key_pages_show_no_english_to_any_role(client, town):
    english, rendered = _walk(town, client, KEY_PAGES)
    unrendered = {_url(r, town[k] if k else None) for r, k in KEY_PAGES} - rendered
    assert not unrendered, f"no role could open: {sorted(unrendered)}"
    assert not english, f"{len(english)} English words:\n{_report(english)}"


# Parameterless routes that are no page: data, files, streams and actions.
NOT_PAGES = {
    "healthz": "a health check",
    "set_language": "POST only: the language switch",
    "logout": "ends the session",
    "live:stream": "an event stream that never ends",
    "reports:home": "redirects to the role's first page",
}
NOT_PAGE_SUFFIXES = (".json", ".geojson", ".xlsx", ".svg", ".jpg")


def _pages_without_parameters(patterns=None, namespace="", prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith(("admin/", "api/")):
                continue
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _pages_without_parameters(pattern.url_patterns, ns, route)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}{pattern.name}"
            if (
                name in NOT_PAGES
                or route.endswith(NOT_PAGE_SUFFIXES)
                or pattern.pattern.regex.groups
            ):
                continue
            yield name


def test_every_page_without_parameters_shows_no_english_to_any_role(client, town):
    pages = [(name, None) for name in sorted(set(_pages_without_parameters()))]
    english, _rendered = _walk(town, client, pages)
    assert not english, f"{len(english)} English words:\n{_report(english)}"


# --- the API's refusals -------------------------------------------------------------------


def _json_words(body, known: set[str]) -> set[str]:
    texts: list[str] = []

    def collect(value) -> None:
        if isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, str):
            texts.append(value)

    collect(body)  # values only: a 400's keys name the fields, the API's own identifiers
    return latin_words(texts, known)


@pytest.mark.parametrize("header", [{}, {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}])
def test_api_refusals_are_in_chinese(client, town, header):
    users, moved_on = town["users"], town["moved_on"]
    base = "/api/v1/alarm-cases"

    def post(url, data=None):
        return client.post(url, data or {}, content_type="application/json", **header)

    refusals = {}
    refusals["401 signed out"] = client.get(f"{base}/", **header)
    sign_in(client, users["dispatcher"])
    refusals["404 no such case"] = client.get(f"{base}/999999/", **header)
    refusals["409 moved on"] = post(f"{base}/{moved_on.pk}/acknowledge/")
    refusals["400 no such unit"] = post(f"{base}/{moved_on.pk}/dispatch/", {"units": [999999]})
    refusals["400 no disposition"] = post(f"{base}/{moved_on.pk}/resolve/", {"disposition": ""})
    refusals["400 bad filter"] = client.get(f"{base}/?state=无此状态", **header)
    refusals["400 bad hazard"] = post("/api/v1/hazards/", {"kind": "internal"})
    refusals["409 hazard step"] = post(f"/api/v1/hazards/{town['spot'].pk}/submit/")
    client.logout()
    sign_in(client, users["school_admin"])
    alarm = town["patrol_alarm"]
    refusals["409 patrol alarm"] = post(f"/api/v1/patrol-alarms/{alarm.pk}/resolve/")
    client.logout()
    sign_in(client, users["volunteer"])
    refusals["403 role"] = client.get(f"{base}/", **header)

    english = {}
    for what, response in refusals.items():
        assert response.status_code == int(what[:3]), (what, response.status_code)
        words = _json_words(response.json(), town["known"])
        if words:
            english[what] = (words, response.json())
    assert not english, "\n".join(f"{k}: {v}" for k, v in english.items())


def test_the_checker_reads_the_values_of_an_api_body_not_its_keys():
    body = {"detail": "No AlarmCase matches the given query.", "units": ["请选择"]}
    assert set(_json_words(body, set())) == {"No", "AlarmCase", "matches", "the", "given", "query"}


# --- one English word, two meanings --------------------------------------------------------


def test_a_status_reads_as_a_status_not_as_its_column():
    """A word with two meanings gets two translations: "Reported" is a hazard's status
    (已上报), a step on its timeline (上报) and the column of when it was reported
    (上报时间); "Open" is a state on the hazard map and of a patrol alarm, and a button
    (打开) elsewhere."""
    from django.utils import translation
    from django.utils.translation import gettext, pgettext

    from campus_safety.hazards.models import Hazard, HazardEvent
    from campus_safety.patrols.models import PatrolAlarm

    with translation.override("zh-hans"):
        assert Hazard.Status.REPORTED.label == "已上报"
        assert HazardEvent.Step.REPORTED.label == "上报"
        assert gettext("Reported") == "上报时间"
        assert pgettext("hazard state", "Open") == "未办结"
        assert PatrolAlarm.State.OPEN.label == "未处理"
        assert gettext("Open") == "打开"


def test_the_alarm_banner_names_its_case_in_chinese(client, town):
    """The banner on every page (filled by script from this JSON) says the priority and
    the escalation in words, not "P1" and "L1"."""
    sign_in(client, town["users"]["dispatcher"])
    named = client.get(reverse("alarms:unacknowledged")).json()["case"]
    assert named["id"] == town["case"].pk and named["escalation_level"] == 1
    shown = [named[k] for k in ("priority_label", "priority_text", "escalation_text", "key_area")]
    assert not latin_words(shown, set()), shown
    assert named["escalation_text"] == "已升级至第 1 级"
