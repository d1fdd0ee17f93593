"""The scope matrix: every route, every role, two scopes — nothing crosses over.

The routes come from the URL conf itself, so a new page or endpoint is walked the day
it is added. A new route with an object parameter fails here until it is mapped to
the model it exposes (``OBJECT_ROUTES``) or listed, with a reason, in ``EXEMPT``.
"""

import io
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from openpyxl import load_workbook

from campus_safety.accounts.models import User
from campus_safety.orgs.models import Organisation
from campus_safety.workforce.models import Equipment, Guard
from tests.factories import (
    CountyFactory,
    EquipmentFactory,
    GuardFactory,
    OrganisationFactory,
    SchoolFactory,
    UserFactory,
    sign_in,
)

pytestmark = pytest.mark.django_db

# Routes that carry no scoped data, with the reason.
EXEMPT = {
    "healthz": "database check only",
    "set_language": "language switch",
    "login": "public sign-in form",
    "logout": "ends the session",
    "two_factor_verify": "own second factor",
    "two_factor_setup": "own second factor",
    "two_factor_recovery": "own recovery codes",
    "api-schema": "the API's description, no data",
    "api-docs": "the API's description, no data",
    "audit:entry_list": "platform-wide by design: auditors are platform-level (等保 audit admin)",
    "audit:export": "platform-wide by design, as above",
    "live:stream": "never ends by itself; its scoping is tested in tests/live/test_stream.py",
    "video:stream": "a signed token for one user and camera, never an ID (tests/video)",
    "video:download": "a random job id readable by the user who asked only (tests/video)",
    "intel-operation-lead-unlink": "DELETE only, by the lead's reference beside the operation's "
    "id (tests/intel/test_operation_api.py)",
}
# Routes with an object in the URL → which kind of object it is.
OBJECT_ROUTES = {
    "schools:school_detail": "school",
    "reports:school_home": "school",
    # Availability and kept reports (issue #21).
    "reports:device_availability": "device",
    "reports:school_availability": "school",
    "reports:report_pdf": "generated_report",
    "reports:report_xlsx": "generated_report",
    "reports:report_figures": "generated_report",
    "report-generated-detail": "generated_report",
    "report-generated-figures": "generated_report",
    # Crackdown and early warning (issue #18).
    "intel:alert": "intel_alert",
    "intel:alert_step": "intel_alert",
    "intel:alert_operation": "intel_alert",
    "intel:incident": "intel_incident",
    "intel:incident_edit": "intel_incident",
    "intel:lead": "intel_lead",
    "intel:group": "intel_group",
    "intel:operation": "intel_operation",
    "intel:operation_entry": "intel_operation",
    "intel-alert-detail": "intel_alert",
    "intel-alert-step": "intel_alert",
    "intel-incident-detail": "intel_incident",
    "intel-lead-detail": "intel_lead",
    "intel:person_reveal": "intel_person",
    "intel-incident-reveal": "intel_incident",
    "intel-group-detail": "intel_group",
    "intel-operation-detail": "intel_operation",
    "intel-operation-arrests": "intel_operation",
    "intel-operation-patrols": "intel_operation",
    "intel-operation-leads": "intel_operation",
    "school-detail": "school",
    "guard-detail": "guard",
    "equipment-detail": "equipment",
    "token_revoke": "token",
    "reveal": "reveal",
    "imports:upload": "registry",
    "imports:job": "import_job",
    "orgs:import_template": "registry",
    "alarm-case-detail": "alarm_case",
    "alarms:case_detail": "alarm_case",
    "alarms:case_part": "alarm_case",
    "alarms:acknowledge": "alarm_case",
    "alarms:dispatch": "alarm_case",
    "alarms:en_route": "alarm_case",
    "alarms:arrive": "alarm_case",
    "alarms:close": "alarm_case",
    "alarm-case-acknowledge": "alarm_case",
    "alarm-case-dispatch": "alarm_case",
    "alarm-case-en-route": "alarm_case",
    "alarm-case-arrive": "alarm_case",
    "alarm-case-resolve": "alarm_case",
    "test-window-detail": "test_window",
    "police-unit-detail": "public",
    "devices:device_detail": "device",
    "devices:device_edit": "device",
    "devices:device_query": "device",
    "devices:device_snapshot": "device",
    "devices:approve": "pending_device",
    "devices:reject": "pending_device",
    "device-detail": "device",
    # The gate (issue #17).
    "gate:badge": "gate_visit",
    "gate:photo": "gate_visit",
    "gate:reveal_entry": "gate_watchlist_entry",
    "gate-visit-detail": "gate_visit",
    "gate-visit-check-out": "gate_visit",
    "gate-vehicle-detail": "gate_vehicle",
    "gate-passage-detail": "gate_passage",
    "gate-student-detail": "gate_student",
    "gate-pickup-person-detail": "gate_pickup_person",
    "gate-pickup-person-approve": "gate_pickup_person",
    "gate-pickup-detail": "gate_pickup",
    "gate-watchlist-detail": "gate_watchlist_entry",
    "gate-watchlist-end": "gate_watchlist_entry",
    "gate-watchlist-hit-detail": "gate_watchlist_hit",
    "device-history": "device",
    "device-channels": "device",
    "device-approve": "pending_device",
    "device-reject": "pending_device",
    "region-detail": "public",
    # Police-school linkage (issue #20).
    "linkage:room_detail": "school",
    "linkage:discipline_detail": "discipline_record",
    "linkage:unseal_request": "discipline_record",
    "linkage:guardian_notice": "discipline_record",
    "linkage:follow_up_done": "follow_up",
    "linkage:unseal_approve": "unseal_request",
    "linkage:drill_photo": "drill",
    "linkage:plan_decide": "emergency_plan",
    "linkage:notice_detail": "notice",
    "linkage:notice_remind": "notice",
    "linkage:notice_attachment": "notice",
    "linkage-police-room-detail": "police_room",
    "linkage-duty-log-detail": "duty_log",
    "linkage-discipline-detail": "discipline_record",
    "linkage-plan-detail": "emergency_plan",
    "linkage-drill-detail": "drill",
    "linkage-notice-detail": "notice",
    "linkage-notice-receipts": "notice",
    "linkage-notice-confirm": "notice",
    "linkage-notice-remind": "notice",
    "linkage-notice-forward": "notice",
    "linkage-lecture-detail": "lecture",
    "hazards:detail": "hazard",
    "hazards:step": "hazard",
    "hazards:photo": "hazard_photo",
    "hazards:campaign_detail": "campaign",
    "hazards:checklist": "checklist",
    "hazard-detail": "hazard",
    "hazard-assign": "hazard",
    "hazard-start": "hazard",
    "hazard-progress": "hazard",
    "hazard-submit": "hazard",
    "hazard-verify": "hazard",
    "hazard-return": "hazard",
    "hazard-close": "hazard",
    "hazard-dismiss": "hazard",
    "hazard-photos": "hazard",
    "campaign-detail": "campaign",
    "checklist-detail": "checklist",
    "checklist-answer": "checklist",
    # Online inspection (issue #19).
    "inspections:school": "school",
    "inspections:issue_from_result": "inspection_result",
    "inspections:patrol": "video_patrol",
    "inspections:snapshot": "camera",
    "inspections:finding_snapshot": "inspection_finding",
    "inspections:notice": "inspection_notice",
    "inspections:vqd_camera": "camera",
    "inspections:vqd_summary": "camera",
    "inspections:vqd_picture": "quality_check",
    "inspection-result-detail": "inspection_result",
    "inspection-notice-detail": "inspection_notice",
    "inspection-notice-answer": "inspection_notice",
    "inspection-notice-accept": "inspection_notice",
    "inspection-notice-return": "inspection_notice",
    "inspection-patrol-detail": "video_patrol",
    "inspection-finding-detail": "inspection_finding",
    "inspection-camera-detail": "camera_quality",
    "patrols:school_rounds": "school",
    "patrols:checkpoint_qr": "checkpoint",
    "patrols:checkpoint_edit": "checkpoint",
    "patrols:route_edit": "tour_route",
    "patrols:plan_edit": "tour_plan",
    "patrols:post_edit": "gate_post",
    "patrols:timetable_edit": "school",
    "patrols:scan": "checkpoint",
    "patrols:check_in": "gate_post",
    "patrols:check_out": "gate_post",
    "patrols:roster_swap": "post_assignment",
    "patrols:alarm_acknowledge": "patrol_alarm",
    "patrols:alarm_resolve": "patrol_alarm",
    "patrol-checkpoint-detail": "checkpoint",
    "patrol-route-detail": "tour_route",
    "patrol-plan-detail": "tour_plan",
    "patrol-round-detail": "tour_round",
    "patrol-scan-detail": "tour_scan",
    "patrol-alarm-detail": "patrol_alarm",
    "patrol-alarm-acknowledge": "patrol_alarm",
    "patrol-alarm-resolve": "patrol_alarm",
    "gate-post-detail": "gate_post",
    "gate-post-check-in": "gate_post",
    "gate-post-check-out": "gate_post",
    "post-roster-detail": "post_assignment",
    "post-roster-swap": "post_assignment",
    "post-check-in-detail": "post_check_in",
    "grid-route-detail": "grid_route",
    "patrol-log-detail": "patrol_log",
    "field-stop-detail": "field_stop",
    "organisation-detail": "public",
    # Live video (issue #16).
    "video:camera": "camera",
    "video:start": "camera",
    "video:ptz": "camera",
    "video:recordings": "camera",
    "video:presets": "camera",
    "video:playback": "camera",
    "video:download_start": "camera",
    "video:presets_read": "camera",
    "video-camera-presets": "camera",
    "video-camera-read-presets": "camera",
}
ROLES = [r for r, _ in User.Role.choices]


