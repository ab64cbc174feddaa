"""Another jurisdiction as an enterprise row: what a pass bound for, or issued in, a
neighbour names as its destination or applicant here. Its credit code is `~<area code>`
(never a unified social credit code, which has 18 characters) and its status `peer`: no
users, no filing, not among the enterprises an administrator vets, no site that receives."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.domain import EnterpriseStatus
from accounts.models import Enterprise


def stand_in(session: Session, area_code: str, name: str | None, now: datetime) -> Enterprise:
    """The row standing for jurisdiction `area_code` (made on first use), named `name` when
    given (a pinned peer's name), else by its area code until one is known."""
    code = f"~{area_code}"
    found = session.scalars(select(Enterprise).where(Enterprise.credit_code == code)).first()
    if found is None:
        found = Enterprise(
            name=name or area_code,
            credit_code=code,
            contact_name="",
            contact_phone="",
            status=EnterpriseStatus.PEER,
            created_at=now,
        )
        session.add(found)
        session.flush()
    elif name:
        found.name = name
    return found
