"""Every stored code the domain defines has words (words.py), in Chinese unlike the code."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from accounts.domain import EnterpriseStatus, Role
from checkpoints.arrivals import Arrival
from checkpoints.bookings import Lane, Status, Timing
from checkpoints.domain import AUTO_RESOLVED, AnnulReason, AnomalyKind, Event, Kind, TripState
from core.words import WORDS
from passes.domain import Category, PassStatus
from sms.domain import SmsStatus

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = {
    "trip_state": [s.value for s in TripState],
    "pass_status": [s.value for s in PassStatus],
    "event": [*(e.value for e in Event), "annul", "none"],
    "anomaly_kind": [k.value for k in AnomalyKind],
    "category": [c.value for c in Category],
    "sms_status": [s.value for s in SmsStatus],
    "annul_reason": [r.value for r in AnnulReason],
    "anomaly_note": [AUTO_RESOLVED],
    "arrival": [a.value for a in Arrival],
    "checkpoint_kind": [k.value for k in Kind],
    "booking_status": [s.value for s in Status],
    "booking_timing": [t.value for t in Timing],
    "lane": [lane.value for lane in Lane],
    "role": [r.value for r in Role],
    "enterprise_status": [s.value for s in EnterpriseStatus],
}


def reason_codes() -> set[str]:
    """Every reason the decision and the scan path can record."""
    text = "".join(
        (ROOT / path).read_text(encoding="utf-8")
        for path in (
            "checkpoints/domain.py",
            "checkpoints/scanning.py",
            "checkpoints/scan_store.py",
        )
    )
    found = set(re.findall(r'deny\("([a-z_]+)"', text))
    found |= set(re.findall(r'"(offline_conflict|device_clock|not_found|repeat)"', text))
    found |= {"plate_mismatch", "driver_mismatch", "malformed", "bad_signature", "unknown_key"}
    return found


@pytest.mark.parametrize("kind", [*DOMAIN, "reason"])
def test_every_code_has_words_and_a_chinese_translation(kind):
    codes = DOMAIN.get(kind) or sorted(reason_codes())
    missing = [c for c in codes if c not in WORDS[kind]]
    assert missing == [], f"{kind}: no words for {missing}"
    with (ROOT / "translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    for code in codes:
        message = catalog.get(WORDS[kind][code])
        assert message is not None, (kind, code)
        assert message.string, (kind, code)
        assert message.string != code


CODED = re.compile(
    r"\{\{\s*[\w.\[\]'\"]+?\.(state|status|event|decision|kind|category)\b(?![\w\]])"
    r"\s*(\|\s*(\w+))?[^}]*\}\}"
)


def test_no_template_shows_a_stored_code_as_text():
    """A code may sit in an attribute (a CSS class, data-kind), never in the text a user
    reads: there it goes through the `word` filter (or a macro built on it)."""
    shown = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for match in CODED.finditer(text):
            if match.group(3) == "word":
                continue
            before = text[max(0, match.start() - 80) : match.start()]
            if re.search(r'[\w-]+="[^"]*$', before):  # inside an attribute's value
                continue
            shown.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert shown == [], "map these through words.py: " + "; ".join(shown)


def test_no_translation_has_a_percent_sign_its_message_lacks():
    """Jinja's _() formats every message: a bare % in a translation ("闭环率（%）") of a
    message without one is a 500 on the Chinese page only."""
    bare = re.compile(r"%(?![(%])")
    with (ROOT / "translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    wrong = [
        m.id
        for m in catalog
        if m.id
        and isinstance(m.id, str)
        and isinstance(m.string, str)
        and len(bare.findall(m.string)) > len(bare.findall(m.id))
    ]
    assert wrong == []
