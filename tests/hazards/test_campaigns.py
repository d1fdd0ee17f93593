"""Inspection campaigns: a template's checklist to each school; "no" opens a hazard."""

import pytest

from campus_safety.devices.models import KeyArea
from campus_safety.hazards import checklists
from campus_safety.hazards.models import Checklist, Hazard
from tests.factories import SchoolFactory, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(client, education, school, other_school):
    sign_in(client, education)
    response = client.post(
        "/api/v1/campaigns/",
        {"name": "春季开学安全检查", "template": "term_start_gate",
         "source": "education_inspection", "starts_on": "2026-02-20", "due_on": "2026-03-01",
         "schools": [school.pk, other_school.pk]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()


def answers_for(checklist_id, no=()):
    checklist = Checklist.objects.get(pk=checklist_id)
    from campus_safety.hazards.campaigns import checklist_items

    return [
        {"item": i.code, "answer": "no" if i.code in no else "yes",
         "note": "缺失" if i.code in no else ""}
        for i in checklist_items(checklist)
    ]  # fmt: skip


def test_the_shipped_templates_follow_the_gbt29315_matrix():
    full = checklists.get_template("gbt29315_full")
    assert {i.key_area for i in full.items} == {
        KeyArea(k) for k in ("surroundings", "outside_gate", "perimeter", "entrance", "gate_room",
                             "outdoor_crowd", "teaching_area", "dormitory", "kindergarten_rooms",
                             "canteen", "hazardous_store")
    }  # fmt: skip
    gate_alarm = next(i for i in full.items if i.code == "5.1")
    assert (gate_alarm.key_area, gate_alarm.requirement, gate_alarm.severity) == (
        "gate_room", "shall", "high")  # fmt: skip
    codes = [i.code for i in full.items]
    assert len(codes) == len(set(codes))
    day_school = full.items_for("primary", is_boarding=False)
    assert not any(i.key_area in {"dormitory", "kindergarten_rooms"} for i in day_school)
    assert any(i.key_area == "kindergarten_rooms" for i in full.items_for("kindergarten", False))


def test_a_campaign_sends_a_checklist_to_each_school(campaign, school, other_school):
    assert Checklist.objects.filter(campaign_id=campaign["id"]).count() == 2
    assert len(campaign["checklists"]) == 2


def test_a_no_opens_a_hazard_linked_to_the_answer(client, campaign, school, school_admin):
    sign_in(client, school_admin)
    mine = client.get("/api/v1/checklists/").json()["results"]
    assert [c["school"]["id"] for c in mine] == [school.pk]  # only its own checklist
    checklist_id = mine[0]["id"]
    response = client.post(
        f"/api/v1/checklists/{checklist_id}/answer/",
        {"answers": answers_for(checklist_id, no={"5.1", "4.1"})},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "submitted"
    opened = Hazard.objects.filter(checklist_answer__checklist_id=checklist_id)
    assert sorted(opened.values_list("checklist_answer__item_code", flat=True)) == ["4.1", "5.1"]
    alarm = opened.get(checklist_answer__item_code="5.1")
    assert (alarm.key_area, alarm.severity, alarm.source, alarm.status) == (
        "gate_room", "high", "self_check", "assigned")  # fmt: skip
    assert alarm.reported_by == school_admin
    assert [a["hazard"] for a in body["answers"] if a["answer"] == "no"] == sorted(
        opened.values_list("pk", flat=True)
    )
    again = client.post(
        f"/api/v1/checklists/{checklist_id}/answer/",
        {"answers": answers_for(checklist_id)}, content_type="application/json",
    )  # fmt: skip
    assert again.status_code == 400 and "already" in str(again.json())


def test_incomplete_answers_are_refused_with_the_items_named(client, campaign, school_admin):
    sign_in(client, school_admin)
    checklist_id = client.get("/api/v1/checklists/").json()["results"][0]["id"]
    answers = answers_for(checklist_id)[1:]
    answers[0] = {**answers[0], "answer": "no", "note": ""}
    response = client.post(
        f"/api/v1/checklists/{checklist_id}/answer/", {"answers": answers},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    errors = response.json()
    assert "1.1" in errors and answers[0]["item"] in errors
    assert not Hazard.objects.exists()


def test_another_school_cannot_see_or_answer_the_checklist(
    client, campaign, other_school_admin, school
):
    checklist = Checklist.objects.get(campaign_id=campaign["id"], school=school)
    sign_in(client, other_school_admin)
    assert client.get(f"/api/v1/checklists/{checklist.pk}/").status_code == 404
    response = client.post(
        f"/api/v1/checklists/{checklist.pk}/answer/", {"answers": []},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 404
    assert client.get(f"/hazards/checklists/{checklist.pk}/").status_code == 404


def test_the_checklist_page_answers_and_opens_hazards(client, campaign, school, school_admin):
    checklist = Checklist.objects.get(campaign_id=campaign["id"], school=school)
    sign_in(client, school_admin)
    page = client.get(f"/hazards/checklists/{checklist.pk}/")
    assert page.status_code == 200 and "checklist-form" in page.content.decode()
    data = {}
    for row in answers_for(checklist.pk, no={"2.1"}):
        data[f"answer_{row['item']}"] = row["answer"]
        data[f"note_{row['item']}"] = row["note"]
    response = client.post(f"/hazards/checklists/{checklist.pk}/", data)
    assert response.status_code == 302
    assert Hazard.objects.get().checklist_answer.item_code == "2.1"


def test_a_campaign_cannot_reach_schools_outside_the_scope(client, education, county):
    far = SchoolFactory()  # another county
    sign_in(client, education)
    response = client.post(
        "/api/v1/campaigns/",
        {"name": "x", "template": "gbt29315_full", "source": "education_inspection",
         "starts_on": "2026-02-20", "due_on": "2026-03-01", "schools": [far.pk]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    assert not Checklist.objects.exists()


def test_the_campaign_pages_render(client, campaign, education):
    sign_in(client, education)
    listing = client.get("/hazards/campaigns/")
    assert listing.status_code == 200 and "春季开学安全检查" in listing.content.decode()
    detail = client.get(f"/hazards/campaigns/{campaign['id']}/")
    assert detail.status_code == 200
    bad = client.post("/hazards/campaigns/", {"name": "", "template": "nope"})
    assert bad.status_code == 400
    assert "campaign-form" in bad.content.decode()
