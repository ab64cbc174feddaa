"""Pass rules: the status transition table, review order, validity windows, numbers."""

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InvalidTransition
from passes import domain
from passes.domain import PassStatus

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
