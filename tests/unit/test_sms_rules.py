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


# --- length as carriers bill it ---------------------------------------------------------

from sms import text  # noqa: E402

BASE = "https://pass.phzf.cn"  # a PUBLIC_BASE_URL of 20 characters
assert len(BASE) == 20
URL = f"{BASE}/d/K7QX9MPA2B"
SIGNATURES = {"zh_CN": "【货运通行码】", "en": "[Freight Pass] "}
LONGEST_PLATE = "浙F12345D"  # new-energy large vehicle: eight characters
NUMBER = "330482000001"


@pytest.mark.parametrize(
    ("message", "encoding", "units", "parts"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # the extension table costs two septets
        ("{" * 81, "GSM-7", 162, 2),
        ("中" * 70, "UCS-2", 70, 1),
        ("中" * 71, "UCS-2", 71, 2),
        ("中" * 134, "UCS-2", 134, 2),
        ("中" * 135, "UCS-2", 135, 3),
        ("a" * 69 + "中", "UCS-2", 70, 1),  # one Chinese character makes it all UCS-2
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two units each
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_segments_are_counted_as_carriers_bill_them(message, encoding, units, parts):
    assert domain.segments(message) == (encoding, units, parts)


def every_message(locale):
    """Each template at its longest: the longest plate, names and reasons at their caps."""
    return {
        "approval": text.approval_text(locale, number=NUMBER, plate=LONGEST_PLATE, url=URL),
        "revoked": text.revoked_text(locale, number=NUMBER, plate=LONGEST_PLATE),
        "rejected": text.rejected_text(
            locale, number=NUMBER, plate=LONGEST_PLATE, reason="资料不全" * 200
        ),
        "enterprise approved": text.enterprise_status_text(
            locale, name="平湖市顺达物流有限公司" * 20, status="approved"
        ),
        "enterprise suspended": text.enterprise_status_text(
            locale, name="平湖市顺达物流有限公司" * 20, status="suspended"
        ),
        "anomaly": text.anomaly_text(
            locale, number=NUMBER, plate=LONGEST_PLATE, kind="no_arrival_yet"
        ),
        "alert": text.alert_text(locale, number=NUMBER, plate=LONGEST_PLATE, kind="no_arrival_yet"),
        "daily": text.daily_text(
            locale, day="2026-11-23", opened=12345, loop_rate=0.987, anomalies=999, pending=999
        ),
    }


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_message_fits_two_segments_and_approval_one(locale):
    for name, body in every_message(locale).items():
        delivered = text.signed(body, SIGNATURES[locale])
        encoding, units, parts = domain.segments(delivered)
        assert parts <= 2, (name, units, delivered)
        if name == "approval":
            assert parts == 1, (units, delivered)
            assert units <= (70 if locale == "zh_CN" else 160)
            assert NUMBER in body
            assert body.endswith(URL)
        if locale == "en" and name not in (
            "rejected",
            "enterprise approved",
            "enterprise suspended",
        ):
            assert encoding == "GSM-7", (name, delivered)  # the plate in pinyin


def test_english_plates_are_written_in_pinyin():
    assert text.latin_plate("浙F12345") == "Zhe F12345"
    assert text.latin_plate("浙F1234挂") == "Zhe F1234 gua"
    assert text.approval_text("en", number=NUMBER, plate="浙F12345", url=URL).startswith(
        "Pass 330482000001 for Zhe F12345"
    )


def test_driver_keys_are_long_random_and_unambiguous():
    from passes import domain as passes

    keys = {passes.new_driver_key() for _ in range(2000)}
    assert len(keys) == 2000
    assert all(len(k) == 10 and set(k) <= set(passes.DRIVER_KEY_ALPHABET) for k in keys)
    assert not set("01OIL") & set(passes.DRIVER_KEY_ALPHABET)
    assert len(passes.DRIVER_KEY_ALPHABET) ** passes.DRIVER_KEY_LENGTH > 2**48
    key = keys.pop()
    assert passes.normalise_driver_key(f" {key.lower()} ") == key
    for bad in ["", "K7QX9MPA2", "K7QX9MPA2BB", "K7QX9MPA20", "K7QX9MPA2/", "中" * 10]:
        assert passes.normalise_driver_key(bad) is None
