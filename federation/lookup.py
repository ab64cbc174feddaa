"""Manual entry of a peer's pass number at our gate: the issuer is asked (a signed request,
`GET /api/v1/federation/passes/{number}?plate=`) for that pass as its feed has it, signed,
and our copy is brought up to date with it before the scan is decided: a pass approved or
revoked since the last sync is decided as it stands now. A short wait: the officer is at
the gate. When the issuer cannot be asked, the kept copy decides, and the answer says so
(`asked_issuer`)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from federation import client, documents, mirror, requests
from federation.keys import FederationKey
from federation.models import FederationPeer
from federation.services import Jurisdiction

TIMEOUT = 3.0  # seconds an officer waits for the issuer before the kept copy decides


def ask(
    session: Session,
    number: str,
    plate: str,
    *,
    here: Jurisdiction,
    key: FederationKey,
    now: datetime,
) -> str | None:
    """How the issuer answered (None when the number is not a pinned peer's): "answered"
    (our copy now as it stands there), "not_found" or "unreachable"."""
    area = number.strip()[:6]
    if not area.isdigit() or area == here.area_code:
        return None
    peer = session.get(FederationPeer, area)
    if peer is None or peer.status != "active":
        return None
    target = f"/federation/passes/{quote(number.strip())}?plate={quote(plate.strip())}"
    auth = requests.authorization(
        key, issuer=here.area_code, audience=area, method="GET", target=target, now=now
    )
    headers = {"Authorization": auth, "Accept": "application/jose"}
    try:
        body = client.call("GET", f"{peer.base_url}/api/v1{target}", headers, timeout=TIMEOUT)
        page = documents.verify_with(
            body.decode("ascii", "replace"), requests.pinned_key(peer), documents.FEED_TYPE
        )
        if page.get("iss") != area or page.get("aud") != here.area_code:
            raise documents.DocumentError("the pass was signed for someone else")
        mirror.apply(session, peer, page.get("items") or [], here=here.area_code, now=now)
        session.commit()
    except documents.DocumentError as exc:
        session.rollback()
        return "not_found" if exc.facts.get("status") == "404" else "unreachable"
    except (mirror.FeedRefused, KeyError, TypeError, ValueError, SQLAlchemyError):
        session.rollback()
        return "unreachable"
    return "answered"
