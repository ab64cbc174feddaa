"""GET /api/v1/federation (this jurisdiction's signed configuration) and the peers list."""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, request
from pydantic import BaseModel

from api.core import endpoint
from core import inputs, web
from core.errors import N_, ValidationFailed
from federation import context, documents, requests, services
from passes import feed


def api_target() -> str:
    """The request's target below /api/v1 (what a peer signs: a proxy's prefix aside)."""
    path = request.path
    below = path[path.find("/api/v1") + len("/api/v1") :]
    query = request.query_string.decode("ascii", "replace")
    return f"{below}?{query}" if query else below


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


@endpoint(
    "/federation/passes",
    "GET",
    summary="Our passes changed since ?since=ctr, for a peer's gates: a JWS signed by our "
    "federation key (the request signed by the peer's)",
    query={"since": "integer"},
    tag="federation",
    signed=True,
)
def pass_feed(_user: None) -> Response:
    session, now, here = web.db(), web.now(), context.here()
    peer = requests.verify(
        session,
        request.headers.get("Authorization"),
        here=here.area_code,
        method="GET",
        target=api_target(),
        now=now,
    )
    raw = request.args.get("since", "0").strip()
    if not raw.isdigit() or int(raw) > inputs.MAX_ID:
        raise ValidationFailed.one("since", N_("Enter a whole number of at least 0."))
    page = feed.read(session, since=int(raw), here=here.area_code, now=now)
    key = context.key()
    body = {**page, "iss": here.area_code, "aud": peer.area_code}
    token = documents.sign(body, key.key(), key.kid(), typ=documents.FEED_TYPE)
    current_app.logger.debug("pass feed for %s: %d items", peer.area_code, len(page["items"]))
    return Response(token, mimetype="application/jose", headers={"Cache-Control": "no-store"})
