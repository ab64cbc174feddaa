"""The published trust list: the public keys that sign pass tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, request
from pydantic import BaseModel

from api.core import endpoint
from core import inputs, web
from core.errors import N_, ValidationFailed
from trust import keys, revocations


class TrustedKeyOut(BaseModel):
    kid: str
    alg: str
    jwk: dict[str, str]
    not_before: str
    not_after: str | None
    status: str


class PeerKeysOut(BaseModel):
    area_code: str
    name: str
    keys: list[TrustedKeyOut]


class TrustList(BaseModel):
    area_code: str  # the jurisdiction these keys sign for (a version 2 code names it)
    keys: list[TrustedKeyOut]
    revocations_ctr: int  # the revocation list's counter: fetch when it moved
    # Federated jurisdictions' pass keys, as last synced (the wiring supplies them).
    peers: list[PeerKeysOut] = []


@endpoint(
    "/trust",
    "GET",
    summary="Public keys that sign pass tokens (JWK)",
    response=TrustList,
    tag="trust",
)
def trust(_user: None) -> TrustList:
    rows = keys.published(web.db(), web.now())
    return TrustList(
        area_code=current_app.config["AREA_CODE"],
        keys=[
            TrustedKeyOut(
                kid=str(k.kid),
                alg="ES256",
                jwk=keys.jwk(k),
                not_before=k.not_before.isoformat(),
                not_after=k.not_after.isoformat() if k.not_after else None,
                status="retired" if k.retired_at else "active",
            )
            for k in rows
        ],
        revocations_ctr=revocations.current_ctr(web.db()),
        peers=[
            PeerKeysOut.model_validate(p)
            for p in current_app.extensions.get("peer_trust_list", _no_peers)(web.db(), web.now())
        ],
    )


def _no_peers(_session: Any, _now: Any) -> list[dict[str, Any]]:
    return []


class RevokedOut(BaseModel):
    pass_id: int
    until: str
    ref: str | None = None  # a peer's pass: "<issuer's area code>/<its id>", as its code names it


class RevocationList(BaseModel):
    ctr: int
    issued_at: str
    kid: str
    revoked: list[RevokedOut]
    since: int | None = None
    restored: list[int | str] | None = None  # our ids, or a peer's pass's ref
    signature: str


@endpoint(
    "/revocations",
    "GET",
    summary="Signed list of passes to refuse (revoked, enterprise suspended); ?since=ctr",
    response=RevocationList,
    query={"since": "integer"},
    tag="trust",
)
def revocation_list(_user: None) -> dict[str, Any]:
    raw = request.args.get("since", "").strip()
    since = None
    if raw:
        if not raw.isdigit() or int(raw) > inputs.MAX_ID:
            raise ValidationFailed.one("since", N_("Enter a whole number of at least 0."))
        since = int(raw)
    session, now = web.db(), web.now()
    # A GET that may write (the first key, before any pass was signed): its own session.
    with current_app.extensions["sessions"]() as writer:
        signer = keys.current_signer(writer, Path(current_app.instance_path) / "keys", now)
        writer.commit()
    return revocations.sign(revocations.snapshot(session, now=now, since=since), signer)
