"""One sync with each peer (`flask federation sync`): its configuration again (verified
against the pinned fingerprint, a key change only as its old key signed it), its audit
checkpoint witnessed (federation/witness.py), its pass feed from where we last read it,
kept here page by page (federation/mirror.py), then the events we owe it pushed
(federation/outbox.py).

A peer that cannot be reached or answers what does not verify keeps what we had of it and
records why (`last_error`); the next sync starts where this one stopped. `last_sync_at`
is when its keys and revocations were last read whole: what staleness is judged by."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from federation import client, documents, mirror, outbox, requests, witness
from federation.keys import FederationKey
from federation.models import FederationPeer
from federation.services import Jurisdiction

log = logging.getLogger(__name__)

MAX_PAGES = 200  # one sync reads at most this many pages of a feed (100,000 passes)


@dataclass
class PeerSync:
    area_code: str
    ok: bool = False
    passes: int = 0
    events: int = 0
    error: str | None = None


def sync_all(
    sessions: sessionmaker, *, here: Jurisdiction, key: FederationKey, clock: Callable[[], datetime]
) -> list[PeerSync]:
    with sessions() as session:
        codes = list(
            session.scalars(
                select(FederationPeer.area_code).where(FederationPeer.status == "active")
            )
        )
    return [sync_peer(sessions, code, here=here, key=key, clock=clock) for code in codes]


def sync_peer(
    sessions: sessionmaker,
    area_code: str,
    *,
    here: Jurisdiction,
    key: FederationKey,
    clock: Callable[[], datetime],
) -> PeerSync:
    result = PeerSync(area_code)
    problems: list[str] = []
    with sessions() as session:
        peer = session.get(FederationPeer, area_code)
        if peer is None:
            result.error = "no such peer"
            return result
        try:
            _configuration(session, peer, clock())
            ask = _proof_asker(peer, here=here, key=key, now=clock())
            try:  # a peer that cannot prove its log now still gets its passes read
                checkpoint = peer.config.get("audit_checkpoint")
                witness.witness(session, peer, checkpoint, ask=ask, now=clock())
            except documents.DocumentError as exc:
                problems.append(f"witnessing: {exc}")
            session.commit()
            for _ in range(MAX_PAGES):
                page = _feed_page(peer, here=here, key=key, now=clock())
                kept = mirror.apply(session, peer, page["items"], here=here.area_code, now=clock())
                result.passes += kept.added + kept.updated
                peer.peer_ctr = int(page["ctr"])
                session.commit()
                if not page.get("more"):
                    break
            peer.last_sync_at = clock()
            session.commit()
            pushed = outbox.push(session, peer, here=here, key=key, now=clock())
            result.events = pushed.sent + pushed.refused
        except (
            documents.DocumentError,
            mirror.FeedRefused,
            KeyError,
            TypeError,
            ValueError,
            OverflowError,
            SQLAlchemyError,  # what one peer sent must not stop the sync of the others
        ) as exc:
            session.rollback()
            result.error = str(exc)[:300]
            log.warning("sync with peer %s: %s", area_code, result.error)
            peer = session.get(FederationPeer, area_code)
            if peer is not None:
                peer.last_error = result.error
                session.commit()
            return result
        result.error = "; ".join(problems)[:300] or None
        peer.last_error = result.error
        session.commit()
    result.ok = not problems
    return result


def _configuration(session: Session, peer: FederationPeer, now: datetime) -> None:
    token = client.fetch_configuration(peer.base_url)
    payload, found = documents.verify_config(token, peer.fingerprint)
    if payload.get("area_code") != peer.area_code:
        raise documents.DocumentError(f"the configuration is now {payload.get('area_code')}'s")
    if found != peer.fingerprint:  # its old key signed the change: pin the new one
        audit.record(
            session,
            actor_id=None,
            action=audit.Action.PEER_REPIN,
            object_type="peer",
            object_id=peer.area_code,
            data={"fingerprint": found, "signed_by": peer.fingerprint},
            now=now,
        )
        peer.fingerprint = found
    if _issued(payload) < _issued(peer.config or {}):
        raise documents.DocumentError("the configuration is older than the one kept (a replay?)")
    # Its name stays the one the administrator saw when pinning it: a peer cannot rename
    # itself into another jurisdiction (or ours) on the officers' screens.
    peer.config = payload
    session.flush()


def _issued(config: dict[str, Any]) -> datetime:
    """When a configuration was signed (the oldest moment when it does not say)."""
    try:
        moment = datetime.fromisoformat(str(config["issued_at"]))
    except (KeyError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _feed_page(
    peer: FederationPeer, *, here: Jurisdiction, key: FederationKey, now: datetime
) -> dict[str, Any]:
    target = f"/federation/passes?since={peer.peer_ctr}"
    auth = requests.authorization(
        key, issuer=here.area_code, audience=peer.area_code, method="GET", target=target, now=now
    )
    body = client.call(
        "GET",
        f"{peer.base_url}/api/v1{target}",
        {"Authorization": auth, "Accept": "application/jose"},
    )
    page = documents.verify_with(
        body.decode("ascii", "replace"), requests.pinned_key(peer), documents.FEED_TYPE
    )
    if page.get("iss") != peer.area_code or page.get("aud") != here.area_code:
        raise documents.DocumentError("the pass feed was signed for someone else")
    if not isinstance(page.get("items"), list) or not isinstance(page.get("ctr"), int):
        raise documents.DocumentError("the pass feed has no items and counter")
    if not peer.peer_ctr <= page["ctr"] < 2**31:
        raise documents.DocumentError("the pass feed's counter went backwards or overflows")
    return page


def _proof_asker(
    peer: FederationPeer, *, here: Jurisdiction, key: FederationKey, now: datetime
) -> witness.AskProof:
    def ask(first: int, second: int) -> dict[str, Any]:
        target = f"/federation/audit?first={first}&second={second}"
        auth = requests.authorization(
            key,
            issuer=here.area_code,
            audience=peer.area_code,
            method="GET",
            target=target,
            now=now,
        )
        body = client.call(
            "GET",
            f"{peer.base_url}/api/v1{target}",
            {"Authorization": auth, "Accept": "application/json"},
        )
        proof = json.loads(body)
        if not isinstance(proof, dict):
            raise documents.DocumentError("the consistency proof is not one")
        return proof

    return ask
