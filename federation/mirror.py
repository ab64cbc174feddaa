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

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import elsewhere
from accounts.domain import EnterpriseStatus
from accounts.models import Enterprise
from federation.models import FederationPeer
from fleet.domain import VehicleType, clean_plate
from fleet.models import Driver, Vehicle
from passes.domain import Category, PassStatus, normalise_area_code, review_priority
from passes.models import Pass
from trust import revocations

NUMBER = re.compile(r"\d{12}")


LONGEST = timedelta(days=366)  # a pass valid longer is not one any jurisdiction issues


class FeedRefused(ValueError):
    """A feed item that is not a pass this peer may issue; the sync reports it."""


@dataclass
class Applied:
    added: int = 0
    updated: int = 0


def stand_in(session: Session, peer: FederationPeer, now: datetime) -> Enterprise:
    return elsewhere.stand_in(session, peer.area_code, peer.name, now)


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
                station_ids=[],  # a peer's pass names no station of ours: any will do
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
        p.origin_area_code = fields["origin_area_code"]
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
    bounds = ((pass_id, 2**32 - 1), (kid, 2**16 - 1), (trips, 10**6))  # as codes carry them
    if not all(isinstance(v, int) and 0 < v <= top for v, top in bounds):
        raise FeedRefused(f"pass {number}: pass_id, kid and max_trips are whole numbers")
    try:
        valid_from = datetime.fromisoformat(item["valid_from"])
        valid_until = datetime.fromisoformat(item["valid_until"])
    except (KeyError, TypeError, ValueError):
        raise FeedRefused(f"pass {number}: the validity is not two ISO times") from None
    if valid_from.tzinfo is None or not valid_from <= valid_until <= valid_from + LONGEST:
        raise FeedRefused(f"pass {number}: the validity is not a window of at most a year")
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
        # the county it starts in (older feeds: the issuer's own)
        "origin_area_code": _area(item.get("origin_area_code"), peer.area_code, number),
        "cargo": _text(item.get("cargo") or "-", 200, "cargo"),
        "category": category if category in set(Category) else Category.OTHER,
    }


def _area(value: Any, default: str, number: str) -> str:
    if value is None:
        return default
    try:
        return normalise_area_code(str(value))
    except ValueError:
        raise FeedRefused(f"pass {number}: {value!r} is not a county's area code") from None


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
    """The crew member as a row under the stand-in. Only a masked number crosses, and two
    people may share one (the same county, the same last four digits), so the row's number
    is the masked one with its hidden middle made from the name: it shows as the masked
    number, and two people never meet on the one-number-per-enterprise rule."""
    name, masked = crew["name"], crew["id_number_masked"]
    number = _kept_number(name, masked)
    found = session.scalars(
        select(Driver).where(Driver.enterprise_id == owner.id, Driver.id_number == number)
    ).first()
    if found is None:
        found = Driver(
            enterprise_id=owner.id, name=name, id_number=number, phone="", created_at=now
        )
        session.add(found)
        session.flush()
    return found


def _kept_number(name: str, masked: str) -> str:
    middle = hashlib.sha256(f"{name}|{masked}".encode()).hexdigest()[:8].upper()
    if len(masked) != 18:
        return f"~{middle}{masked}"[:18]
    return masked[:6] + middle + masked[14:]


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
