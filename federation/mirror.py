"""A federated peer's passes, kept here so our gates and sites decide on them and keep their
loop (entry, arrival at a consignee registered here, exit) as for our own.

Each pass the peer's feed lists becomes a Pass row named by the issuer's reference
("<area code>/<its pass id>", which its code carries) and its own number. Its applicant,
vehicle and crew are rows under one stand-in enterprise per peer (status `peer`: no users,
no filing, not in the enterprises to vet), holding only what the feed gives: the plate,
the crew's names and masked ID numbers. Its destination is the enterprise registered here
under the unified social credit code the pass names, when it is bound here; otherwise the
stand-in, which no site of ours belongs to (so any site answers wrong_destination)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.domain import EnterpriseStatus
from accounts.models import Enterprise
from federation.models import FederationPeer
from fleet.domain import VehicleType, clean_plate
from fleet.models import Driver, Vehicle
from passes.domain import Category, PassStatus, review_priority
from passes.models import Pass
from trust import revocations
from trust.keys import public_key
from trust.tokens import TrustedKey

NUMBER = re.compile(r"\d{12}")


class FeedRefused(ValueError):
    """A feed item that is not a pass this peer may issue; the sync reports it."""


def peer_keys(
    session: Session, now: datetime
) -> tuple[dict[str, dict[int, TrustedKey]], dict[str, str]]:
    """The pass-signing keys of every active peer, as its last verified configuration
    published them (retired ones while their passes may still be valid), and its name."""
    keys: dict[str, dict[int, TrustedKey]] = {}
    names: dict[str, str] = {}
    for peer in session.scalars(select(FederationPeer).where(FederationPeer.status == "active")):
        names[peer.area_code] = peer.name
        ring = keys.setdefault(peer.area_code, {})
        for jwk in (peer.config or {}).get("pass_keys") or []:
            try:
                not_after = jwk.get("not_after")
                if not_after and datetime.fromisoformat(not_after) <= now:
                    continue
                kid = int(jwk["kid"])
                ring[kid] = TrustedKey(
                    kid,
                    public_key(jwk["x"], jwk["y"]),
                    datetime.fromisoformat(jwk["not_before"]),
                )
            except (KeyError, TypeError, ValueError):
                continue  # one unusable key does not take the others with it
    return keys, names


def peer_trust_list(session: Session, now: datetime) -> list[dict[str, Any]]:
    """The peers' keys as our trust list publishes them for the offline scanner: each
    active peer's area code, name and the keys peer_keys trusts (JWK, not_before)."""
    keys, names = peer_keys(session, now)
    out = []
    for area_code, ring in sorted(keys.items()):
        published = {
            str(jwk.get("kid")): jwk
            for jwk in (session.get(FederationPeer, area_code).config or {}).get("pass_keys", [])
        }
        out.append(
            {
                "area_code": area_code,
                "name": names[area_code],
                "keys": [
                    {
                        "kid": str(kid),
                        "alg": "ES256",
                        "jwk": {k: published[str(kid)][k] for k in ("kty", "crv", "x", "y")},
                        "not_before": published[str(kid)]["not_before"],
                        "not_after": published[str(kid)].get("not_after"),
                        "status": published[str(kid)].get("status", "active"),
                    }
                    for kid in sorted(ring)
                ],
            }
        )
    return out


@dataclass
class Applied:
    added: int = 0
    updated: int = 0


def stand_in(session: Session, peer: FederationPeer, now: datetime) -> Enterprise:
    code = f"~{peer.area_code}"  # never a unified social credit code (18 characters)
    found = session.scalars(select(Enterprise).where(Enterprise.credit_code == code)).first()
    if found is None:
        found = Enterprise(
            name=peer.name,
            credit_code=code,
            contact_name="",
            contact_phone="",
            status=EnterpriseStatus.PEER,
            created_at=now,
        )
        session.add(found)
        session.flush()
    found.name = peer.name
    return found


def apply(
    session: Session, peer: FederationPeer, items: list[Any], *, here: str, now: datetime
) -> Applied:
    """Keep the feed's passes (in the caller's transaction). FeedRefused for an item this
    peer cannot issue (another jurisdiction's number, a malformed field): nothing of the
    page is kept, and the sync says why."""
    owner = stand_in(session, peer, now)
    applied = Applied()
    for item in items:
        fields = _fields(item, peer)
        ref = f"{peer.area_code}/{fields['pass_id']}"
        vehicle = _vehicle(session, owner, fields)
        driver = _driver(session, owner, fields["driver"], now)
        co = fields["co_driver"]
        co_driver = _driver(session, owner, co, now) if co else None
        destination = _destination(session, owner, fields, here)
        p = session.scalars(select(Pass).where(Pass.issuer_ref == ref)).first()
        if p is None:
            p = Pass(
                issuer_ref=ref,
                issuer_area_code=peer.area_code,
                enterprise_id=owner.id,
                trips_used=0,
                route_checkpoint_ids=[],
                created_at=now,
            )
            applied.added += 1
        else:
            applied.updated += 1
        p.number = fields["number"]
        p.vehicle_id, p.driver_id = vehicle.id, driver.id
        p.co_driver_id = co_driver.id if co_driver else None
        p.destination_enterprise_id = destination
        dest = fields["destination"]
        p.destination_credit_code, p.destination_name = dest["credit_code"], dest["name"]
        p.destination_area_code = dest["area_code"]
        p.origin, p.cargo = fields["origin"], fields["cargo"]
        p.category, p.priority = fields["category"], review_priority(fields["category"])
        p.valid_from, p.valid_until = fields["valid_from"], fields["valid_until"]
        p.max_trips, p.key_id = fields["max_trips"], fields["kid"]
        was, p.status = p.status, fields["status"]
        p.reviewed_at = p.reviewed_at or now
        session.add(p)
        session.flush()
        if p.status != was and (was is not None or p.status == PassStatus.REVOKED):
            # Our own signed list carries it too, so our offline scanners refuse it.
            listed = p.status == PassStatus.REVOKED
            revocations.record(session, [revocations.Entry(p.id, listed, p.valid_until)], now=now)
    return applied


