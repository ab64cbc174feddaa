"""The pass feed federated peers read (GET /api/v1/federation/passes): our approved passes
with what a peer's gate and site need to decide on them, each stamped with a counter value
when a peer must hear of it (approval, revocation, the applicant's suspension or its
lifting). A peer holding the feed at `since` asks for what was stamped after it.

What a peer gets is what an officer here sees on a scan: plate, driver's name and masked
ID number, cargo, validity, destination. No phones, no full ID numbers, no codes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from accounts.domain import EnterpriseStatus
from accounts.models import Enterprise
from core import db
from core.privacy import mask_id_number
from fleet.models import Driver, Vehicle
from passes.domain import PassStatus
from passes.models import Pass, PassFeedHead

PAGE = 500


def next_ctr(session: Session) -> int:
    """The next stamp; the head row stays locked till commit (see PassFeedHead)."""
    return db.bump_counter(session, PassFeedHead, "ctr", id=1)


def stamp(session: Session, pass_ids: Iterable[int]) -> None:
    for pass_id in pass_ids:
        ctr = next_ctr(session)
        session.execute(update(Pass).where(Pass.id == pass_id).values(feed_ctr=ctr))


def head(session: Session) -> int:
    return session.scalar(select(PassFeedHead.ctr).where(PassFeedHead.id == 1)) or 0


_applicant, _destination, _co_driver = aliased(Enterprise), aliased(Enterprise), aliased(Driver)
_ITEMS = (
    select(Pass, Vehicle, Driver, _co_driver, _applicant, _destination)
    .join(Vehicle, Vehicle.id == Pass.vehicle_id)
    .join(Driver, Driver.id == Pass.driver_id)
    .outerjoin(_co_driver, _co_driver.id == Pass.co_driver_id)
    .join(_applicant, _applicant.id == Pass.enterprise_id)
    .join(_destination, _destination.id == Pass.destination_enterprise_id)
)


def one(session: Session, number: str, *, here: str, now: datetime) -> dict[str, Any] | None:
    """The feed's item for our pass numbered `number` once it was issued (approved, or
    revoked since), for a peer's gate where it was typed by hand; None otherwise."""
    row = session.execute(
        _ITEMS.where(
            Pass.number == number,
            Pass.issuer_ref.is_(None),
            Pass.status.in_((PassStatus.APPROVED, PassStatus.REVOKED)),
        )
    ).first()
    return _item(*row, here=here) if row is not None else None


def read(
    session: Session, *, since: int, here: str, now: datetime, limit: int = PAGE
) -> dict[str, Any]:
    """The passes stamped after `since`, oldest stamp first, up to the head read first (so
    a stamp committing meanwhile comes next time, never half-seen); `more` when the page
    was full. Passes kept here for a peer are never passed on."""
    top = head(session)
    rows = session.execute(
        _ITEMS.where(Pass.feed_ctr > since, Pass.feed_ctr <= top, Pass.issuer_ref.is_(None))
        .order_by(Pass.feed_ctr)
        .limit(limit)
    ).all()
    items = [_item(*row, here=here) for row in rows]
    last = rows[-1][0].feed_ctr if len(rows) == limit else top
    return {"ctr": last, "more": len(rows) == limit, "issued_at": now.isoformat(), "items": items}


def _item(
    p: Pass,
    vehicle: Vehicle,
    driver: Driver,
    co_driver: Driver | None,
    applicant: Enterprise,
    destination: Enterprise,
    *,
    here: str,
) -> dict[str, Any]:
    def crew(d: Driver | None) -> dict[str, str] | None:
        if d is None:
            return None
        return {"name": d.name, "id_number_masked": mask_id_number(d.id_number)}

    elsewhere = p.destination_credit_code is not None
    return {
        "pass_id": p.id,
        "number": p.number,
        "status": p.status,
        "suspended": applicant.status == EnterpriseStatus.SUSPENDED,
        "kid": p.key_id,
        "plate": vehicle.plate,
        "vehicle_type": vehicle.vehicle_type,
        "driver": crew(driver),
        "co_driver": crew(co_driver),
        "applicant": {"name": applicant.name, "credit_code": applicant.credit_code},
        "destination": {
            "credit_code": p.destination_credit_code if elsewhere else destination.credit_code,
            "name": p.destination_name if elsewhere else destination.name,
            "area_code": p.destination_area_code or here,
        },
        "origin": p.origin,
        "origin_area_code": p.origin_area_code or here,
        "cargo": p.cargo,
        "category": p.category,
        "valid_from": p.valid_from.isoformat(),
        "valid_until": p.valid_until.isoformat(),
        "max_trips": p.max_trips,
    }
