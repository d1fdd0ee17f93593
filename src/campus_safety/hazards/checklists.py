"""Checklist templates shipped with the platform, built from the GB/T 29315-2022 facility
matrix (RULES.md §1): one item per facility of a key area, "shall" (应) items weigh more
than "should" (宜) ones when answered "no".

Templates are data, not database rows: every campaign names its template by key, and
the answers copy the item's key area and facility so a later edit of this file does
not rewrite history.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from campus_safety.devices.models import KeyArea

SHALL, SHOULD = "shall", "should"


@dataclass(frozen=True)
class Item:
    code: str
    key_area: str
    facility: str  # short, shown in the hazard's title: "one-key alarm"
    question: str
    requirement: str  # SHALL (应) or SHOULD (宜)
    category: str
    kindergarten_only: bool = False
    boarding_only: bool = False

    @property
    def severity(self) -> str:
        """A missing "shall" facility is a high-severity hazard; a "should" one, medium."""
        return "high" if self.requirement == SHALL else "medium"


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    description: str
    items: tuple[Item, ...]

    def items_for(self, school_kind: str, is_boarding: bool) -> tuple[Item, ...]:
        """The items that apply to one school (no dormitory items for day schools…)."""
        return tuple(
            i
            for i in self.items
            if (not i.kindergarten_only or school_kind == "kindergarten")
            and (not i.boarding_only or is_boarding)
        )


K = KeyArea
_P, _E = "physical", "electronic"

# GB/T 29315-2022 facility matrix, key areas 1–11 (RULES.md §1).
MATRIX: tuple[Item, ...] = (
    Item("1.1", K.SURROUNDINGS, _("warning signs"),
         _("Are warning signs posted 50–200 m either side of the gate?"), SHALL, _P),
    Item("1.2", K.SURROUNDINGS, _("segregation and parking"),
         _("Is there segregation and a parent waiting / parking area at the gate?"), SHALL, _P),
    Item("1.3", K.SURROUNDINGS, _("police kiosk"),
         _("Is there a police kiosk or post near the school?"), SHOULD, _P),
    Item("1.4", K.SURROUNDINGS, _("traffic calming"),
         _("Are speed limits, speed bumps, crossings and traffic lights in place?"), SHOULD,
         "traffic"),
    Item("2.1", K.OUTSIDE_GATE, _("video outside the gate"),
         _("Does video surveillance cover the area outside the main gate?"), SHALL, _E),
    Item("3.1", K.PERIMETER, _("physical barrier"),
         _("Is the perimeter closed by a wall or fence with anti-climb measures?"), SHALL, _P),
    Item("3.2", K.PERIMETER, _("intrusion detection"),
         _("Is the perimeter covered by intrusion detection or video analytics?"), SHOULD, _E),
    Item("4.1", K.ENTRANCE, _("anti-ramming devices"),
         _("Are anti-ramming rails, bollards or rising posts installed at the entrance?"),
         SHALL, _P),
    Item("4.2", K.ENTRANCE, _("entrance video"),
         _("Does video cover the main entrance?"), SHALL, _E),
    Item("4.3", K.ENTRANCE, _("turnstile"),
         _("Is there a turnstile or access gate at the entrance?"), SHOULD, _E),
    Item("4.4", K.ENTRANCE, _("visitor intercom"),
         _("Is there a visitor intercom at the kindergarten entrance?"), SHOULD, _E,
         kindergarten_only=True),
    Item("5.1", K.GATE_ROOM, _("one-key alarm"),
         _("Is a one-key emergency alarm installed in the gate room and networked with the "
           "police?"), SHALL, _E),
    Item("5.2", K.GATE_ROOM, _("gate-room video"),
         _("Does video cover the gate room?"), SHALL, _E),
    Item("5.3", K.GATE_ROOM, _("public address"),
         _("Is there a public-address system controlled from the gate room?"), SHALL, _E),
    Item("5.4", K.GATE_ROOM, _("24-hour duty"),
         _("Is the gate room staffed 24 hours a day?"), SHALL, "human"),
    Item("6.1", K.OUTDOOR_CROWD, _("sports-ground video"),
         _("Does video cover the sports ground and playground?"), SHALL, _E),
    Item("7.1", K.TEACHING_AREA, _("corridor video"),
         _("Does video cover the main corridors and entrances of the teaching area?"),
         SHALL, _E),
    Item("8.1", K.DORMITORY, _("dormitory entrance video"),
         _("Does video cover the dormitory entrances?"), SHALL, _E, boarding_only=True),
    Item("8.2", K.DORMITORY, _("dormitory access control"),
         _("Is there access control at the dormitory entrances?"), SHOULD, _E,
         boarding_only=True),
    Item("8.3", K.DORMITORY, _("duty-room emergency alarm"),
         _("Is there an emergency alarm in the dormitory duty room?"), SHALL, _E,
         boarding_only=True),
    Item("9.1", K.KINDERGARTEN_ROOMS, _("activity-room video"),
         _("Does video cover the activity rooms and bedrooms?"), SHALL, _E,
         kindergarten_only=True),
    Item("10.1", K.CANTEEN, _("canteen entrance video"),
         _("Does video cover the canteen entrances?"), SHALL, _E),
    Item("10.2", K.CANTEEN, _("canteen inside video"),
         _("Does video cover the operation, serving, sample and store rooms?"), SHOULD, "food"),
    Item("11.1", K.HAZARDOUS_STORE, _("guard bars"),
         _("Do the hazardous-goods store and laboratories have guard bars?"), SHALL, _P),
    Item("11.2", K.HAZARDOUS_STORE, _("anti-theft door or safe"),
         _("Are hazardous goods kept behind an anti-theft door or in a safe?"), SHALL, _P),
    Item("11.3", K.HAZARDOUS_STORE, _("intrusion detector"),
         _("Is there an intrusion detector in the hazardous-goods store?"), SHALL, _E),
    Item("11.4", K.HAZARDOUS_STORE, _("store video"),
         _("Does video cover the hazardous-goods store and laboratories?"), SHALL, _E),
)  # fmt: skip

_GATE_AREAS = {K.SURROUNDINGS, K.OUTSIDE_GATE, K.ENTRANCE, K.GATE_ROOM}

TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        Template(
            "gbt29315_full",
            _("GB/T 29315-2022 full facility check"),
            _("Every facility of key areas 1–11 that applies to the school."),
            MATRIX,
        ),
        Template(
            "term_start_gate",
            _("Term-start gate and surroundings check"),
            _("The gate, gate room and surroundings: the checks before students return."),
            tuple(i for i in MATRIX if i.key_area in _GATE_AREAS),
        ),
        Template(
            "video_and_alarms",
            _("Video and one-key alarm check"),
            _("Every video and alarm facility the standard requires (electronic protection)."),
            tuple(i for i in MATRIX if i.category == _E),
        ),
    )
}


def get_template(key: str) -> Template:
    """The template ``key``; KeyError for an unknown one (forms offer only known keys)."""
    return TEMPLATES[key]


def template_choices() -> list[tuple[str, str]]:
    return [(t.key, t.name) for t in TEMPLATES.values()]
