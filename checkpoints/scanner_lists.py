"""The compact list of live passes an offline scanner keeps for manual entry (a damaged
code, a number and a plate typed by hand). Plates travel as a keyed hash: the phone
hashes what the officer typed with the same key and compares, so the list is not a
plain register of plates. An officer gets the jurisdiction's live passes, an enterprise
scanner those bound for its own site; capped at `cap` (the soonest to stay valid last).
Each carries what an officer compares offline: the driver's masked name (as the public
status page shows it) and the destination's name.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.domain import Role
from accounts.models import Enterprise, User
from core.privacy import mask_name
from fleet.models import Driver, Vehicle
from passes.domain import PassStatus
from passes.models import Pass


def plate_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"scanner plate hash v1", hashlib.sha256).digest()[:16]


def plate_hash(key: bytes, plate: str) -> str:
    """HMAC-SHA-256 of the normalised plate, 16 hex characters (what the page computes)."""
    return hmac.new(key, plate.encode(), hashlib.sha256).hexdigest()[:16]


def live_passes(
    session: Session, user: User, *, key: bytes, now: datetime, cap: int
) -> dict[str, Any]:
    stmt = (
        select(
            Pass.id,
            Pass.number,
            Vehicle.plate,
            Pass.valid_from,
            Pass.valid_until,
            Pass.destination_enterprise_id,
            Driver.name,
            Enterprise.name,
        )
        .join(Vehicle, Vehicle.id == Pass.vehicle_id)
        .join(Driver, Driver.id == Pass.driver_id)
        .join(Enterprise, Enterprise.id == Pass.destination_enterprise_id)
        .where(Pass.status == PassStatus.APPROVED, Pass.valid_until > now)
        .order_by(Pass.valid_until.desc(), Pass.id.desc())
        .limit(cap + 1)
    )
    if user.role != Role.OFFICER:  # an enterprise's site: passes bound for it
        stmt = stmt.where(Pass.destination_enterprise_id == user.enterprise_id)
    rows = session.execute(stmt).all()
    return {
        "issued_at": now.isoformat(),
        "key": key.hex(),
        "truncated": len(rows) > cap,
        "items": [
            {
                "pass_id": pass_id,
                "number": number,
                "plate_hash": plate_hash(key, plate),
                "valid_from": valid_from.isoformat(),
                "valid_until": valid_until.isoformat(),
                "destination_enterprise_id": destination,
                "driver": mask_name(driver),
                "destination": destination_name,
            }
            for (
                pass_id,
                number,
                plate,
                valid_from,
                valid_until,
                destination,
                driver,
                destination_name,
            ) in rows[:cap]
        ],
    }
