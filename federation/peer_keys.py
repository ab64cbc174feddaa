"""A peer's pass-signing keys as its last verified configuration published them, each
checked before use: for the gate's trust cache (ours and each peer's) and for the offline
scanner's trust list. What is not usable is left out, never a failure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from federation.models import FederationPeer
from trust.keys import public_key
from trust.tokens import TrustedKey

MAX_PEER_KEYS = 16  # a jurisdiction publishes a few keys (one signing, some retired)


@dataclass(frozen=True)
class PeerKey:
    kid: int
    jwk: dict[str, str]  # kty, crv, x, y
    not_before: datetime
    not_after: datetime | None
    status: str


def usable_keys(peer: FederationPeer, now: datetime) -> list[PeerKey]:
    """The pass-signing keys a peer's last verified configuration published, each checked
    (an EC P-256 JWK, a kid as its codes carry it, times in ISO form), retired ones while
    their passes may still be valid: what is not usable is left out, never a failure."""
    published = (peer.config or {}).get("pass_keys")
    found: list[PeerKey] = []
    for raw in published[:MAX_PEER_KEYS] if isinstance(published, list) else []:
        try:
            kid = int(raw["kid"])
            jwk = {k: str(raw[k]) for k in ("kty", "crv", "x", "y")}
            not_before = datetime.fromisoformat(raw["not_before"])
            not_after = datetime.fromisoformat(raw["not_after"]) if raw.get("not_after") else None
            if str(kid) != str(raw["kid"]) or not 0 < kid < 2**16:
                continue
            if jwk["kty"] != "EC" or jwk["crv"] != "P-256" or not_before.tzinfo is None:
                continue
            if not_after is not None and (not_after.tzinfo is None or not_after <= now):
                continue
            public_key(jwk["x"], jwk["y"])  # a point on the curve
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            continue  # one unusable key does not take the others with it
        status = "retired" if raw.get("status") == "retired" else "active"
        found.append(PeerKey(kid, jwk, not_before, not_after, status))
    return found


def _active_peers(session: Session) -> list[FederationPeer]:
    return list(
        session.scalars(
            select(FederationPeer)
            .where(FederationPeer.status == "active")
            .order_by(FederationPeer.area_code)
        )
    )


def peer_keys(
    session: Session, now: datetime
) -> tuple[dict[str, dict[int, TrustedKey]], dict[str, str]]:
    """The usable pass-signing keys of every active peer, by area code, and its name."""
    keys: dict[str, dict[int, TrustedKey]] = {}
    names: dict[str, str] = {}
    for peer in _active_peers(session):
        names[peer.area_code] = peer.name
        keys[peer.area_code] = {
            k.kid: TrustedKey(k.kid, public_key(k.jwk["x"], k.jwk["y"]), k.not_before)
            for k in usable_keys(peer, now)
        }
    return keys, names


def peer_trust_list(session: Session, now: datetime) -> list[dict[str, Any]]:
    """The peers' keys as our trust list publishes them for the offline scanner: each
    active peer's area code, name and the keys peer_keys trusts."""
    return [
        {
            "area_code": peer.area_code,
            "name": peer.name,
            "keys": [
                {
                    "kid": str(k.kid),
                    "alg": "ES256",
                    "jwk": k.jwk,
                    "not_before": k.not_before.isoformat(),
                    "not_after": k.not_after.isoformat() if k.not_after else None,
                    "status": k.status,
                }
                for k in usable_keys(peer, now)
            ],
        }
        for peer in _active_peers(session)
    ]