def routes(patterns=None, namespace=""):
    """(view name, parameter names) for every route, admin aside (superusers only)."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("admin/"):
                continue
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from routes(pattern.url_patterns, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            params = set(getattr(pattern.pattern, "converters", {})) | set(
                pattern.pattern.regex.groupindex
            )
            yield f"{namespace}{pattern.name}", params


def side(code: str, mark: str, quantity: int):
    county = CountyFactory(code=code, name=f"县{code}")
    station = OrganisationFactory(kind=Organisation.Kind.POLICE_STATION, region=county)
    bureau = OrganisationFactory(kind=Organisation.Kind.EDUCATION_BUREAU, region=county)
    school = SchoolFactory(
        code=f"{code}9999"[:10].ljust(10, "7"),
        region=county,
        police_station=station,
        name=f"{mark}学校",
        address=f"{mark}路",
    )
    guard = GuardFactory(school=school, name=f"{mark}保安", certificate_number=f"{mark}C")
    equipment = EquipmentFactory(school=school, kind=Equipment.Kind.SHIELD, quantity=quantity)
    alarm_case, test_window = alarm_objects(school)
    device, pending_device = device_objects(school, mark)
    camera = video_objects(school, device, mark)
    hazard_kinds = hazard_objects(school, mark)
    patrol = patrol_objects(school, station, mark)
    linkage = linkage_objects(school, station, mark)
    users = {}
    for role in ROLES:
        scope = {"region": county}
        if role == "police_officer":
            scope = {"organisation": station}
        elif role == "education_staff":
            scope = {"organisation": bureau}
        elif role in {"school_admin", "guard", "volunteer"}:
            scope = {"school": school}
        users[role] = UserFactory(username=f"{role}_{code}", role=role, **scope)
    return {
        "school": school,
        "guard": guard,
        **intel_objects(school, station, mark),
        "equipment": equipment,
        "alarm_case": alarm_case,
        **gate_objects(school, station, mark),
        "test_window": test_window,
        "device": device,
        "pending_device": pending_device,
        "camera": camera,
        **hazard_kinds,
        **inspection_objects(school, station, mark, camera),
        **patrol,
        **linkage,
        "users": users,
        "import_job": import_job(users["education_staff"], mark),
        "generated_report": generated_report(county, mark),
        "marks": [mark, school.code, f"{mark}C", str(quantity)],
    }


def generated_report(county, mark):
    """A weekly report kept for the side's district: for those whose scope covers it."""
    import datetime as dt

    from campus_safety import clock
    from campus_safety.reports.models import GeneratedReport

    today = clock.now().date()
    return GeneratedReport.objects.create(
        kind=GeneratedReport.Kind.WEEKLY,
        region=county,
        period_start=today - dt.timedelta(days=7),
        period_end=today - dt.timedelta(days=1),
        generated_at=clock.now(),
        figures={"title": mark},
        pdf=f"%PDF {mark}".encode(),
        xlsx=b"",
    )


