"""Plates, ID numbers, masking, the pass transition table, validity and SMS rules."""

from datetime import UTC, datetime, timedelta

import pytest

from errors import InvalidTransition
from passes import domain
from passes.domain import PassStatus


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
    assert domain.mask_id_number("330482199001011234") == "330482********1234"
    assert domain.mask_name("张三丰") == "张*丰"
    assert domain.mask_name("张三") == "张*"
    assert domain.mask_name("欧阳小明") == "欧**明"


ALL = list(PassStatus)
ALLOWED = {
    ("submitted", "approved"),
    ("submitted", "rejected"),
    ("submitted", "cancelled"),
    ("approved", "revoked"),
}


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("target", ALL)
def test_pass_transition_table(current, target):
    if (current, target) in ALLOWED:
        assert domain.next_pass_status(current, target) == target
    else:
        with pytest.raises(InvalidTransition):
            domain.next_pass_status(current, target)


def test_emergency_cargo_goes_first():
    assert domain.review_priority("emergency") < domain.review_priority("products")


NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SPAN = timedelta(days=14)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (NOW, NOW, "valid_until"),
        (NOW, NOW - timedelta(hours=1), "valid_until"),
        (NOW, NOW + timedelta(days=15), "valid_until"),
        (NOW - timedelta(days=3), NOW - timedelta(days=2), "valid_until"),
        (NOW - timedelta(days=2), NOW + timedelta(days=1), "valid_from"),
    ],
)
def test_bad_validity_windows(start, end, field):
    assert field in domain.check_validity(start, end, NOW, SPAN)


def test_good_validity_window():
    assert domain.check_validity(NOW, NOW + timedelta(days=14), NOW, SPAN) == {}


def test_pass_number_is_area_code_and_six_digit_serial():
    assert domain.pass_number("330482", 7) == "330482000007"
    with pytest.raises(ValueError, match="serial"):
        domain.pass_number("330482", 1_000_000)


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (400, "21211", True),
        (400, "21610", True),
        (400, "21614", True),
        (200, "30005", True),
        (200, "30006", True),
        (200, "30007", True),
        (429, "20429", False),
        (500, None, False),
        (503, None, False),
        (None, None, False),
        (200, "30003", False),
        (401, "20003", True),
    ],
)
def test_sms_errors_are_classified(status, code, permanent):
    assert domain.sms_error_is_permanent(status, code) is permanent


def test_retry_delay_grows_exponentially_with_jitter_and_a_cap():
    assert domain.retry_delay(1, 0.5) == timedelta(seconds=30)
    assert domain.retry_delay(2, 0.5) == timedelta(seconds=60)
    assert domain.retry_delay(3, 0.0) == timedelta(seconds=60)
    assert domain.retry_delay(30, 0.5) == timedelta(seconds=3600)


def test_delivery_reports_only_move_forward():
    assert domain.advances("sent", "delivered")
    assert not domain.advances("delivered", "sent")
    assert not domain.advances("delivered", "undelivered")
    assert not domain.advances("failed", "failed")
