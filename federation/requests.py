"""Requests between peers, signed by the asking jurisdiction's federation key.

A request carries `Authorization: Federation <compact JWS>` whose payload names who asks
(`iss`, its area code), whom (`aud`), the method and target (path and query) and when
(`iat`); the answering side verifies it with the key it pinned for `iss`, and refuses one
from a jurisdiction it does not federate with, for another audience or target, or older
than MAX_AGE. Requests only read (the pass feed, a pass by number), so a replay within
that window tells nothing new; events come as their own signed documents."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.errors import N_, DomainError
from federation import documents
from federation.keys import FederationKey, fingerprint_of_jwk
from federation.models import FederationPeer

SCHEME = "Federation"
REQUEST_TYPE = "trafficpass-request+jws"
MAX_AGE = timedelta(minutes=5)


class NotAPeer(DomainError):
    status = 401
    title = N_("This is for federated jurisdictions only")


def authorization(
    key: FederationKey, *, issuer: str, audience: str, method: str, target: str, now: datetime
) -> str:
    """The Authorization header's value for one request to `audience`."""
    payload = {
        "iss": issuer,
        "aud": audience,
        "htm": method.upper(),
        "htu": target,
        "iat": int(now.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return f"{SCHEME} {documents.sign(payload, key.key(), key.kid(), typ=REQUEST_TYPE)}"


def pinned_key(peer: FederationPeer) -> dict[str, Any]:
    """The peer's federation key as last verified, if it still has the pinned fingerprint."""
    jwk = (peer.config or {}).get("federation_key")
    if not isinstance(jwk, dict) or fingerprint_of_jwk(jwk) != peer.fingerprint:
        raise documents.DocumentError("no pinned key", "no_key")
    return jwk


def verify(
    session: Session, header: str | None, *, here: str, method: str, target: str, now: datetime
) -> FederationPeer:
    """The peer that signed this request; NotAPeer (401) otherwise."""
    scheme, _, token = (header or "").partition(" ")
    if scheme != SCHEME or not token:
        raise NotAPeer(N_("Sign the request with your federation key."))
    try:
        issuer = str(documents.claimed(token).get("iss", ""))
        peer = session.get(FederationPeer, issuer) if issuer.isdigit() else None
        if peer is None or peer.status != "active":
            raise NotAPeer(N_("This jurisdiction does not federate with yours."))
        payload = documents.verify_with(token, pinned_key(peer), REQUEST_TYPE)
    except (documents.DocumentError, ValueError, KeyError, TypeError):
        raise NotAPeer(N_("The request's signature does not verify.")) from None
    iat = payload.get("iat")
    fresh = isinstance(iat, int) and abs(now.timestamp() - iat) <= MAX_AGE.total_seconds()
    if (
        payload.get("aud") != here
        or payload.get("htm") != method.upper()
        or payload.get("htu") != target
        or not fresh
    ):
        raise NotAPeer(N_("The request was signed for another audience, target or time."))
    return peer
