"""GET /api/v1/federation (this jurisdiction's signed configuration) and the peers list."""

from __future__ import annotations

from datetime import datetime

from flask import Response
from pydantic import BaseModel

from api.core import endpoint
from core import web
from federation import context, services


@endpoint(
    "/federation",
    "GET",
    summary="This jurisdiction's configuration as a compact JWS signed by its federation key",
    tag="federation",
)
def federation(_user: None) -> Response:
    token = services.published(web.db(), context.here(), context.key(), web.now())
    return Response(token, mimetype="application/jose", headers={"Cache-Control": "no-cache"})


class PeerOut(BaseModel):
    area_code: str
    name: str
    base_url: str
    fingerprint: str
    status: str
    last_sync_at: datetime | None
    last_error: str | None


class PeerList(BaseModel):
    items: list[PeerOut]


@endpoint(
    "/federation/peers",
    "GET",
    summary="The jurisdictions pinned as peers, with their sync state",
    roles=("admin", "supervisor"),
    response=PeerList,
    tag="federation",
)
def peer_list(_user: object) -> PeerList:
    return PeerList(
        items=[PeerOut.model_validate(p, from_attributes=True) for p in services.peers(web.db())]
    )
