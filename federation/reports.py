"""What a peer reports about the passes we issued (POST /api/v1/federation/events): a
document signed by its federation key, each event kept once by its `event_id`, and what it
says it holds of our audit log, compared with our own tree at that size."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import N_, ValidationFailed
from federation import documents, events, requests
from federation.models import FederationPeer, FederationReport
from passes.domain import PassStatus
from passes.models import Pass
from trust import audit_proofs

MAX_EVENTS = 500  # in one document
EVENT_ID = re.compile(r"[0-9a-f]{32}")
EVENTS = {"entry", "arrival", "exit", "none"}
DECISIONS = {"allow", "deny"}
ISSUED = {PassStatus.APPROVED, PassStatus.REVOKED}  # a pass a gate can have seen
SLACK = timedelta(days=1)  # of a peer's clock, and of a scan queued offline


def accept(session: Session, token: str, *, here: str, now: datetime) -> dict[str, Any]:
    """Keep the events of a peer's signed document. Commits; returns `{accepted,
    duplicates, refused: [{event_id, reason}]}`. NotAPeer (401) for a document not signed
    by a pinned peer for us; ValidationFailed (422) for one that is not a list of events."""
    try:
        issuer = str(documents.claimed(token).get("iss", ""))
        peer = session.get(FederationPeer, issuer) if issuer.isdigit() else None
        if peer is None or peer.status != "active":
            raise requests.NotAPeer(N_("This jurisdiction does not federate with yours."))
        payload = documents.verify_with(token, requests.pinned_key(peer), documents.EVENTS_TYPE)
    except (documents.DocumentError, ValueError, KeyError, TypeError):
        raise requests.NotAPeer(N_("The document's signature does not verify.")) from None
    if payload.get("aud") != here:
        raise requests.NotAPeer(N_("The document was signed for another jurisdiction."))
    items = payload.get("events")
    if not isinstance(items, list) or len(items) > MAX_EVENTS:
        raise ValidationFailed.one("events", N_("Send a list of at most 500 events."))
    accepted, duplicates, refused = 0, 0, []
    for item in items:
        event_id = item.get("event_id") if isinstance(item, dict) else None
        if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
            raise ValidationFailed.one("events", N_("Every event needs its event_id."))
        if session.scalar(select(FederationReport.id).where(FederationReport.event_id == event_id)):
            duplicates += 1
            continue
        report, reason = _report(session, peer, item, now)
        if report is None:
            refused.append({"event_id": event_id, "reason": reason})
            continue
        session.add(report)
        session.flush()  # the same id twice in one document is a duplicate too
        accepted += 1
    _holds_ours(session, peer, payload.get("witnessed"), now)
    session.commit()
    return {"accepted": accepted, "duplicates": duplicates, "refused": refused}


def _report(
    session: Session, peer: FederationPeer, item: dict[str, Any], now: datetime
) -> tuple[FederationReport | None, str]:
    try:
        named, checkpoint = item["pass"], item["checkpoint"]
        pass_id, number = int(named["id"]), str(named["number"])
        at = datetime.fromisoformat(str(item["at"]))
        event, decision = str(item["event"]), str(item["decision"])
        reasons = [str(r)[:40] for r in item.get("reasons") or []][:20]
        code, name = str(checkpoint["code"])[:32], str(checkpoint["name"])[:100]
        previous = item.get("previous_event_id")
    except (KeyError, TypeError, ValueError):
        return None, "malformed"
    if at.tzinfo is None or event not in EVENTS or decision not in DECISIONS:
        return None, "malformed"
    found = session.get(Pass, pass_id) if 0 < pass_id < 2**31 else None
    issued = found is not None and found.status in ISSUED and found.issuer_ref is None
    if found is None or not issued or found.number != number:
        return None, "not_ours"  # the same word for none and not issued: nothing to learn
    if not found.valid_from - SLACK <= at <= now + SLACK:
        return None, "malformed"  # seen before the pass was valid, or in the future
    report = FederationReport(
        event_id=item["event_id"],
        previous_event_id=previous if isinstance(previous, str) else None,
        area_code=peer.area_code,
        jurisdiction=peer.name,
        pass_id=found.id,
        checkpoint_code=code,
        checkpoint_name=name,
        event=event,
        decision=decision,
        reasons=reasons,
        at=at,
        reported_at=now,
    )
    return report, ""


def _holds_ours(session: Session, peer: FederationPeer, witnessed: Any, now: datetime) -> None:
    """The peer says it holds our log at this size and root: kept, and checked against our
    own tree (a root that differs means one of us was shown another history)."""
    if not isinstance(witnessed, dict):
        return
    size, root = witnessed.get("size"), witnessed.get("root_hash")
    if not isinstance(size, int) or not isinstance(root, str) or size <= 0:
        return
    ours = None
    if size <= audit_proofs.tree_size(session):
        (ours,) = audit_proofs.range_hashes(session, [(0, size)])
    agrees = ours is None or ours.hex() == root
    peer.holds_ours = {"size": size, "root_hash": root, "at": now.isoformat(), "agrees": agrees}
    if not agrees:
        events.peer_forked.send(
            peer, session=session, now=now, why="holds another history of our log"
        )
