"""The compact list of live passes an offline scanner keeps for manual entry (a damaged
code, a number and a plate typed by hand). An officer gets the jurisdiction's live
passes, an enterprise scanner those bound for its own site; capped at `cap` (the soonest
to stay valid last). Each carries what an officer compares offline: the validity, the
driver's masked name (as the public status page shows it) and the destination's name.

No plate material at all. The list once carried each plate as an HMAC with its key
beside it: any phone holding it could test 100,000 guessed plates in under a second, so
it was a plate register with one more step. A per-device key changes nothing for the
device's own holder, and a slow hash only slows a phone, not a computer. So offline the
phone finds the pass by number only, says the plate was not checked (amber, never a
plain green), and the server checks the typed plate when the scan is uploaded: a wrong
one turns the phone's allow into a conflict a supervisor sees. Enumerating plates now
means asking the server, one recorded scan per guess.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from accounts.domain import Role
from accounts.models import Enterprise, User
from checkpoints.bookings import SLOT, Status
from checkpoints.models import Booking
from core.privacy import mask_name
from fleet.models import Driver
from passes.domain import PassStatus
from passes.models import Pass


class LiveBooking(BaseModel):
    checkpoint_id: int
    slot_start: str


class LivePassOut(BaseModel):
    pass_id: int
    number: str
    valid_from: str
    valid_until: str
    destination_enterprise_id: int
    driver: str  # masked, as the public status page shows it
    destination: str
    ref: str | None = None  # a peer's pass: "<issuer's area code>/<its id>"
    # What the phone decides with besides (the server decides the same online):
    category: str | None = None  # the green channel's takes the priority lane
    stations: list[int] | None = None  # the crew's stations, when the pass names any
    # With crews_required: until when the whole crew is whitelisted (null: not listed)
    crew_listed_until: str | None = None
    booking: LiveBooking | None = None  # the hour booked and still ahead


class LivePassList(BaseModel):
    ctr: int
    issued_at: str
    truncated: bool  # more live passes than the cap
    crews_required: bool = False  # CREW_WHITELIST_REQUIRED: entry needs a listed crew
    items: list[LivePassOut]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def live_passes(
    session: Session, user: User, *, now: datetime, cap: int, crews_required: bool = False
) -> dict[str, Any]:
    co_driver = aliased(Driver)
    booked = (
        select(Booking.checkpoint_id, Booking.slot_start)
        .where(
            Booking.pass_id == Pass.id,
            Booking.status == Status.BOOKED,
            Booking.slot_start > now - SLOT,
        )
        .order_by(Booking.slot_start)
        .limit(1)
        .correlate(Pass)
    )
    stmt = (
        select(
            Pass.id,
            Pass.number,
            Pass.valid_from,
            Pass.valid_until,
            Pass.destination_enterprise_id,
            Driver.name,
            func.coalesce(Pass.destination_name, Enterprise.name),  # a peer's: as it named it
            Pass.issuer_ref,
            Pass.category,
            Pass.station_ids,
            Driver.whitelist_until,
            Pass.co_driver_id,
            co_driver.whitelist_until,
            booked.with_only_columns(Booking.checkpoint_id).scalar_subquery(),
            booked.with_only_columns(Booking.slot_start).scalar_subquery(),
        )
        .join(Driver, Driver.id == Pass.driver_id)
        .outerjoin(co_driver, co_driver.id == Pass.co_driver_id)
        .join(Enterprise, Enterprise.id == Pass.destination_enterprise_id)
        .where(Pass.status == PassStatus.APPROVED, Pass.valid_until > now)
        .order_by(Pass.valid_until.desc(), Pass.id.desc())
        .limit(cap + 1)
    )
    if user.role != Role.OFFICER:  # an enterprise's site: passes bound for it
        stmt = stmt.where(Pass.destination_enterprise_id == user.enterprise_id)
    rows = session.execute(stmt).all()
    items = []
    for row in rows[:cap]:
        (pass_id, number, valid_from, valid_until, destination, driver, destination_name, ref) = (
            row[:8]
        )
        category, stations, driver_until, co_driver_id, co_until, gate, slot = row[8:]
        crew = [driver_until, *([co_until] if co_driver_id else [])]
        listed = None if None in crew else min(crew)
        items.append(
            {
                "pass_id": pass_id,
                "number": number,
                "valid_from": valid_from.isoformat(),
                "valid_until": valid_until.isoformat(),
                "destination_enterprise_id": destination,
                "driver": mask_name(driver),
                "destination": destination_name,
                # a peer's pass kept here: its issuer's name for it, as its code names it
                **({"ref": ref} if ref else {}),
                "category": category,
                **({"stations": stations} if stations else {}),
                **({"crew_listed_until": _iso(listed)} if crews_required else {}),
                **({"booking": {"checkpoint_id": gate, "slot_start": _iso(slot)}} if gate else {}),
            }
        )
    return {
        "issued_at": now.isoformat(),
        "truncated": len(rows) > cap,
        "crews_required": crews_required,
        "items": items,
    }
