"""Properties that must hold for any input: the token parser, the validators and the scan
decision. Hypothesis generates the inputs (a fixed budget per test, derandomised in CI)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import domain as accounts
from checkpoints.domain import OFFICER_DENIALS, LivePass, OpenTrip, Place, decide
from core import privacy
from fleet import domain as fleet
from trust import tokens
from trust.tokens import Claims, TokenRejected, TrustedKey

settings.register_profile(
    "ci", max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
KEY = ec.generate_private_key(ec.SECP256R1())
KEYS = {1: TrustedKey(1, KEY.public_key(), NOW - timedelta(days=30))}

minutes = st.integers(min_value=0, max_value=60 * 24 * 400).map(
    lambda m: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=m)
)
plates = st.builds(
    lambda p, letter, rest: p + letter + rest,
    st.sampled_from(fleet.PROVINCES),
    st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ"),
    st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=5, max_size=5),
)


# --- tokens -------------------------------------------------------------------------------


@given(st.text(max_size=400))
def test_token_from_any_text_is_a_string_or_none(text):
    found = tokens.token_from_text(text)
    assert found is None or isinstance(found, str)


@given(st.text(max_size=300))
def test_verifying_any_text_only_ever_rejects_cleanly(text):
    with pytest.raises(TokenRejected) as exc:
        tokens.verify(text, KEYS, NOW)
    assert exc.value.reason in {"malformed", "unknown_key", "bad_signature"}


@given(st.binary(min_size=0, max_size=200))
def test_verifying_any_bytes_only_ever_rejects_cleanly(data):
    import base64

    text = base64.b32encode(data).decode().rstrip("=")
    with pytest.raises(TokenRejected) as exc:
        tokens.verify(text, KEYS, NOW)
    assert exc.value.reason in {"malformed", "unknown_key", "bad_signature"}


@given(
    pass_id=st.integers(min_value=1, max_value=2**63 - 1),
    start=minutes,
    days=st.integers(min_value=0, max_value=30),
    plate=plates,
)
def test_any_signed_claims_round_trip_through_the_qr_text(pass_id, start, days, plate):
    claims = Claims(1, pass_id, start, start + timedelta(days=days), plate)
    token = tokens.sign(claims, KEY)
    text = tokens.qr_text("https://pass.example.cn", token)
    back = tokens.token_from_text(text)
    assert tokens.parse(back)[0] == claims


# --- validators ---------------------------------------------------------------------------

VALIDATORS = [
    accounts.normalise_mobile,
    accounts.normalise_credit_code,
    accounts.normalise_username,
    fleet.normalise_plate,
    fleet.normalise_id_number,
]


@given(st.text(max_size=60), st.sampled_from(VALIDATORS))
def test_validators_reject_with_value_error_or_return_a_fixed_point(raw, validator):
    try:
        clean = validator(raw)
    except ValueError:
        return
    assert isinstance(clean, str)
    assert validator(clean) == clean  # normalising twice changes nothing


@given(plates)
def test_well_formed_plates_are_accepted(plate):
    assert fleet.normalise_plate(plate.lower()) == plate


@given(
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31)),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
)
def test_id_numbers_with_their_check_character_are_accepted_and_masked(region, born, serial):
    first17 = f"{region}{born:%Y%m%d}{serial}"
    number = first17 + fleet.id_check_char(first17)
    assert fleet.normalise_id_number(number.lower()) == number
    masked = privacy.mask_id_number(number)
    assert f"{born:%Y%m%d}" not in masked  # the birth date never shows
    assert len(masked) == len(number)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_mobile_numbers_in_any_common_form_become_e164(rest):
    number = "13" + rest
    for form in (number, "+86" + number, "0086" + number, "+86 " + number[:3] + " " + number[3:]):
        assert accounts.normalise_mobile(form) == "+86" + number


# --- the scan decision --------------------------------------------------------------------

live_passes = st.builds(
    LivePass,
    id=st.just(1),
    status=st.sampled_from(["approved", "revoked", "submitted", "rejected", "draft"]),
    valid_from=minutes,
    valid_until=minutes,
    max_trips=st.integers(min_value=1, max_value=5),
    trips_used=st.integers(min_value=0, max_value=6),
    destination_enterprise_id=st.sampled_from([7, 8]),
    route=st.sampled_from([(), (10,), (11,), (10, 11)]),
)
places = st.sampled_from(
    [Place(10, "gate", None), Place(11, "gate", None), Place(20, "site", 7), Place(21, "site", 8)]
)
open_trips = st.none() | st.builds(OpenTrip, id=st.just(5), seq=st.just(1), arrived=st.booleans())
STATUS_REASONS = {"revoked", "not_approved", "expired", "not_yet_valid"}


@given(
    token_reason=st.none() | st.sampled_from(["malformed", "bad_signature", "unknown_key"]),
    live=st.none() | live_passes,
    open_trip=open_trips,
    place=places,
    now=minutes,
    assigned=st.booleans(),
    direction=st.none() | st.sampled_from(["entry", "exit"]),
    deny_reason=st.none() | st.sampled_from([*OFFICER_DENIALS, "whatever"]),
)
def test_the_decision_holds_its_promises_for_any_input(
    token_reason, live, open_trip, place, now, assigned, direction, deny_reason
):
    out = decide(
        token_reason=token_reason,
        live=live,
        open_trip=open_trip,
        place=place,
        now=now,
        assigned=assigned,
        direction=direction,
        deny_reason=deny_reason,
    )
    assert out.decision in {"allow", "deny"}
    if not assigned:
        assert out.reasons == ("wrong_checkpoint",)
    if out.decision == "deny":
        assert out.reasons, "a denial always says why"
        assert out.event is None
        assert not out.opens_trip
        assert not out.anomalies
        return
    # Allowed: nothing forged, unknown, unassigned or refused by the officer gets through.
    assert assigned
    assert token_reason is None
    assert live is not None
    assert deny_reason not in OFFICER_DENIALS
    if out.opens_trip:  # never two open trips
        assert open_trip is None or out.closes_previous
    if out.opens_trip and out.counts_trip:  # a trip is used only when there is one to use
        assert live.status == "approved"
        assert live.trips_used < live.max_trips
    if open_trip is None:  # (an open trip means the pass was approved once)
        assert live.status in ("approved", "revoked"), "a pass never approved gets nowhere"
    if out.event == "entry":
        assert place.kind == "gate"
        assert not STATUS_REASONS & set(out.reasons)
        assert live.status == "approved"
        assert live.trips_used < live.max_trips
        assert not live.route or place.id in live.route
    if STATUS_REASONS & set(out.reasons):
        assert out.event == "exit", "a bad pass may only leave"
    if place.kind == "site":
        assert place.enterprise_id == live.destination_enterprise_id
        assert out.event in {"arrival", None}