def _text(value: Any, limit: int, name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise FeedRefused(f"{name} is not a text of at most {limit} characters")
    return value.strip()


def _fields(item: Any, peer: FederationPeer) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise FeedRefused("an item is not an object")
    number = item.get("number")
    if not isinstance(number, str) or not NUMBER.fullmatch(number):
        raise FeedRefused("a pass number is 12 digits")
    if not number.startswith(peer.area_code):
        raise FeedRefused(f"pass {number} is not numbered by {peer.area_code}")
    pass_id, kid, trips = item.get("pass_id"), item.get("kid"), item.get("max_trips")
    if not all(isinstance(v, int) and v >= 0 for v in (pass_id, kid, trips)) or not trips:
        raise FeedRefused(f"pass {number}: pass_id, kid and max_trips are whole numbers")
    try:
        valid_from = datetime.fromisoformat(item["valid_from"])
        valid_until = datetime.fromisoformat(item["valid_until"])
    except (KeyError, TypeError, ValueError):
        raise FeedRefused(f"pass {number}: the validity is not two ISO times") from None
    if valid_from.tzinfo is None or valid_until < valid_from:
        raise FeedRefused(f"pass {number}: the validity is not a window in UTC")
    dest = item.get("destination")
    if not isinstance(dest, dict) or not re.fullmatch(r"\d{6}", str(dest.get("area_code"))):
        raise FeedRefused(f"pass {number}: the destination names no area code")
    category = item.get("category")
    vehicle_type = item.get("vehicle_type")
    status = item.get("status")
    if status not in (PassStatus.APPROVED, PassStatus.REVOKED):
        raise FeedRefused(f"pass {number}: status {status!r} is not approved or revoked")
    return {
        "number": number,
        "pass_id": pass_id,
        "kid": kid,
        "max_trips": min(trips, 1000),
        "valid_from": valid_from,
        "valid_until": valid_until,
        # The applicant suspended at the issuer: no entry here either (exit stays allowed).
        "status": PassStatus.REVOKED if item.get("suspended") else status,
        "plate": clean_plate(_text(item.get("plate"), 16, "plate")),
        "vehicle_type": vehicle_type if vehicle_type in set(VehicleType) else "heavy_truck",
        "driver": _crew(item.get("driver"), number),
        "co_driver": _crew(item["co_driver"], number) if item.get("co_driver") else None,
        "destination": {
            "credit_code": _text(dest.get("credit_code"), 18, "destination credit code"),
            "name": _text(dest.get("name"), 200, "destination name"),
            "area_code": str(dest["area_code"]),
        },
        "origin": _text(item.get("origin") or "-", 200, "origin"),
        "cargo": _text(item.get("cargo") or "-", 200, "cargo"),
        "category": category if category in set(Category) else Category.OTHER,
    }


def _crew(value: Any, number: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise FeedRefused(f"pass {number}: no driver")
    return {
        "name": _text(value.get("name"), 64, "driver name"),
        "id_number_masked": _text(value.get("id_number_masked") or "-", 18, "ID number"),
    }


def _vehicle(session: Session, owner: Enterprise, fields: dict[str, Any]) -> Vehicle:
    plate = fields["plate"]
    found = session.scalars(
        select(Vehicle).where(Vehicle.enterprise_id == owner.id, Vehicle.plate == plate)
    ).first()
    if found is None:
        found = Vehicle(
            enterprise_id=owner.id,
            plate=plate,
            vehicle_type=fields["vehicle_type"],
            created_at=owner.created_at,
        )
        session.add(found)
        session.flush()
    return found


def _driver(session: Session, owner: Enterprise, crew: dict[str, str], now: datetime) -> Driver:
    name, masked = crew["name"], crew["id_number_masked"]
    found = session.scalars(
        select(Driver).where(
            Driver.enterprise_id == owner.id, Driver.name == name, Driver.id_number == masked
        )
    ).first()
    if found is None:
        found = Driver(
            enterprise_id=owner.id, name=name, id_number=masked, phone="", created_at=now
        )
        session.add(found)
        session.flush()
    return found


def _destination(session: Session, owner: Enterprise, fields: dict[str, Any], here: str) -> int:
    dest = fields["destination"]
    if dest["area_code"] != here:
        return owner.id
    local = session.scalars(
        select(Enterprise.id).where(
            Enterprise.credit_code == dest["credit_code"],
            Enterprise.status == EnterpriseStatus.APPROVED,
        )
    ).first()
    return local if local is not None else owner.id
