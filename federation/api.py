"""GET /api/v1/federation (this jurisdiction's signed configuration) and the peers list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app, request
from pydantic import BaseModel

from accounts.domain import OVERSIGHT_ROLES, Role
from accounts.models import User
from accounts.scoping import get_scoped
from api.core import endpoint
from checkpoints.domain import same_plate
from core import inputs, web
from core.errors import N_, NotFound, ValidationFailed
from federation import context, documents, journey, reports, requests, services
from federation.models import FederationPeer
from fleet.domain import clean_plate
from passes import feed
from passes.models import Pass
from trust import audit_proofs

MAX_EVENTS_DOCUMENT = 1024 * 1024  # 500 events are about 200 KiB signed
JOURNEY_READERS = OVERSIGHT_ROLES | {Role.ENTERPRISE}  # enterprises: their own passes


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
    peer = _peer_asking("GET")
    raw = request.args.get("since", "0").strip()
    if not raw.isdigit() or int(raw) > inputs.MAX_ID:
        raise ValidationFailed.one("since", N_("Enter a whole number of at least 0."))
    page = feed.read(session, since=int(raw), here=here.area_code, now=now)
    key = context.key()
    body = {**page, "iss": here.area_code, "aud": peer.area_code}
    token = documents.sign(body, key.key(), key.kid(), typ=documents.FEED_TYPE)
    current_app.logger.debug("pass feed for %s: %d items", peer.area_code, len(page["items"]))
    return Response(token, mimetype="application/jose", headers={"Cache-Control": "no-store"})


def _peer_asking(method: str) -> FederationPeer:
    return requests.verify(
        web.db(),
        request.headers.get("Authorization"),
        here=context.here().area_code,
        method=method,
        target=api_target(),
        now=web.now(),
    )


@endpoint(
    "/federation/events",
    "POST",
    summary="Events a peer's checkpoints saw of passes we issued: the body a compact JWS "
    "signed by its federation key; idempotent per event_id",
    tag="federation",
    signed=True,
)
def federation_events(_user: None) -> dict[str, Any]:
    raw = request.get_data(cache=False)
    if len(raw) > MAX_EVENTS_DOCUMENT:
        raise ValidationFailed.one("events", N_("Send at most 500 events at a time."))
    token = raw.decode("ascii", "replace").strip()
    return reports.accept(web.db(), token, here=context.here().area_code, now=web.now())


@endpoint(
    "/federation/audit",
    "GET",
    summary="A consistency proof of our audit log between two sizes (?first=&second=), for a "
    "peer witnessing it (the request signed by its federation key); hashes only",
    query={"first": "integer", "second": "integer"},
    tag="federation",
    signed=True,
)
def federation_audit(_user: None) -> dict[str, Any]:
    _peer_asking("GET")
    sizes = []
    for name in ("first", "second"):
        raw = request.args.get(name, "").strip()
        if not raw.isdigit() or int(raw) > inputs.MAX_ID:
            raise ValidationFailed.one(name, N_("Enter a whole number of at least 0."))
        sizes.append(int(raw))
    try:
        return audit_proofs.consistency(web.db(), sizes[0], sizes[1])
    except audit_proofs.ProofRequestError as exc:
        raise ValidationFailed.one("second", exc.args[0]) from exc


class JourneyItem(BaseModel):
    area_code: str
    jurisdiction: str
    checkpoint_code: str
    checkpoint_name: str
    event: str
    decision: str
    reasons: list[str]
    at: datetime
    reported_at: datetime | None


class Journey(BaseModel):
    items: list[JourneyItem]


@endpoint(
    "/passes/<int:pass_id>/journey",
    "GET",
    summary="Every scan of this pass, ours and those peers reported, oldest first",
    roles=JOURNEY_READERS,
    response=Journey,
    tag="passes",
)
def pass_journey(user: User, pass_id: int) -> Journey:
    session = web.db()
    found = get_scoped(session, Pass, pass_id, user)
    steps = journey.of(session, found, context.here())
    return Journey(items=[JourneyItem.model_validate(step) for step in steps])


@endpoint(
    "/federation/passes/<number>",
    "GET",
    summary="One of our issued passes by number and ?plate=, for a peer's officer who typed "
    "them (the request signed by its federation key): the pass feed's item for it, signed "
    "as a page of the feed; 404 for no such pass or another plate",
    query={"plate": "string"},
    tag="federation",
    signed=True,
)
def pass_by_number(_user: None, number: str) -> Response:
    peer = _peer_asking("GET")
    here, now = context.here(), web.now()
    typed = clean_plate(request.args.get("plate", ""))
    item = feed.one(web.db(), number[:20], here=here.area_code, now=now)
    if item is None or not typed or not same_plate(item["plate"], typed, manual=True):
        raise NotFound(N_("No pass has that number and plate."))
    body = {"ctr": 0, "more": False, "issued_at": now.isoformat(), "items": [item]}
    key = context.key()
    token = documents.sign(
        {**body, "iss": here.area_code, "aud": peer.area_code},
        key.key(),
        key.kid(),
        typ=documents.FEED_TYPE,
    )
    return Response(token, mimetype="application/jose", headers={"Cache-Control": "no-store"})
