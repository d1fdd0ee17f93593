"""操作名称 — what each audit action code means, in the reader's words.

The log stores stable codes (``alarm.acknowledge``, ``school.update``) so that it can be
searched and exported unchanged for years; the page shows a phrase, the export keeps
both. Codes come from three places, and every one of them has a phrase here:

* explicit ``audit.services.record`` calls in the services (``alarm.acknowledge``…);
* sign-in steps announced by ``accounts.signals.announce`` (``auth.second_factor``…);
* the model signals, ``<model>.create/update/delete`` for every model of
  ``audit.signals.AUDITED_APPS``, phrased from the model's own verbose name.

A code nobody has phrased yet (a new feature) is shown as it is, never hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from campus_safety.audit.signals import AUDITED_APPS

# What ``import.<kind>`` brings in (spreadsheets.Registry kinds) and ``export.<kind>``
# takes out (those, the patrol lists, the hazard list and the summary report).
IMPORT_KINDS: dict[str, Promise] = {
    "schools": _("Schools"),
    "guards": _("Guards"),
    "equipment": _("Protective equipment"),
    "devices": _("Devices"),
    "students": _("Students and their pick-up persons"),  # gate (issue #17)
}
EXPORT_KINDS: dict[str, Promise] = {
    **IMPORT_KINDS,
    "posts": _("Gate posts"),
    "roster": _("Roster"),
    "tours": _("Tour compliance"),
    "gate_visits": _("Visitors at the gate"),  # gate (issue #17)
    "gate_pickups": _("Student pick-ups"),
    "field_stops": _("Field stops"),
    "hazards": _("Hazards"),
    "summary": _("Summary report"),
    "targets": _("4×100% target attainment"),  # reports boards
    "availability": _("Device availability"),
    "campaign": _("Campus safety campaign progress report"),
    "scheduled_report": _("Scheduled report"),
    "inspections": _("Daily inspection results"),  # inspections
    "inspection_notices": _("Rectification notices"),
    "intel_incidents": _("School-related incidents"),  # intel
    "intel_leads": _("Leads"),
}


@dataclass(frozen=True)
class Group:
    """A set of actions the filter offers together (one ``<optgroup>``)."""

    key: str  # the filter value selecting the whole group; codes always contain a dot
    label: Promise
    actions: dict[str, Promise]


def _transfers() -> dict[str, Promise]:
    actions: dict[str, Promise] = {}
    for verb, phrase, kinds in (
        ("import", _("Imported {what}"), IMPORT_KINDS),
        ("export", _("Exported {what}"), EXPORT_KINDS),
    ):
        for kind, what in kinds.items():
            actions[f"{verb}.{kind}"] = format_lazy(phrase, what=what)
    actions["audit.export"] = _("Exported the audit log")
    return actions


EXPLICIT_GROUPS: tuple[Group, ...] = (
    Group(
        "sign_in",
        _("Sign-in and account security"),
        {
            "auth.login": _("Signed in"),
            "auth.logout": _("Signed out"),
            "auth.login_failed": _("Sign-in failed"),
            "auth.locked_out": _("Locked out after failed sign-ins"),
            "auth.second_factor": _("Two-factor verification"),
            "auth.second_factor_enrolled": _("Set up two-factor verification"),
            "personal_data.reveal": _("Viewed unmasked personal data"),
        },
    ),
    Group(
        "alarms",
        _("Alarm handling"),
        {
            "alarm.acknowledge": _("Acknowledged an alarm"),
            "alarm.dispatch": _("Dispatched police"),
            "alarm.en_route": _("Unit on its way"),
            "alarm.arrive": _("Unit arrived on scene"),
            "alarm.close": _("Closed an alarm case"),
            "alarm.context_contacts": _("Viewed the contacts of an alarm's school"),
            "alarm.test_window": _("Planned an alarm drill"),
        },
    ),
    Group(
        "hazards",
        _("Hazards and inspections"),
        {
            "hazard.report": _("Reported a hazard"),
            "hazard.assigned": _("Assigned a hazard"),
            "hazard.reassigned": _("Reassigned a hazard"),
            "hazard.start": _("Started a rectification"),
            "hazard.progress": _("Noted rectification progress"),
            "hazard.submit": _("Submitted a fix for verification"),
            "hazard.verify": _("Verified a fix"),
            "hazard.return": _("Returned a fix for more work"),
            "hazard.close": _("Closed a hazard"),
            "hazard.dismiss": _("Dismissed a hazard report"),
            "hazard.photos": _("Added hazard photos"),
            "campaign.create": _("Started an inspection campaign"),
        },
    ),
    Group(
        "patrols",
        _("Patrols and gate posts"),
        {
            "patrol.alarm.acknowledge": _("Acknowledged a patrol alarm"),
            "patrol.alarm.resolve": _("Resolved a patrol alarm"),
            "patrol.roster.generate": _("Generated the gate-post roster"),
            "patrol.roster.swap": _("Swapped a roster entry"),
            "patrol.post.check_in": _("Checked in at a gate post"),
            "patrol.post.check_out": _("Checked out of a gate post"),
        },
    ),
    Group(
        "devices",
        _("Device access"),
        {
            "device.approve": _("Approved a device"),
            "device.reject": _("Rejected a device"),
            "device.query.status": _("Asked a device for its status"),
            "device.query.info": _("Asked a device for its information"),
            "device.query.catalog": _("Asked a device for its channels"),
        },
    ),
    Group(
        "gate",
        _("Gate"),
        {
            "gate.watchlist_read": _("Read the police watch-list"),
            "gate.check_in": _("Checked a visitor in at the gate"),
            "gate.check_out": _("Checked a visitor out at the gate"),
            "gate.pickup_release": _("Released a child to a pick-up person"),
            "gate.pickup_refuse": _("Refused a pick-up at the gate"),
            "gate.pickup_hold": _("Held a pick-up for verification"),
            "gate.watchlist_hit": _("Watch-list match at a school gate"),
            "gate.pickup_code_issue": _("Issued a one-time pick-up code"),
            "gate.pickup_code_refuse": _("Refused a pick-up code at the gate"),
            "gate.guardian_link_issue": _("Sent a guardian the pick-up list link"),
            "gate.guardian_confirm": _("A guardian confirmed the pick-up list"),
            "gate.guardian_add_person": _("A guardian asked for a pick-up person"),
        },
    ),
    Group(
        "video",
        _("Video surveillance"),
        {
            "video.view_start": _("Started watching a camera"),
            "video.view_stop": _("Stopped watching a camera"),
            "video.ptz": _("Steered a camera (pan, tilt, zoom)"),
            "video.camera_links": _("Set the cameras linked to an alarm point"),
            "video.download": _("Downloaded a recording clip (MP4)"),
            "video.download_fetch": _("Saved a downloaded recording clip"),
            "video.download_result": _("A recording clip download finished or failed"),
            "video.playback_control": _("Paused, jumped or changed the speed of a playback"),
            "video.preset": _("Named, saved or deleted a camera preset"),
        },
    ),
    Group(
        "inspections",
        _("Online inspection"),
        {
            "inspection.plan": _("Planned a video patrol"),
            "inspection.patrol_start": _("Started a video patrol"),
            "inspection.patrol_finish": _("Finished a video patrol"),
            "inspection.finding": _("Noted a finding on a video patrol"),
            "inspection.notice": _("Issued a rectification notice"),
            "inspection.notice_auto": _(
                "Issued a rectification notice automatically after the daily inspection"
            ),
            "inspection.system_issuer": _(
                "Created a bureau's system account for automatic inspection notices"
            ),
            "inspection.notice_answer": _("Answered a rectification notice"),
            "inspection.notice_accept": _("Accepted a rectification notice's answer"),
            "inspection.notice_return": _("Returned a rectification notice's answer"),
            "inspection.vqd_reference": _("Reset a camera's reference picture"),
        },
    ),
    Group(
        "intel",
        _("Crackdown and early warning"),
        {
            "intel.incident.create": _("Recorded a school-related incident"),
            "intel.incident.update": _("Edited a school-related incident"),
            "intel.dispatch.import": _("Imported 110 dispatch records"),
            "intel.person.reveal": _("Revealed a person's full details"),
            "intel.lead.submit": _("Submitted a lead"),
            "intel.lead.triage": _("Triaged a lead"),
            "intel.lead.verify": _("Started verifying a lead"),
            "intel.lead.convert": _("Turned a lead into an incident"),
            "intel.lead.merge": _("Merged a lead into an incident"),
            "intel.lead.dismiss": _("Dismissed a lead"),
            "intel.alert.raise": _("Raised an early-warning alert"),
            "intel.alert.acknowledge": _("Acknowledged an early-warning alert"),
            "intel.alert.assess": _("Assessed an early-warning alert"),
            "intel.alert.close": _("Closed an early-warning alert"),
            "intel.group.detect": _("Detected a group of linked persons"),
            "intel.operation.create": _("Started a special operation"),
            "intel.operation.entry": _("Recorded an operation's lead, arrests or patrol"),
            "intel.operation.unlink": _("Unlinked a lead from a special operation"),
        },
    ),
    Group(
        "linkage",
        _("Police-school linkage"),
        {
            "police_room.create": _("Set up a campus police room"),
            "police_room.update": _("Changed a campus police room"),
            "duty_log.create": _("Wrote a police-room duty log entry"),
            "duty_log.lead": _("Turned a duty-log problem into a lead"),
            "emergency_plan.submit": _("Submitted an emergency plan"),
            "drill.record": _("Recorded an emergency drill"),
            "drill.schedule_joint": _("Scheduled a joint drill with the police"),
            "lecture.record": _("Recorded a safety lecture"),
            "notice.send": _("Sent a notice to schools"),
            "notice.confirm": _("Confirmed receipt of a notice"),
            "notice.remind": _("Reminded schools to confirm a notice"),
            "notice.forward": _("Forwarded a notice to schools and units"),
        },
    ),
    Group(
        "discipline",
        _("Student discipline records"),
        {
            "discipline.create": _("Recorded a discipline case"),
            "discipline.read": _("Opened a discipline record"),
            "discipline.list": _("Listed discipline records"),
            "discipline.export": _("Exported discipline records"),
            "discipline.plan_follow_up": _("Planned a follow-up visit"),
            "discipline.follow_up": _("Recorded a follow-up visit"),
            "discipline.seal": _("Sealed discipline records past their follow-up period"),
            "discipline.search_sealed": _("Searched sealed discipline records"),
            "discipline.unseal_request": _("Asked to open a sealed record"),
            "discipline.unseal_approve": _("Approved opening a sealed record"),
        },
    ),
    Group(
        "reports",
        _("Scheduled reports"),
        {"report.generated": _("Generated a scheduled report")},
    ),
    Group("transfers", _("Imports and exports"), _transfers()),
    Group(
        "demo",
        _("Demo data"),
        {
            "demo.seed": _("Created the demo city"),
            "demo.reset": _("Removed the demo data"),
        },
    ),
)

MODEL_OPERATIONS: dict[str, Promise] = {
    "create": _("Created {what}"),
    "update": _("Changed {what}"),
    "delete": _("Deleted {what}"),
}

CHANNELS: dict[str, Promise] = {
    "ui": _("Web"),
    "api": _("API"),
    "admin": _("Admin site"),
    "cli": _("Command line"),
    "system": _("System"),
    "device": _("Device (gateway)"),
}


@cache
def groups() -> tuple[Group, ...]:
    """Every group the filter offers: the explicit ones, then one per audited app for
    its records' create/update/delete (built once the app registry is ready)."""
    explicit = {code for group in EXPLICIT_GROUPS for code in group.actions}
    record_groups = []
    for config in apps.get_app_configs():
        if config.label not in AUDITED_APPS:
            continue
        actions = {
            f"{model._meta.model_name}.{op}": format_lazy(phrase, what=model._meta.verbose_name)
            for model in config.get_models()
            for op, phrase in MODEL_OPERATIONS.items()
        }
        actions = {code: label for code, label in actions.items() if code not in explicit}
        if actions:
            label = format_lazy(_("Record changes · {app}"), app=config.verbose_name)
            record_groups.append(Group(f"records_{config.label}", label, actions))
    return (*EXPLICIT_GROUPS, *record_groups)


@cache
def _phrases() -> dict[str, Promise]:
    return {code: label for group in groups() for code, label in group.actions.items()}


def is_known(code: str) -> bool:
    return code in _phrases()


def action_label(code: str) -> str:
    """The phrase for ``code`` in the active language; an unknown code as it is."""
    label = _phrases().get(code)
    return str(label) if label is not None else code


def channel_label(channel: str) -> str:
    label = CHANNELS.get(channel)
    return str(label) if label is not None else channel


def matching_actions(value: str) -> tuple[str, Iterable[str] | str]:
    """How the action filter's ``value`` selects entries: a group key selects its codes
    (``"in"``), a code ending in a dot the family (``"prefix"``), anything else itself."""
    for group in groups():
        if group.key == value:
            return "in", list(group.actions)
    if value.endswith("."):
        return "prefix", value
    return "exact", value
