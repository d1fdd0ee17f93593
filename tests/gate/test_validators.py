"""GB 11643 check digits and licence plates (issue #17 item 8), with generated input."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from campus_safety.gate import validators as v

DIGITS = "0123456789"


def with_check(first17: str) -> str:
    return first17 + v.id_check_character(first17)


birth = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2025, 12, 31))
first17 = st.builds(
    lambda area, born, seq: f"{area}{born:%Y%m%d}{seq}",
    st.text(DIGITS, min_size=6, max_size=6),
    birth,
    st.text(DIGITS, min_size=3, max_size=3),
)


def test_known_numbers_from_the_standard():
    assert v.validate_id_number("11010519491231002X") == "11010519491231002X"
    assert v.validate_id_number("440524188001010014") == "440524188001010014"
    assert v.validate_id_number(" 11010519491231002x ") == "11010519491231002X"


@given(first17)
def test_a_number_with_its_check_character_is_valid_and_carries_its_birth_date(head):
    number = with_check(head)
    assert v.validate_id_number(number) == number
    assert v.birth_date_from_id(number) == dt.date(
        int(head[6:10]), int(head[10:12]), int(head[12:14])
    )


@given(first17, st.sampled_from("0123456789X"))
def test_any_other_check_character_is_refused(head, wrong):
    if wrong == v.id_check_character(head):
        return
    with pytest.raises(ValidationError) as caught:
        v.validate_id_number(head + wrong)
    assert caught.value.code == "id_check"


@given(first17, st.integers(0, 16), st.sampled_from(DIGITS))
def test_changing_one_digit_is_caught(head, position, digit):
    number = with_check(head)
    changed = number[:position] + digit + number[position + 1 :]
    if changed == number:
        return
    with pytest.raises(ValidationError):
        v.validate_id_number(changed)


@given(st.text(max_size=30))
def test_arbitrary_text_is_either_a_valid_number_or_a_validation_error(text):
    try:
        number = v.validate_id_number(text)
    except ValidationError:
        return
    assert len(number) == 18 and v.id_check_character(number[:17]) == number[17]


@pytest.mark.parametrize("bad", ["", "12345", "11010519491331002X", "1101051949123100AX"])
def test_malformed_numbers_say_why(bad):
    with pytest.raises(ValidationError):
        v.validate_id_number(bad)


@pytest.mark.parametrize(
    "plate",
    [
        "鲁N12345",
        "鲁 N·A1B23",
        "京A1234学",
        "鲁N1234警",
        "粤Z1234港",
        "鲁ND12345",
        "鲁NFA1234",
        "沪A12345D",
        "使014578",
        "WJ鲁12345",
        "VA12345",
    ],
)
def test_plates_of_every_format(plate):
    assert v.validate_plate(plate) == v.normalise_plate(plate)


@pytest.mark.parametrize(
    "plate",
    [
        "",
        "鲁N1234",
        "鲁NI2345",
        "鲁NO2345",
        "A123456",
        "鲁N123456",
        "鲁ND123",
        "X鲁12345",
        "鲁ND1234567",
    ],
)
def test_malformed_plates_are_refused(plate):
    with pytest.raises(ValidationError):
        v.validate_plate(plate)


provinces = st.sampled_from(v.PROVINCES)
letters = st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ")
alnum = st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")


@given(provinces, letters, st.sampled_from("DF"), alnum, st.text(DIGITS, min_size=4, max_size=4))
def test_eight_character_small_new_energy_plates(province, office, kind, fourth, tail):
    plate = f"{province}{office}{kind}{fourth}{tail}"
    assert len(plate) == 8 and v.is_valid_plate(plate)


@given(provinces, letters, st.text(DIGITS, min_size=5, max_size=5), st.sampled_from("DF"))
def test_eight_character_large_new_energy_plates(province, office, digits, kind):
    assert v.is_valid_plate(f"{province}{office}{digits}{kind}")


@given(provinces, letters, st.lists(alnum, min_size=5, max_size=5))
def test_seven_character_ordinary_plates(province, office, rest):
    assert v.is_valid_plate(province + office + "".join(rest))


@given(st.text(max_size=12))
def test_arbitrary_text_never_crashes_the_plate_check(text):
    try:
        plate = v.validate_plate(text)
    except ValidationError:
        return
    assert 7 <= len(plate) <= 9
