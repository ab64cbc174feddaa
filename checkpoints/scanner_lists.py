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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.domain import Role
from accounts.models import Enterprise, User
from core.privacy import mask_name
from fleet.models import Driver
from passes.domain import PassStatus
from passes.models import Pass


def live_passes(session: Session, user: User, *, now: datetime, cap: int) -> dict[str, Any]:
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
        )
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
        "truncated": len(rows) > cap,
        "items": [
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
            }
            for (
                pass_id,
                number,
                valid_from,
                valid_until,
                destination,
                driver,
                destination_name,
                ref,
            ) in rows[:cap]
        ],
    }
