"""What must have survived the cluster rehearsal (scripts/cluster_run.py), read from the
database, from what the Twilio stand-in received and from `flask audit verify`."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def scans_recorded_once(app: Any, answers: dict[str, dict[str, Any]]) -> Check:
    """Every answered scan is in the database once, as answered; no scan the clients
    never heard of (every unanswered one was sent again until it was answered)."""
    from checkpoints.models import Scan

    with app.extensions["read_sessions"]() as session:
        rows = session.execute(select(Scan.scan_id, Scan.decision, Scan.response)).all()
    counts = Counter(r.scan_id for r in rows)
    twice = [s for s, n in counts.items() if n > 1]
    missing = [s for s in answers if s not in counts]
    unheard = [s for s in counts if s not in answers]
    stored = {r.scan_id: r for r in rows}
    differ = [
        s
        for s, answer in answers.items()
        if s in stored
        and (
            stored[s].decision != answer["decision"]
            or (stored[s].response or {}).get("event") != answer["event"]
        )
    ]
    ok = not (twice or missing or unheard or differ)
    detail = (
        f"{len(answers)} answered, {len(rows)} recorded; twice {len(twice)}, missing"
        f" {len(missing)}, recorded but never answered {len(unheard)}, stored answer differs"
        f" {len(differ)}"
    )
    return Check("every answered scan recorded exactly once", ok, detail)


def trips_consistent(app: Any, answered: int) -> Check:
    """The benchmark's invariants: one open trip per pass at most, trips_used = trips,
    none over max_trips, every scan audited, the log verifies with nothing pending."""
    from bench_scan import check_invariants, wait_for_sealing

    try:
        wait_for_sealing(app, limit=30.0)
        held = check_invariants(app, answered, 0)
    except SystemExit as exc:
        return Check("trips, audit entries and the log", False, str(exc))
    return Check(
        "trips, audit entries and the log",
        True,
        f"{held['scans']} scans each audited; no pass with two open trips; trips_used ="
        f" trips; none over max_trips; {held['audit_entries']} entries,"
        f" {held['checkpoints']} signed checkpoints",
    )


def sms_drained(app: Any, limit: float) -> tuple[int, int]:
    """Wait until no message is pending or in flight; returns (messages, not yet sent)."""
    from sms.domain import SmsStatus
    from sms.models import SmsMessage

    deadline = time.monotonic() + limit
    while True:
        with app.extensions["read_sessions"]() as session:
            total = session.scalar(select(func.count()).select_from(SmsMessage)) or 0
            waiting = session.scalar(
                select(func.count()).where(
                    SmsMessage.status.in_((SmsStatus.PENDING, SmsStatus.SENDING))
                )
            )
        if not waiting or time.monotonic() > deadline:
            return total, waiting or 0
        time.sleep(0.2)


def delivery_counts(expected: Counter, got: Counter) -> tuple[int, int, int]:
    """Texts received more often than queued, queued more often than received, and received
    but never queued. Two rows may carry the same text to the same phone (a consignee told
    of two entries of one truck in one minute), so each text is counted against its rows."""
    twice = sum(1 for key, n in got.items() if n > expected[key] > 0)
    lost = sum(1 for key, n in expected.items() if got[key] < n)
    stray = sum(1 for key in got if key not in expected)
    return twice, lost, stray


def sms_exactly_once(app: Any, received: list[dict[str, str]]) -> tuple[Check, dict[str, Any]]:
    """Each outbox row was sent, and the provider got its text once: a worker killed
    mid-send leaves the message for another, which asks the provider before sending."""
    from sms.backends import SmsBackend
    from sms.domain import SmsStatus
    from sms.models import SmsMessage

    shown = SmsBackend()
    shown.signature = app.config["SMS_SIGNATURE"]
    shown.signature_en = app.config["SMS_SIGNATURE_EN"]
    with app.extensions["read_sessions"]() as session:
        rows = session.execute(
            select(SmsMessage.to, SmsMessage.body, SmsMessage.status, SmsMessage.attempts)
        ).all()
    expected = Counter((r.to, shown.delivered_text(r.body)) for r in rows)
    got = Counter((m["to"], m["body"]) for m in received)
    unsent = sum(1 for r in rows if r.status != SmsStatus.SENT)
    twice, lost, stray = delivery_counts(expected, got)
    ok = bool(rows) and not (unsent or twice or lost or stray) and len(received) == len(rows)
    figures = {
        "queued": len(rows),
        "sent": len(rows) - unsent,
        "received_by_stub": len(received),
        "received_twice": twice,
        "never_received": lost,
        "attempted_twice": sum(1 for r in rows if r.attempts > 1),
    }
    detail = (
        f"{len(rows)} queued, {figures['sent']} sent, {len(received)} received by the stub;"
        f" twice {twice}, never {lost}, unknown {stray}"
    )
    return Check("every SMS sent and received exactly once", ok, detail), figures


def messages(app: Any, ids: list[int]) -> list[dict[str, Any]]:
    """Status and attempts of these outbox rows: a message whose send was cut off is sent
    once the provider has been asked (one attempt) or sent again (two)."""
    from sms.models import SmsMessage

    with app.extensions["read_sessions"]() as session:
        rows = session.execute(
            select(SmsMessage.id, SmsMessage.status, SmsMessage.attempts).where(
                SmsMessage.id.in_(ids)
            )
        ).all()
    return [{"id": r.id, "status": r.status, "attempts": r.attempts} for r in rows]


def audit_verifies(env: dict[str, str], limit: float = 20.0) -> Check:
    """`flask audit verify` exits 0 and reports nothing pending (the sequencer process has
    integrated every entry within its interval)."""
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "app", "audit", "verify"]
    deadline = time.monotonic() + limit
    while True:
        out = subprocess.run(flask, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        text = (out.stdout + out.stderr).strip().splitlines()
        last = text[-1] if text else ""
        if (out.returncode == 0 and "pending" not in last) or time.monotonic() > deadline:
            ok = out.returncode == 0 and "pending" not in last
            return Check("flask audit verify", ok, f"exit {out.returncode}: {last}")
        time.sleep(1)