def import_job(user, mark):
    """An upload of the side's education bureau: its uploader's alone, whatever the role."""
    from campus_safety import clock
    from campus_safety.imports.models import ImportJob

    return ImportJob.objects.create(
        kind="schools",
        created_by=user,
        file_name=f"{mark}.xlsx",
        keep_good=False,
        queued_at=clock.now(),
        problems=[[2, "学校名称", mark]],
    )


def alarm_objects(school):
    """An open alarm case and a drill window at the school."""
    import datetime as dt

    from campus_safety import clock
    from campus_safety.alarms.models import AlarmCase, TestWindow
    from tests.devices.support import DeviceFactory

    now = clock.now()
    device = DeviceFactory(school=school)
    case = AlarmCase.objects.create(school=school, device=device, opened_at=now, last_event_at=now)
    window = TestWindow.objects.create(
        school=school, starts_at=now, ends_at=now + dt.timedelta(hours=1), reason="drill"
    )
    return case, window


def gate_objects(school, station, mark):
    """A visit, a vehicle and its passage, a student with a pick-up person and a release,
    a watch-list entry of the station and its hit at the school (police eyes only)."""
    from tests.gate.support import scope_matrix_objects

    return scope_matrix_objects(school, station, mark)


def patrol_objects(school, station, mark):
    """One of everything the patrols app keeps, at the school (or its station)."""
    from tests.patrols.support import scope_matrix_objects

    return scope_matrix_objects(school, station, mark)


