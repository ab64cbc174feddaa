"""The published trust list: the public keys that sign pass tokens."""

from __future__ import annotations

from pydantic import BaseModel

import web
from api.core import endpoint
from trust import keys


class TrustedKeyOut(BaseModel):
    kid: str
    alg: str
    jwk: dict[str, str]
    not_before: str
    not_after: str | None
    status: str


class TrustList(BaseModel):
    keys: list[TrustedKeyOut]


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
        ]
    )
