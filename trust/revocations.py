"""The signed revocation list (docs/architecture.md, "Offline scanning"): the passes a
checkpoint must refuse although their signature is good (revoked, or their enterprise
suspended), while they are still within validity. Each change bumps a counter `ctr`; a
client holding the list at `ctr` asks for what changed since. The answer is signed with the
current pass-signing key (ES256 over the canonical JSON), so a phone verifies it with the
keys of /api/v1/trust.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from core import db
from trust.keys import Signer
from trust.models import RevocationChange, RevocationHead

# The pass table as this list reads it (trust/ sits beneath passes/ and names no model of it).
_pass = table("pass", column("id"), column("issuer_ref"))


@dataclass(frozen=True)
class Entry:
    pass_id: int
    listed: bool  # on the list (refuse) or taken off it
    until: datetime


def _next_ctr(session: Session) -> int:
    return db.bump_counter(session, RevocationHead, "ctr", id=1)


def record(session: Session, entries: Iterable[Entry], *, now: datetime) -> None:
    """Add changes in the caller's transaction (which holds the counter's lock till commit)."""
    for entry in entries:
        session.add(
            RevocationChange(
                ctr=_next_ctr(session),
                pass_id=entry.pass_id,
                listed=entry.listed,
                until=entry.until,
                at=now,
            )
        )


def current_ctr(session: Session) -> int:
    return session.scalar(select(RevocationHead.ctr).where(RevocationHead.id == 1)) or 0


def snapshot(session: Session, *, now: datetime, since: int | None = None) -> dict[str, Any]:
    """The list (or, with `since`, the changes after it) up to one counter value, read
    first so that later changes cannot slip into the answer half-seen."""
    head = current_ctr(session)
    latest = (
        select(RevocationChange.pass_id, func.max(RevocationChange.ctr).label("ctr"))
        .where(RevocationChange.ctr <= head)
        .group_by(RevocationChange.pass_id)
    )
    if since is not None:
        latest = latest.where(RevocationChange.ctr > since)
    latest = latest.subquery()
    rows = session.execute(
        select(
            RevocationChange.pass_id,
            RevocationChange.listed,
            RevocationChange.until,
            _pass.c.issuer_ref,
        )
        .join(latest, latest.c.ctr == RevocationChange.ctr)
        .join(_pass, _pass.c.id == RevocationChange.pass_id)
        .where(RevocationChange.until > now)
        .order_by(RevocationChange.pass_id)
    ).all()
    # A peer's pass kept here is named as its code names it too: "<issuer>/<its id>".
    body: dict[str, Any] = {
        "ctr": head,
        "issued_at": now.isoformat(),
        "revoked": [
            {"pass_id": pass_id, "until": until.isoformat(), **({"ref": ref} if ref else {})}
            for pass_id, listed, until, ref in rows
            if listed
        ],
    }
    if since is not None:
        body["since"] = since
        body["restored"] = [ref or pass_id for pass_id, listed, _until, ref in rows if not listed]
    return body


def canonical(body: dict[str, Any]) -> bytes:
    """What the signature covers: the answer without `signature`, keys sorted, no spaces."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(body: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """The answer with `kid` and an ES256 `signature` (raw r||s, base64url, as WebCrypto
    verifies it)."""
    body = {**body, "kid": str(signer.kid)}
    der = signer.private_key.sign(canonical(body), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return {**body, "signature": base64.urlsafe_b64encode(raw).decode().rstrip("=")}