def linkage_objects(school, station, mark):
    """A police room and its log, a 训诫 record (and a sealed one with an unseal request),
    a plan, a drill, a notice to the school, a lecture."""
    from tests.linkage.support import scope_matrix_objects

    return scope_matrix_objects(school, station, mark)


def hazard_objects(school, mark):
    """A trouble spot, its photo, a campaign and the school's checklist in it."""
    from tests.hazards.support import scope_matrix_objects

    return scope_matrix_objects(school, mark)


def inspection_objects(school, station, mark, camera):
    """A daily result, a video patrol with a finding and its notice, a camera's quality."""
    from tests.inspections.support import scope_matrix_objects

    return scope_matrix_objects(school, station, mark, camera)


def device_objects(school, mark):
    """An NVR at the school, and a device of the school waiting for approval."""
    from campus_safety.devices.models import Device
    from tests.devices.support import DeviceFactory

    device = DeviceFactory(school=school, name=f"{mark}录像机", kind="nvr", protocol="gb28181")
    pending = DeviceFactory(school=school, name=f"{mark}待批设备", is_approved=False)
    assert Device.objects.filter(pk=pending.pk, is_approved=False).exists()
    return device, pending


def video_objects(school, nvr, mark):
    """A camera behind the school's NVR, linked to an alarm box of the school."""
    from campus_safety.video.models import CameraLink
    from tests.devices.support import DeviceFactory

    camera = DeviceFactory(
        school=school, parent=nvr, name=f"{mark}摄像机", kind="camera", protocol="gb28181"
    )
    box = DeviceFactory(school=school, name=f"{mark}报警箱")
    CameraLink.objects.create(school=school, alarm_device=box, camera=camera)
    return camera


@pytest.fixture
def world():
    return {"a": side("371402", "ALPHAMARK", 987654), "b": side("371403", "BRAVOMARK", 876543)}


def body_text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK"):
        book = load_workbook(io.BytesIO(content), read_only=True)
        return " ".join(
            str(c)
            for ws in book.worksheets
            for row in ws.iter_rows(values_only=True)
            for c in row
            if c is not None
        )
    return content.decode("utf-8", "replace")


def url_for(name: str, params: set[str], pk=None) -> str:
    kwargs = {}
    if "format" in params:
        kwargs["format"] = "json"
    if pk is not None:
        kwargs["pk"] = pk
    return reverse(name, kwargs=kwargs)


def test_every_route_is_known_to_the_matrix():
    unknown = [
        name
        for name, params in routes()
        if name not in EXEMPT and params - {"format"} and name not in OBJECT_ROUTES
    ]
    assert unknown == [], "new routes with an object parameter: add them to OBJECT_ROUTES"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("mine", "theirs"), [("a", "b"), ("b", "a")])
