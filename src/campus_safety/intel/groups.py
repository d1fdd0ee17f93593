"""团伙: persons linked by co-involvement in incidents. A connected component of the
person graph (networkx) with at least ``INTEL_GROUP_MIN_PERSONS`` persons over at least
``INTEL_GROUP_MIN_INCIDENTS`` incidents within the period becomes a group lead, its graph
kept with masked labels for the page."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import networkx as nx
from django.conf import settings
from django.db import transaction

from campus_safety import bus, clock
from campus_safety.audit import services as audit
from campus_safety.intel.models import Group, Person


def build_graph(memberships: list[tuple[str, int, str, str]]) -> nx.Graph:
    """``memberships``: (person key, incident id, role, masked name). Persons are linked
    when involved in the same incident; incidents are nodes too (a bipartite graph)."""
    graph = nx.Graph()
    for key, incident, role, label in memberships:
        graph.add_node(("p", key), kind="person", label=label)
        graph.add_node(("i", incident), kind="incident")
        graph.add_edge(("p", key), ("i", incident), role=role)
    return graph


def components(
    graph: nx.Graph, min_persons: int = 3, min_incidents: int = 2
) -> list[tuple[set[str], set[int]]]:
    """Connected groups big enough to be a lead: (person keys, incident ids)."""
    found = []
    for part in nx.connected_components(graph):
        persons = {key for kind, key in part if kind == "p"}
        incidents = {key for kind, key in part if kind == "i"}
        if len(persons) >= min_persons and len(incidents) >= min_incidents:
            found.append((persons, incidents))
    found.sort(key=lambda pair: (-len(pair[0]), -len(pair[1])))
    return found


def detect_groups(now: dt.datetime | None = None, days: int | None = None) -> int:
    """Find groups among suspects of the period; store new ones. Returns how many."""
    now = now or clock.now()
    days = days or int(getattr(settings, "INTEL_GROUP_DAYS", 180))
    since = now - dt.timedelta(days=days)
    people = list(
        Person.objects.filter(incident__occurred_at__gte=since, role=Person.Role.SUSPECT)
        .exclude(person_key="")
        .select_related("incident")
    )
    graph = build_graph([(p.person_key, p.incident_id, p.role, p.name_masked) for p in people])
    incident_of = {p.incident_id: p.incident for p in people}
    created = 0
    for persons, incidents in components(
        graph,
        int(getattr(settings, "INTEL_GROUP_MIN_PERSONS", 3)),
        int(getattr(settings, "INTEL_GROUP_MIN_INCIDENTS", 2)),
    ):
        signature = hashlib.sha256(
            ",".join(sorted(persons)).encode()
            + b"|"
            + ",".join(map(str, sorted(incidents))).encode()
        ).hexdigest()
        if Group.objects.filter(signature=signature).exists():
            continue
        sub = graph.subgraph([("p", k) for k in persons] + [("i", i) for i in incidents])
        first = min((incident_of[i] for i in incidents), key=lambda inc: inc.occurred_at)
        with transaction.atomic():
            group = Group.objects.create(
                signature=signature,
                detected_at=now,
                persons=len(persons),
                graph=_drawing(sub, incident_of),
                school_id=first.school_id,
                region_id=first.region_id,
                police_station_id=first.police_station_id,
            )
            group.incidents.set(incidents)
            audit.record("intel.group.detect", group, user=None)
            bus.publish_on_commit("intel.group", group_id=group.pk, school_id=group.school_id)
        created += 1
    return created


def _drawing(sub: nx.Graph, incident_of: dict[int, Any]) -> dict:
    """Nodes and edges for ECharts' graph series; persons by masked name only."""
    names: dict[tuple, str] = {}
    nodes = []
    for number, (node, data) in enumerate(sorted(sub.nodes(data=True), key=str)):
        ident = f"n{number}"
        names[node] = ident
        if data["kind"] == "person":
            nodes.append({"id": ident, "name": data.get("label") or "?", "category": 0})
        else:
            incident = incident_of[node[1]]
            nodes.append({"id": ident, "name": incident.reference, "category": 1})
    edges = [{"source": names[a], "target": names[b]} for a, b in sub.edges()]
    return {"nodes": nodes, "links": edges}
