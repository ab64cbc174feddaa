"""The offline scanner's pure decision (static/js/rules.js) in Chromium, without a camera,
IndexedDB or the network: a table of tokens, kept lists, input and times, and what the
phone must say for each."""

from datetime import UTC, datetime

import pytest

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

MINUTE = 60_000
HOUR = 60 * MINUTE
T0 = 1_800_000_000_000  # the phone's reckoning of the server's time, in ms
TOKEN = {"passId": 7, "plate": "浙F12345", "validFrom": T0 - HOUR, "validUntil": T0 + HOUR}
LISTS = {"fetchedAt": T0 - HOUR, "wallNow": T0, "maxAgeMs": 24 * HOUR}


def ISO(ms):  # noqa: N802 - reads as the constant it makes
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


CASES = [
    # (what changes from a gate scan now, decision, event, reasons, stale)
    ({}, "allow", "entry", [], False),
    ({"seen": "entry"}, "allow", "exit", [], False),
    ({"seen": "exit"}, "allow", "entry", [], False),
    ({"kind": "site"}, "allow", "arrival", [], False),
    ({"direction": "exit"}, "allow", "exit", [], False),
    ({"revokedUntil": T0 + HOUR}, "deny", None, ["revoked"], False),
    ({"revokedUntil": T0 - MINUTE}, "allow", "entry", [], False),  # the listing lapsed
    ({"revokedUntil": T0 + HOUR, "seen": "entry"}, "allow", "exit", ["revoked"], False),
    ({"now": T0 + HOUR + 4 * MINUTE}, "allow", "entry", [], False),  # within the skew
    ({"now": T0 + HOUR + 6 * MINUTE}, "deny", None, ["expired"], False),
    ({"now": T0 + HOUR + 6 * MINUTE, "seen": "entry"}, "allow", "exit", ["expired"], False),
    ({"now": T0 - HOUR - 6 * MINUTE}, "deny", None, ["not_yet_valid"], False),
    ({"wallNow": T0 + 24 * HOUR}, "allow", "entry", [], True),  # lists older than the limit
    # a station: a stop; one the pass does not name is refused; a lapsed pass still stops
    ({"kind": "station"}, "allow", "stop", [], False),
    (
        {"kind": "station", "item": {"stations": [5]}, "checkpointId": 6},
        "deny",
        None,
        ["not_designated"],
        False,
    ),
    (
        {
            "kind": "station",
            "item": {"stations": [5]},
            "checkpointId": 5,
            "revokedUntil": T0 + HOUR,
        },
        "allow",
        "stop",
        ["revoked"],
        False,
    ),
    # the crew whitelist, where required: entry needs the crew listed now, exit never does
    (
        {"crewsRequired": True, "item": {"crew_listed_until": None}},
        "deny",
        None,
        ["driver_not_whitelisted"],
        False,
    ),
    (
        {"crewsRequired": True, "item": {"crew_listed_until": ISO(T0 - MINUTE)}, "seen": "entry"},
        "allow",
        "exit",
        [],
        False,
    ),
    (
        {"crewsRequired": True, "item": {"crew_listed_until": ISO(T0 + HOUR)}},
        "allow",
        "entry",
        [],
        False,
    ),
    ({"crewsRequired": False, "item": {"crew_listed_until": None}}, "allow", "entry", [], False),
]

JUDGE = """
(cases) => cases.map(([change]) => {
  const verdict = ScannerRules.judge({
    token: %(token)s, kind: "gate", now: %(now)d, ...%(lists)s, ...change });
  return [verdict.decision, verdict.event, verdict.reasons, verdict.stale];
})
"""


@pytest.fixture
def rules_page(live_server, screen):
    s = screen(PHONE)
    s.page.goto(f"{live_server}/login")
    s.page.add_script_tag(url="/static/js/rules.js")
    return s.page


def test_the_verdict_table(rules_page):
    import json

    script = JUDGE % {"token": json.dumps(TOKEN), "now": T0, "lists": json.dumps(LISTS)}
    got = rules_page.evaluate(script, [[c[0]] for c in CASES])
    expected = [[d, e, r, s] for _, d, e, r, s in CASES]
    assert got == expected


LANES = """
(cases) => cases.map((change) => {
  const v = ScannerRules.judge({
    token: %(token)s, kind: "gate", now: %(now)d, checkpointId: 3, ...%(lists)s, ...change });
  return [v.lane || null, v.booking ? v.booking.timing : null];
})
"""


def test_the_lane_and_the_booked_hour_offline(rules_page):
    import json

    def booked(at, gate=3):
        return {"category": "products", "booking": {"checkpoint_id": gate, "slot_start": ISO(at)}}

    cases = [
        ({"item": {"category": "products"}}, ["normal", None]),
        ({"item": {"category": "emergency"}}, ["priority", None]),
        ({"item": booked(T0 - 30 * MINUTE)}, ["priority", "on_time"]),
        ({"item": booked(T0 + 10 * MINUTE)}, ["priority", "on_time"]),  # a little early
        ({"item": booked(T0 + 2 * HOUR)}, ["priority", "early"]),
        ({"item": booked(T0 - 3 * HOUR)}, ["priority", "late"]),
        ({"item": booked(T0 - 14 * HOUR)}, ["normal", None]),  # too long ago to be this trip
        ({"item": booked(T0, gate=4)}, ["normal", None]),  # booked at another gate
        ({"item": booked(T0), "seen": "entry"}, ["normal", None]),  # leaving: no booking
        ({"item": booked(T0), "kind": "site"}, [None, None]),  # lanes are the gates'
    ]
    script = LANES % {"token": json.dumps(TOKEN), "now": T0, "lists": json.dumps(LISTS)}
    got = rules_page.evaluate(script, [c for c, _ in cases])
    assert got == [want for _, want in cases]


def test_plates_typed_by_hand_and_a_real_code_parse(rules_page, make):
    p = make.pass_(status="approved")
    parsed = rules_page.evaluate(
        """(code) => {
          const token = ScannerRules.parseToken(code);
          return {
            passId: token.passId, plate: token.plate, validUntil: token.validUntil,
            clean: ScannerRules.cleanPlate(" 浙 f·12-345 "),
            candidates: ScannerRules.plateCandidates("f12345"),
            whole: ScannerRules.plateCandidates("浙F12345"),
            junk: ScannerRules.parseToken("https://example.com/P/NOTATOKEN"),
          };
        }""",
        p.code,
    )
    assert parsed["passId"] == p.id
    assert parsed["plate"] == p.vehicle.plate
    until = datetime.fromtimestamp(parsed["validUntil"] / 1000, tz=p.valid_until.tzinfo)
    assert until == p.valid_until.replace(second=0, microsecond=0)
    assert parsed["clean"] == "浙F12345"
    assert len(parsed["candidates"]) == 31
    assert "浙F12345" in parsed["candidates"]
    assert parsed["whole"] == ["浙F12345"]
    assert parsed["junk"] is None
