"""The scan decision table (docs/architecture.md, "The hot path"): every row and every
reason code."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from checkpoints.domain import (
    LivePass,
    OpenTrip,
    Place,
    SweepPolicy,
    decide,
    due_anomalies,
    may_annul,
    replay,
)

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
DEST = 7
PASS = LivePass(
    id=1,
    status="approved",
    valid_from=NOW - timedelta(days=1),
    valid_until=NOW + timedelta(days=1),
    max_trips=2,
    trips_used=0,
    destination_enterprise_id=DEST,
)
GATE = Place(10, "gate", None)
OTHER_GATE = Place(11, "gate", None)
SITE = Place(20, "site", DEST)
WRONG_SITE = Place(21, "site", 99)
ENTERED = OpenTrip(5, 1, arrived=False, entered_at=NOW - timedelta(hours=2), entry_checkpoint_id=11)
ARRIVED = OpenTrip(5, 1, arrived=True, entered_at=NOW - timedelta(hours=2), entry_checkpoint_id=11)
# Entered at the other gate moments ago, arrived nowhere (a copy of the code, or a turn back)
JUST_ENTERED = OpenTrip(
    5, 1, arrived=False, entered_at=NOW - timedelta(minutes=2), entry_checkpoint_id=11
)
LATE = NOW + timedelta(days=2)

# (name, keyword arguments, decision, event, reasons, opens trip, anomalies)
TABLE = [
    ("gate, no trip: entry", {}, "allow", "entry", (), True, ()),
    (
        "gate, trips used up",
        {"live": replace(PASS, trips_used=2)},
        "deny",
        None,
        ("no_trips_left",),
        False,
        (),
    ),
    (
        "gate not on the route",
        {"live": replace(PASS, route=(11,))},
        "deny",
        None,
        ("not_on_route",),
        False,
        (),
    ),
    ("gate on the route", {"live": replace(PASS, route=(10, 11))}, "allow", "entry", (), True, ()),
    ("gate, open trip, arrived: exit", {"open_trip": ARRIVED}, "allow", "exit", (), False, ()),
    (
        "gate, open trip, never arrived: exit + no_arrival",
        {"open_trip": ENTERED},
        "allow",
        "exit",
        (),
        False,
        ("no_arrival",),
    ),
    (
        "exit allowed even late",
        {"open_trip": ARRIVED, "now": LATE},
        "allow",
        "exit",
        ("expired",),
        False,
        (),
    ),
    (
        "exit allowed even revoked",
        {"open_trip": ARRIVED, "live": replace(PASS, status="revoked")},
        "allow",
        "exit",
        ("revoked",),
        False,
        (),
    ),
    (
        "officer says exit, no trip: exit + no_entry",
        {"direction": "exit"},
        "allow",
        "exit",
        (),
        True,
        ("no_entry",),
    ),
    (
        "officer says entry over an open trip",
        {"open_trip": ARRIVED, "direction": "entry"},
        "allow",
        "entry",
        (),
        True,
        (),
    ),
    (
        "site, entered: arrival",
        {"place": SITE, "open_trip": ENTERED},
        "allow",
        "arrival",
        (),
        False,
        (),
    ),
    (
        "site, wrong destination",
        {"place": WRONG_SITE, "open_trip": ENTERED},
        "deny",
        None,
        ("wrong_destination",),
        False,
        (),
    ),
    (
        "site, no trip: arrival + no_entry",
        {"place": SITE},
        "allow",
        "arrival",
        (),
        True,
        ("no_entry",),
    ),
    (
        "site, already arrived",
        {"place": SITE, "open_trip": ARRIVED},
        "allow",
        None,
        ("already_arrived",),
        False,
        (),
    ),
    (
        "site, no trip, trips used up",
        {"place": SITE, "live": replace(PASS, trips_used=2)},
        "deny",
        None,
        ("no_trips_left",),
        False,
        (),
    ),
    (
        "site, late arrival denied",
        {"place": SITE, "open_trip": ENTERED, "now": LATE},
        "deny",
        None,
        ("expired",),
        False,
        (),
    ),
    ("officer not assigned", {"assigned": False}, "deny", None, ("wrong_checkpoint",), False, ()),
    ("malformed code", {"token_reason": "malformed"}, "deny", None, ("malformed",), False, ()),
    (
        "bad signature",
        {"token_reason": "bad_signature"},
        "deny",
        None,
        ("bad_signature",),
        False,
        (),
    ),
    ("unknown key", {"token_reason": "unknown_key"}, "deny", None, ("unknown_key",), False, ()),
    ("no such pass", {"live": None}, "deny", None, ("not_found",), False, ()),
    (
        "not approved",
        {"live": replace(PASS, status="submitted")},
        "deny",
        None,
        ("not_approved",),
        False,
        (),
    ),
    (
        "revoked beats a valid signature",
        {"live": replace(PASS, status="revoked")},
        "deny",
        None,
        ("revoked",),
        False,
        (),
    ),
    ("expired", {"now": LATE}, "deny", None, ("expired",), False, ()),
    (
        "not yet valid",
        {"now": NOW - timedelta(days=2)},
        "deny",
        None,
        ("not_yet_valid",),
        False,
        (),
    ),
    (
        "within clock skew after the end",
        {"now": PASS.valid_until + timedelta(minutes=4)},
        "allow",
        "entry",
        (),
        True,
        (),
    ),
    (
        "within clock skew before the start",
        {"now": PASS.valid_from - timedelta(minutes=4)},
        "allow",
        "entry",
        (),
        True,
        (),
    ),
    (
        "plate mismatch after a visual check",
        {"deny_reason": "plate_mismatch"},
        "deny",
        None,
        ("plate_mismatch",),
        False,
        (),
    ),
    (
        "driver mismatch after a visual check",
        {"deny_reason": "driver_mismatch"},
        "deny",
        None,
        ("driver_mismatch",),
        False,
        (),
    ),
    (
        "other gate, entered there moments ago: the officer must confirm",
        {"open_trip": JUST_ENTERED, "place": GATE},
        "deny",
        None,
        ("inside_elsewhere",),
        False,
        (),
    ),
    (
        "other gate, moments ago, exit confirmed",
        {"open_trip": JUST_ENTERED, "place": GATE, "direction": "exit"},
        "allow",
        "exit",
        (),
        False,
        ("no_arrival",),
    ),
    (
        "the same gate moments ago: leaving (a turn back)",
        {"open_trip": JUST_ENTERED, "place": OTHER_GATE},
        "allow",
        "exit",
        (),
        False,
        ("no_arrival",),
    ),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "decision", "event", "reasons", "opens", "anomalies"),
    TABLE,
    ids=[row[0] for row in TABLE],
)
def test_decision_table(name, kwargs, decision, event, reasons, opens, anomalies):
    args = {
        "token_reason": None,
        "live": PASS,
        "open_trip": None,
        "place": GATE,
        "now": NOW,
        **kwargs,
    }
    outcome = decide(**args)
    assert outcome.decision == decision
    assert outcome.event == event
    assert outcome.reasons == reasons
    assert outcome.opens_trip == opens
    assert outcome.anomalies == anomalies


EXIT_ONLY = [
    ("revoked", replace(PASS, status="revoked"), NOW, ("revoked",)),
    ("expired", PASS, LATE, ("expired",)),
    ("used up", replace(PASS, trips_used=2), NOW, ("no_trips_left",)),
]


@pytest.mark.parametrize(
    ("name", "live", "now", "reasons"), EXIT_ONLY, ids=[r[0] for r in EXIT_ONLY]
)
def test_an_exit_without_entry_uses_no_trip_the_pass_cannot_give(name, live, now, reasons):
    """The truck may leave, the missing entry is an anomaly, and trips_used never passes
    max_trips (a revoked three-trip pass once reached four)."""
    outcome = decide(
        token_reason=None, live=live, open_trip=None, place=GATE, now=now, direction="exit"
    )
    assert (outcome.decision, outcome.event, outcome.reasons) == ("allow", "exit", reasons)
    assert outcome.opens_trip
    assert not outcome.counts_trip
    assert outcome.anomalies == ("no_entry",)


def test_an_exit_without_entry_on_a_good_pass_pays_its_trip():
    outcome = decide(
        token_reason=None, live=PASS, open_trip=None, place=GATE, now=NOW, direction="exit"
    )
    assert outcome.opens_trip
    assert outcome.counts_trip


@pytest.mark.parametrize("status", ["submitted", "rejected", "cancelled", "draft"])
def test_a_pass_never_approved_may_not_even_exit(status):
    outcome = decide(
        token_reason=None,
        live=replace(PASS, status=status),
        open_trip=None,
        place=GATE,
        now=NOW,
        direction="exit",
    )
    assert (outcome.decision, outcome.reasons) == ("deny", ("not_approved",))


def test_every_reason_code_is_covered_by_the_table():
    codes = {r for row in TABLE for r in row[4]}
    assert codes >= {
        "malformed",
        "bad_signature",
        "unknown_key",
        "not_found",
        "not_approved",
        "revoked",
        "expired",
        "not_yet_valid",
        "no_trips_left",
        "not_on_route",
        "wrong_destination",
        "wrong_checkpoint",
        "plate_mismatch",
        "driver_mismatch",
    }


def test_override_entry_closes_the_previous_trip():
    outcome = decide(
        token_reason=None,
        live=PASS,
        open_trip=ARRIVED,
        place=OTHER_GATE,
        now=NOW,
        direction="entry",
    )
    assert outcome.closes_previous


def test_replay_builds_the_trip_from_standing_events():
    t = [NOW + timedelta(hours=h) for h in range(3)]
    full = replay([("entry", t[0], 1), ("arrival", t[1], 2), ("exit", t[2], 1)])
    assert full.state == "exited"
    assert full.entered == (t[0], 1)
    assert replay([("entry", t[0], 1), ("arrival", t[1], 2)]).state == "arrived"
    assert replay([("entry", t[0], 1)]).state == "entered"
    assert replay([]).state == "void"


def test_annul_rights():
    recorded = NOW - timedelta(minutes=9)
    assert may_annul(role="officer", is_scanner=True, recorded_at=recorded, now=NOW)
    assert not may_annul(
        role="officer", is_scanner=True, recorded_at=NOW - timedelta(minutes=11), now=NOW
    )
    assert not may_annul(role="officer", is_scanner=False, recorded_at=recorded, now=NOW)
    assert may_annul(
        role="supervisor", is_scanner=False, recorded_at=NOW - timedelta(days=3), now=NOW
    )


POLICY = SweepPolicy(max_stay=timedelta(hours=24), arrival_within=timedelta(hours=6))


@pytest.mark.parametrize(
    ("state", "hours_open", "valid_hours", "expected"),
    [
        ("entered", 1, 48, set()),
        ("entered", 7, 48, {"no_arrival_yet"}),
        ("arrived", 7, 48, set()),
        ("arrived", 25, 48, {"overstay"}),
        ("entered", 25, 48, {"overstay", "no_arrival_yet"}),
        ("arrived", 2, 1, {"expired_open"}),
        ("exited", 100, 1, set()),
    ],
)
def test_sweep_rules(state, hours_open, valid_hours, expected):
    opened = NOW - timedelta(hours=hours_open)
    found = due_anomalies(
        state=state,
        opened_at=opened,
        valid_until=opened + timedelta(hours=valid_hours),
        now=NOW,
        policy=POLICY,
    )
    assert found == expected


def test_a_suspended_applicant_may_leave_but_not_enter_or_arrive():
    live = replace(PASS, enterprise_suspended=True)
    base = {"token_reason": None, "live": live, "now": NOW}
    entry = decide(**base, open_trip=None, place=GATE)
    assert (entry.decision, entry.reasons) == ("deny", ("enterprise_suspended",))
    arrival = decide(**base, open_trip=ENTERED, place=SITE)
    assert (arrival.decision, arrival.reasons) == ("deny", ("enterprise_suspended",))
    leave = decide(**base, open_trip=ENTERED, place=GATE)
    assert (leave.decision, leave.event) == ("allow", "exit")
    assert leave.reasons == ("enterprise_suspended",)


# --- offline scans, as they happened ---------------------------------------------------

from checkpoints.domain import Outcome, offline_outcome  # noqa: E402


def offline(device_decision, device_event, server, *, live=PASS, open_trip=None):
    return offline_outcome(
        server,
        device_decision=device_decision,
        device_event=device_event,
        live=live,
        open_trip=open_trip,
    )


def test_offline_agreeing_with_the_server_is_the_servers_outcome():
    server = decide(token_reason=None, live=PASS, open_trip=None, place=GATE, now=NOW)
    assert offline("allow", "entry", server) == server


def test_offline_denial_stands_and_changes_nothing():
    server = decide(token_reason=None, live=PASS, open_trip=None, place=GATE, now=NOW)
    out = offline("deny", None, server)
    assert (out.decision, out.opens_trip, out.anomalies) == ("deny", False, ())


@pytest.mark.parametrize(
    ("name", "live", "open_trip", "event", "opens", "counts", "stamps", "anomalies"),
    [
        (
            "revoked meanwhile",
            replace(PASS, status="revoked"),
            None,
            "entry",
            True,
            False,
            True,
            ("offline_conflict",),
        ),
        (
            "no trips left",
            replace(PASS, trips_used=2),
            None,
            "entry",
            True,
            False,
            True,
            ("offline_conflict",),
        ),
        (
            "another gate let it in",
            PASS,
            ENTERED,
            "entry",
            False,
            True,
            False,
            ("offline_conflict",),
        ),
        (
            "arrival elsewhere, no entry",
            PASS,
            None,
            "arrival",
            True,
            True,
            True,
            ("no_entry", "offline_conflict"),
        ),
        ("exit already recorded", PASS, ARRIVED, "exit", False, True, True, ("offline_conflict",)),
    ],
)
def test_offline_conflicts_are_recorded_as_they_happened(
    name, live, open_trip, event, opens, counts, stamps, anomalies
):
    server = Outcome("deny", None, ("whatever",))
    out = offline("allow", event, server, live=live, open_trip=open_trip)
    assert (out.decision, out.event) == ("allow", event)
    assert out.opens_trip == opens
    assert out.counts_trip == counts
    assert out.stamps == stamps
    assert out.anomalies == anomalies
    assert out.reasons == ("whatever",)


# --- replay after an annulment, and what an offline upload may record ------------------

from checkpoints.domain import deny, offline_refusal, owed_anomalies  # noqa: E402


def test_a_trip_followed_by_another_is_closed_and_owes_its_exit():
    entered = [("entry", NOW, 10)]
    alone, followed = replay(entered), replay(entered, followed=True)
    assert (alone.state, alone.closed, owed_anomalies(alone)) == ("entered", False, set())
    assert (followed.state, followed.closed, owed_anomalies(followed)) == (
        "exited",
        True,
        {"no_exit"},
    )
    assert owed_anomalies(replay([("exit", NOW, 10)])) == {"no_entry"}
    assert owed_anomalies(replay([("entry", NOW, 10), ("exit", NOW, 11)])) == {"no_arrival"}
    assert owed_anomalies(replay([])) == set()


@pytest.mark.parametrize(
    ("role", "place", "decision", "event", "server", "refused"),
    [
        ("officer", GATE, "allow", "entry", Outcome("allow", "entry"), None),
        ("officer", GATE, "allow", "arrival", Outcome("allow", "entry"), "event_not_here"),
        ("enterprise", SITE, "allow", "exit", Outcome("allow", "arrival"), "event_not_here"),
        ("enterprise", SITE, "allow", "arrival", Outcome("allow", "arrival"), None),
        (
            "enterprise",
            WRONG_SITE,
            "allow",
            "arrival",
            deny("wrong_destination"),
            "wrong_destination",
        ),
        # A site's phone chooses its device time: no status reason carries its upload.
        ("enterprise", SITE, "allow", "arrival", deny("not_yet_valid"), "wrong_destination"),
        ("officer", GATE, "allow", "entry", deny("revoked"), None),  # a conflict, kept
        ("enterprise", SITE, "deny", None, deny("wrong_destination"), None),
        ("officer", GATE, "allow", "entry", deny("wrong_checkpoint"), "wrong_checkpoint"),
        ("officer", GATE, "allow", None, Outcome("allow", "entry"), "event_not_here"),
    ],
)
def test_what_an_offline_upload_may_record(role, place, decision, event, server, refused):
    assert (
        offline_refusal(
            role=role, place=place, device_decision=decision, device_event=event, server=server
        )
        == refused
    )
