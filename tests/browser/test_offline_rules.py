"""The offline scanner's pure decision (static/js/rules.js) in Chromium, without a camera,
IndexedDB or the network: a table of tokens, kept lists, input and times, and what the
phone must say for each."""

from datetime import datetime

import pytest

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

MINUTE = 60_000
HOUR = 60 * MINUTE
T0 = 1_800_000_000_000  # the phone's reckoning of the server's time, in ms
TOKEN = {"passId": 7, "plate": "浙F12345", "validFrom": T0 - HOUR, "validUntil": T0 + HOUR}
LISTS = {"fetchedAt": T0 - HOUR, "wallNow": T0, "maxAgeMs": 24 * HOUR}

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