def test_no_route_shows_another_scopes_objects(client, world, role, mine, theirs):
    user = world[mine]["users"][role]
    sign_in(client, user)
    other = world[theirs]
    leaks = []
    for name, params in routes():
        if name in EXEMPT:
            continue
        kind = OBJECT_ROUTES.get(name) if params - {"format"} else None
        if params - {"format"} and kind in (None, "public"):
            continue
        if kind is None:
            url = url_for(name, params)
            urls = [url, url + ("&" if "?" in url else "?") + "export=xlsx"]
            for u in urls:
                response = client.get(u)
                if response.status_code == 200:
                    text = body_text(response)
                    leaks += [(u, m) for m in other["marks"] if m in text]
            continue
        if kind == "registry":
            for registry in ("schools", "guards", "equipment"):
                response = client.get(reverse(name, args=[registry]))
                if response.status_code == 200:
                    text = body_text(response)
                    leaks += [(name, m) for m in other["marks"] if m in text]
            continue
        if kind == "reveal":
            for label, obj, field in [
                ("orgs.school", other["school"], "principal_phone"),
                ("workforce.guard", other["guard"], "phone"),
            ]:
                response = client.post(reverse(name, args=[label, obj.pk, field]))
                if response.status_code != 404:
                    leaks.append((name, f"reveal {label} → {response.status_code}"))
            continue
        if kind == "token":
            from campus_safety.accounts.tokens import create_token

            row, _ = create_token(other["users"][role], "theirs")
            response = client.post(url_for(name, params, row.pk))
            row.refresh_from_db()
            if response.status_code != 404 or row.revoked_at is not None:
                leaks.append((name, f"token revoke → {response.status_code}"))
            continue
        obj = other[kind]
        own = world[mine][kind]
        theirs_status = client.get(url_for(name, params, obj.pk)).status_code
        own_status = client.get(url_for(name, params, own.pk)).status_code
        # 405: a POST-only action answers GET before it looks anything up (no leak).
        if theirs_status != 404 and not (
            theirs_status == own_status and theirs_status in {302, 403, 405}
        ):
            leaks.append((name, f"GET other {theirs_status}, own {own_status}"))
        if name.endswith("-detail"):
            for method in ("patch", "put", "delete"):
                response = getattr(client, method)(
                    url_for(name, params, obj.pk), {}, content_type="application/json"
                )
                if response.status_code not in {403, 404, 405}:  # 405: read-only route
                    leaks.append((name, f"{method.upper()} other → {response.status_code}"))
            assert type(obj).objects.filter(pk=obj.pk).exists()
    assert leaks == []


@pytest.mark.parametrize("role", ROLES)
def test_bulk_acknowledge_never_reaches_another_scopes_cases(client, world, role):
    """``alarms:acknowledge_many`` takes its cases in the POST body, out of the walk
    above: the other side's case is never acknowledged nor named."""
    sign_in(client, world["a"]["users"][role])
    theirs = world["b"]["alarm_case"]
    url = reverse("alarms:acknowledge_many")
    response = client.post(url, {"cases": [theirs.pk]}, follow=True)
    assert response.status_code in {200, 403}
    assert not any(mark in body_text(response) for mark in world["b"]["marks"])
    theirs.refresh_from_db()
    assert theirs.state == "received"


@pytest.mark.parametrize("role", ROLES)
def test_school_search_never_finds_another_scopes_school(client, world, role):
    """``schools:search`` (the forms' school picker) is walked above with no text; here
    it is asked for the other side's school by name, code and district: nothing."""
    sign_in(client, world["a"]["users"][role])
    theirs = world["b"]["school"]
    for text in ("BRAVOMARK", theirs.code[:6], theirs.region.name, ""):
        response = client.get(reverse("schools:search"), {"q": text})
        assert response.status_code in {200, 403}, text
        if response.status_code == 200:
            assert theirs.pk not in [r["id"] for r in response.json()["results"]], text
            assert not any(mark in body_text(response) for mark in world["b"]["marks"])


def test_the_matrix_notices_a_leak(client, world):
    """The marker check itself works: a superuser sees the other side's markers."""
    admin = UserFactory(is_superuser=True, is_staff=True, username="root")
    sign_in(client, admin)
    text = body_text(client.get("/api/v1/schools/"))
    assert all(m in text for m in world["b"]["marks"][:2])
    assert re.search("BRAVOMARK", body_text(client.get(reverse("schools:school_list"))))


def test_admin_is_closed_to_every_role_but_superusers(client, world):
    for role in ROLES:
        sign_in(client, world["a"]["users"][role])
        response = client.get(f"/admin/workforce/guard/{world['b']['guard'].pk}/change/")
        assert response.status_code == 302 and "/admin/login/" in response.url, role
        client.logout()
    assert Guard.objects.count() == 2


def intel_objects(school, station, mark):
    """An incident with a person, a lead, an early-warning alert, a group, an operation."""
    from tests.intel.support import scope_matrix_objects

    return scope_matrix_objects(school, station, mark)
