"""District and city gate statistics (issue #17 item 6): per district and per day, over
the reader's scope; watch-list hits for the police only."""

import pytest

from campus_safety.gate import services
from tests.factories import CountyFactory, SchoolFactory, sign_in
from tests.gate.conftest import WATCHED_ID, visitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(db):
    county = CountyFactory(code="371403", name="陵城区")
    return SchoolFactory(region=county, name="陵城区第一小学")


def test_figures_per_district_in_scope_and_hits_for_the_police_only(
    client, school, elsewhere, guard, entry, education, officer, command, clock
):
    services.check_in(school, by=guard, **visitor())
    services.check_in(school, by=guard, **visitor(document_number=WATCHED_ID, name="赵某某"))
    services.check_in(elsewhere, by=None, **visitor())
    student = services.save_student(
        school, by=None, student_number="K1", name="小明", class_name="大一班"
    )
    services.release(student, school, by=guard, person_name="陌生人")
    sign_in(client, education)
    page = client.get("/gate/stats/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "德城区" in text and "陵城区" not in text
    assert "Watch-list hits" not in text
    row = text.split("<td>德城区</td>", 1)[1].split("</tr>", 1)[0]
    assert row.startswith("<td>2</td>")  # both visits; the held one counts as a visit
    sign_in(client, officer)
    text = client.get("/gate/stats/").content.decode()
    assert "Watch-list hits" in text and "陵城区" not in text
    row = text.split("<td>德城区</td>", 1)[1].split("</tr>", 1)[0]
    assert row.endswith("<td>1</td>")  # the hit
    sign_in(client, command)
    text = client.get("/gate/stats/").content.decode()
    assert "德城区" in text and "陵城区" in text


def test_a_school_user_sees_only_the_school_and_never_hits(client, school, guard, entry, clock):
    services.check_in(school, by=guard, **visitor(document_number=WATCHED_ID, name="赵某某"))
    sign_in(client, guard)
    text = client.get("/gate/stats/?from=2000-01-01&to=2000-01-03").content.decode()
    assert "Watch-list hits" not in text and "2000-01-03" in text
