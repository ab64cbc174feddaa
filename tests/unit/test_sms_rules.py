"""SMS delivery rules: error classes, retry delays, delivery reports."""

from datetime import timedelta

import pytest

from sms import domain


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
