"""Fleet rules: plates, resident ID numbers, masking."""

import pytest

from core import privacy
from fleet import domain


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("浙F12345", "浙F12345"),
        ("浙f 12345", "浙F12345"),
        ("浙F·A1B23", "浙FA1B23"),
        ("京AD12345", "京AD12345"),  # new energy, small car (electric)
        ("粤BFA1234", "粤BFA1234"),  # new energy, small car (hybrid)
        ("沪A12345D", "沪A12345D"),  # new energy, large vehicle
        ("浙F1234挂", "浙F1234挂"),  # trailer
        ("苏E-9X8Y7", "苏E9X8Y7"),
    ],
)
def test_mainland_plates_are_accepted_and_normalised(raw, plate):
    assert domain.normalise_plate(raw) == plate


@pytest.mark.parametrize(
    "raw",
    [
        "浙I12345",  # I is never an office letter
        "浙F1234",  # one short
        "浙F1234567",  # too long
        "F12345",  # no province
        "台A12345",  # not a mainland province
        "浙FO1234",  # O is never used
        "浙FD123456",  # new-energy form one too long
        "浙F12345X",  # large new-energy must end in D or F
        "",
    ],
)
def test_near_miss_plates_are_rejected(raw):
    with pytest.raises(ValueError, match="mainland plate"):
        domain.normalise_plate(raw)


@pytest.mark.parametrize(("raw", "why"), [("浙F1234学", "Learner"), ("浙A1234警", "Police")])
def test_learner_and_police_plates_are_refused(raw, why):
    with pytest.raises(ValueError, match=why):
        domain.normalise_plate(raw)


# Sample numbers with correct GB 11643 check characters.
VALID_IDS = ["11010519491231002X", "440524198001010013", "330482199001010010"]


@pytest.mark.parametrize("number", VALID_IDS)
def test_id_numbers_with_a_correct_check_character_pass(number):
    assert domain.normalise_id_number(number.lower()) == number


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("110105194912310021", "last character"),  # check character off by one
        ("11010519491231002", "17 digits"),
        ("11010519491331002X", "birth date"),  # month 13
        ("11010518000101002X", "birth date"),  # before 1900
        ("1101051949123100XX", "17 digits"),
    ],
)
def test_id_near_misses_are_rejected_with_the_reason(raw, why):
    with pytest.raises(ValueError, match=why):
        domain.normalise_id_number(raw)


def test_every_single_digit_change_of_an_id_number_is_caught():
    number = VALID_IDS[2]
    for i in range(14, 17):  # sequence digits: birth date stays real
        for d in "0123456789":
            if d != number[i]:
                with pytest.raises(ValueError, match="last character"):
                    domain.normalise_id_number(number[:i] + d + number[i + 1 :])


def test_masking():
    assert privacy.mask_id_number("330482199001011234") == "330482********1234"
    assert privacy.mask_name("张三丰") == "张*丰"
    assert privacy.mask_name("张三") == "张*"
    assert privacy.mask_name("欧阳小明") == "欧**明"


def test_the_province_picker_puts_the_jurisdictions_own_first():
    from fleet.domain import PROVINCES, provinces_from

    assert provinces_from("330482")[0] == "浙"
    assert sorted(provinces_from("330482")) == sorted(PROVINCES)
    assert provinces_from("990000") == list(PROVINCES)
