"""This jurisdiction's signed configuration, and its peers: added by URL and a pinned
fingerprint (never by URL alone), listed, removed. A peer is stored only once its
configuration verified against the fingerprint given; a wrong one stores nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.audit import AuditCheckpoint
from core.errors import N_, DomainError, NotFound, ValidationFailed
from federation import documents
from federation.keys import FederationKey
from federation.models import FederationPeer
from trust import keys as pass_keys
from trust import revocations
from trust.audit_checkpoints import Checkpoint

FINGERPRINT = re.compile(r"[0-9a-f]{64}")
AREA_CODE = re.compile(r"\d{6}")


# Why a peer's configuration is refused, in words (the operator's detail goes to the CLI).
REFUSED = {
    "fingerprint": N_(
        "The peer's key does not have the fingerprint you entered, and no change is signed "
        "by its earlier key. Check the fingerprint with its administrators by phone or "
        "letter, not from its address."
    ),
    "signature": N_("The peer's configuration is not signed by the key it names."),
    "no_key": N_("The peer's configuration names no usable federation key."),
    "unreachable": N_("The peer's address does not answer with a configuration."),
    "malformed": N_("The address does not answer with a signed configuration."),
}


@dataclass(frozen=True)
class Jurisdiction:
    area_code: str
    name: str
    base_url: str
    audit_origin: str


class PeerRefused(DomainError):
    """A peer that cannot be pinned: unreachable, not signed by the fingerprint given..."""

    status = 422
    title = N_("The peer cannot be added")


def configuration(
    session: Session, here: Jurisdiction, key: FederationKey, now: datetime
) -> dict[str, Any]:
    """What GET /api/v1/federation signs: who we are, our federation and pass keys, the
    revocation list's counter, the latest audit checkpoint."""
    row = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc())).first()
    checkpoint = Checkpoint.from_row(here.audit_origin, row).to_json() if row else None
    return {
        "area_code": here.area_code,
        "name": here.name,
        "base_url": here.base_url,
        "federation_key": key.public_jwk(),
        "pass_keys": [
            {
                **pass_keys.jwk(k),
                "kid": str(k.kid),
                "not_before": k.not_before.isoformat(),
                "not_after": k.not_after.isoformat() if k.not_after else None,
                "status": "retired" if k.retired_at else "active",
            }
            for k in pass_keys.published(session, now)
        ],
        "revocations_ctr": revocations.current_ctr(session),
        "audit_checkpoint": checkpoint,
        "issued_at": now.isoformat(),
    }


def published(session: Session, here: Jurisdiction, key: FederationKey, now: datetime) -> str:
    return documents.sign(configuration(session, here, key, now), key.key(), key.kid())


def normal_fingerprint(raw: str) -> str:
    value = raw.strip().lower().replace(":", "")
    if not FINGERPRINT.fullmatch(value):
        raise ValidationFailed.one(
            "fingerprint", N_("A fingerprint is 64 hexadecimal digits (SHA-256).")
        )
    return value


def add_peer(
    session: Session,
    url: str,
    fingerprint: str,
    *,
    here: Jurisdiction,
    fetch: Callable[[str], str],
    actor_id: int | None,
    now: datetime,
) -> FederationPeer:
    """Fetch the configuration at `url`, check it against `fingerprint`, store the peer
    (or pin it again). Commits; PeerRefused stores nothing."""
    pinned = normal_fingerprint(fingerprint)
    base = url.strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", base):
        raise ValidationFailed.one(
            "url", N_("Enter the peer's address, e.g. https://pass.example.cn")
        )
    try:
        token = fetch(base)
        payload, found = documents.verify_config(token, pinned)
    except documents.DocumentError as exc:
        session.rollback()
        raise PeerRefused(REFUSED.get(exc.kind, REFUSED["malformed"]), **exc.facts) from None
    area_code = str(payload.get("area_code", ""))
    if not AREA_CODE.fullmatch(area_code):
        raise PeerRefused(N_("The peer's configuration names no 6-digit area code."))
    if area_code == here.area_code:
        raise PeerRefused(N_("That is this jurisdiction's own address."))
    peer = session.get(FederationPeer, area_code)
    if peer is not None and peer.base_url != base:
        # Another address claiming a jurisdiction already pinned: never taken over quietly.
        raise PeerRefused(
            N_(
                "%(code)s is already pinned at %(url)s. Remove that peer first if it has "
                "really moved."
            ),
            code=area_code,
            url=peer.base_url,
        )
    action = audit.Action.PEER_ADD if peer is None else audit.Action.PEER_REPIN
    if peer is None:
        peer = FederationPeer(area_code=area_code, added_at=now)
        session.add(peer)
    peer.name = str(payload.get("name", ""))[:64] or area_code
    peer.base_url, peer.fingerprint, peer.config = base, found, payload
    peer.status, peer.last_sync_at, peer.last_error = "active", now, None
    # Pinned (again) by an administrator: its log is witnessed afresh from here.
    peer.witnessed, peer.witness_state, peer.witness_error = None, None, None
    audit.record(
        session,
        actor_id=actor_id,
        action=action,
        object_type="peer",
        object_id=area_code,
        data={"fingerprint": found},
        now=now,
    )
    session.commit()
    return peer


def remove_peer(session: Session, area_code: str, *, actor_id: int | None, now: datetime) -> None:
    """Stop trusting a peer: its passes become unknown_issuer here. Commits."""
    peer = session.get(FederationPeer, area_code)
    if peer is None:
        raise NotFound(N_("No such peer."))
    session.delete(peer)
    audit.record(
        session,
        actor_id=actor_id,
        action=audit.Action.PEER_REMOVE,
        object_type="peer",
        object_id=area_code,
        data={"fingerprint": peer.fingerprint},
        now=now,
    )
    session.commit()


def peers(session: Session) -> list[FederationPeer]:
    return list(session.scalars(select(FederationPeer).order_by(FederationPeer.area_code)))
