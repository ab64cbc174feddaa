"""The journey goes home: every scan of a peer's pass at our checkpoints is owed to its
issuer as an event (like e-permit's PERMIT_USED), kept in an outbox written in the scan's
own transaction, and sent by `federation sync` as one signed document per batch.

The SMS outbox's discipline: nothing is lost on a restart (a row is pending until the
issuer answered for it), delivery is idempotent (the issuer keeps each `event_id` once),
and order holds per pass (events go in id order; a batch that fails stops the peer's
queue until the next sync, so nothing later overtakes it). An event the issuer refuses
(not its pass) is marked refused with the reason, and not sent again.

An event, as sent: `{event_id, previous_event_id, type: "PASS_USED", pass: {id, number},
checkpoint: {code, name}, event, decision, reasons, at, recorded_at}` where `pass.id` is
the issuer's own id and `previous_event_id` the one sent before it about the same pass.
The document: `{iss, aud, iat, events: [...], witnessed}` (`witnessed`: the issuer's audit
checkpoint as we last showed it consistent, so it can say who holds its log)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from checkpoints import events
from checkpoints.models import Checkpoint, Scan
from federation import client, documents
from federation.keys import FederationKey
from federation.models import FederationEvent, FederationPeer
from federation.services import Jurisdiction
from passes.models import Pass

BATCH = 200  # events per document
MAX_BATCHES = 50  # per peer and sync: 10,000 events

_event = FederationEvent.__table__


def owe(scanned: Any, *, connection: Connection, now: datetime) -> None:
    """The receiver of checkpoints.events.peer_pass_scanned: the outbox row, in the scan's
    transaction (so the scan and the event it owes commit or fail together)."""
    connection.execute(
        _event.insert().values(
            event_id=uuid.uuid4().hex,
            peer_area_code=scanned.issuer_area_code,
            pass_id=scanned.pass_id,
            scan_id=scanned.scan_pk,
            status="pending",
            created_at=now,
            attempts=0,
        )
    )


def connect_receivers() -> None:
    """Owe the issuer each scan of its passes (called by the app factory; connecting the
    same function again changes nothing)."""
    events.peer_pass_scanned.connect(owe)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def due(session: Session, area_code: str, limit: int = BATCH) -> list[tuple[FederationEvent, dict]]:
    """The oldest pending events for `area_code`, each with the body it is sent as."""
    rows = session.execute(
        select(
            FederationEvent, Scan, Checkpoint.code, Checkpoint.name, Pass.issuer_ref, Pass.number
        )
        .join(Scan, Scan.id == FederationEvent.scan_id)
        .join(Checkpoint, Checkpoint.id == Scan.checkpoint_id)
        .join(Pass, Pass.id == FederationEvent.pass_id)
        .where(FederationEvent.peer_area_code == area_code, FederationEvent.status == "pending")
        .order_by(FederationEvent.id)
        .limit(limit)
    ).all()
    last: dict[int, str | None] = {}
    out = []
    for event, scan, code, name, issuer_ref, number in rows:
        if event.pass_id not in last:
            last[event.pass_id] = session.scalar(
                select(FederationEvent.event_id)
                .where(FederationEvent.pass_id == event.pass_id, FederationEvent.id < event.id)
                .order_by(FederationEvent.id.desc())
                .limit(1)
            )
        body = {
            "event_id": event.event_id,
            "previous_event_id": last[event.pass_id],
            "type": "PASS_USED",
            "pass": {"id": int(issuer_ref.rpartition("/")[2]), "number": number},
            "checkpoint": {"code": code, "name": name},
            "event": scan.event,
            "decision": scan.decision,
            "reasons": list(scan.reasons or []),
            "at": _iso(scan.scanned_at),
            "recorded_at": _iso(scan.recorded_at),
        }
        last[event.pass_id] = event.event_id
        out.append((event, body))
    return out


@dataclass
class Pushed:
    sent: int = 0
    refused: int = 0


def push(
    session: Session,
    peer: FederationPeer,
    *,
    here: Jurisdiction,
    key: FederationKey,
    now: datetime,
) -> Pushed:
    """Send the peer what we owe it, batch by batch (at least one document, so it hears
    what we hold of its log). Commits after each batch; DocumentError when the peer cannot
    be reached or answers otherwise, the batch left pending for the next sync."""
    pushed = Pushed()
    for _ in range(MAX_BATCHES):
        batch = due(session, peer.area_code)
        document = {
            "iss": here.area_code,
            "aud": peer.area_code,
            "iat": int(now.timestamp()),
            "events": [body for _, body in batch],
            "witnessed": _witnessed(peer),
        }
        token = documents.sign(document, key.key(), key.kid(), typ=documents.EVENTS_TYPE)
        headers = {"Content-Type": "application/jose", "Accept": "application/json"}
        try:
            answer = client.call(
                "POST", f"{peer.base_url}/api/v1/federation/events", headers, token.encode()
            )
            refused = _refused(answer)
        except documents.DocumentError as exc:
            for event, _ in batch:
                event.attempts += 1
                event.last_error = str(exc)[:300]
            session.commit()
            raise
        for event, _ in batch:
            event.attempts += 1
            if event.event_id in refused:
                event.status, event.last_error = "refused", refused[event.event_id][:300]
                pushed.refused += 1
            else:
                event.status, event.sent_at, event.last_error = "sent", now, None
                pushed.sent += 1
        session.commit()
        if len(batch) < BATCH:
            break
    return pushed


def _witnessed(peer: FederationPeer) -> dict[str, Any] | None:
    kept = peer.witnessed if peer.witness_state == "ok" else None
    return {"size": kept["size"], "root_hash": kept["root_hash"]} if kept else None


def _refused(answer: bytes) -> dict[str, str]:
    """{event_id: reason} of what the issuer refused; DocumentError for another answer."""
    try:
        result = json.loads(answer)
        refused = result.get("refused", [])
        return {str(r["event_id"]): str(r["reason"]) for r in refused}
    except (ValueError, AttributeError, KeyError, TypeError):
        raise documents.DocumentError("the events were answered with no count") from None
