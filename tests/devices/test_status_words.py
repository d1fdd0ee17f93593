"""A device's status reasons and type in the reader's words, the stored text unchanged
(issue #14 item 4: "131 · camera", "no keepalive for 180 s" on a Chinese page)."""

import re

import pytest
from django.utils import translation

from campus_safety.devices import identifiers, status_reasons, type_names
from campus_safety.devices.models import StatusChange
from tests.devices.support import DeviceFactory

CHINESE = re.compile(r"[\u4e00-\u9fff]")
SAMPLE = {"seconds": "180", "hours": "24", "changes": "5", "detail": "E42"}


def sample_text(reason: status_reasons.Reason) -> str:
    if "{reason}" in reason.english:
        return reason.text(reason=status_reasons.NO_KEEPALIVE.text(seconds=180))
    return reason.text(**SAMPLE)


@pytest.mark.parametrize("reason", status_reasons.REASONS, ids=lambda r: r.english)
def test_every_stored_reason_reads_in_chinese_with_its_figures(reason):
    stored = sample_text(reason)
    with translation.override("zh-hans"):
        shown = status_reasons.in_words(stored)
    assert CHINESE.search(shown) and shown != stored
    for figure in re.findall(r"\d+", stored):
        assert figure in shown


def test_a_reason_nobody_phrased_is_shown_as_it_is():
    with translation.override("zh-hans"):
        assert status_reasons.in_words("E42 lens covered") == "E42 lens covered"


def test_the_stored_sentences_stay_the_same():
    """Rows, the API and the fault prefix read the English sentence, as before."""
    assert status_reasons.NO_KEEPALIVE.text(seconds=180) == "no keepalive for 180 s"
    assert status_reasons.FAULT_REPORTED_WHY.text(detail="E42") == "reported fault: E42"
    assert status_reasons.SILENCED_BY_FLAPPING.text(reason="heard from the device") == (
        "heard from the device (flapping: not announced)"
    )


@pytest.mark.django_db
def test_the_history_shows_the_reason_in_words(client, clock):
    device = DeviceFactory()
    change = StatusChange.objects.create(
        device=device, at=clock.now(), from_status="online", to_status="offline",
        reason=status_reasons.SILENCED_BY_MAINTENANCE.text(reason="no keepalive for 180 s"),
    )  # fmt: skip
    with translation.override("zh-hans"):
        assert change.reason_in_words() == "180 秒内未收到心跳（维护时段内，未通报）"


def test_every_gb28181_type_code_has_a_name_in_words():
    assert set(type_names.TYPE_NAMES) == set(identifiers.TYPE_CODES)
    with translation.override("zh-hans"):
        assert type_names.type_name("37140200111317000001") == "摄像机"
        assert type_names.type_name("37140200119997000001") == "未知类型"
        assert all(CHINESE.search(str(name)) for name in type_names.TYPE_NAMES.values())
