"""Where a pass is bound, as the national pass names it: a consignee by its unified social
credit code, name and county, registered here (matched by the code) or in another
jurisdiction (then this pass's destination here is that jurisdiction's stand-in, so no site
of ours receives it); or one of ours chosen from the list, named the same way."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import elsewhere
from accounts.domain import EnterpriseStatus
from accounts.models import Enterprise
from core.errors import N_
from passes.schemas import PassApplication


def named(
    session: Session,
    data: PassApplication,
    here: str,
    errors: dict[str, list[str]],
    now: datetime,
) -> int:
    """The destination named by credit code: the approved enterprise registered here under
    it, or (in another jurisdiction) that jurisdiction's stand-in."""
    named = data.destination
    assert named is not None
    if data.destination_enterprise_id is not None:
        errors["destination"] = [N_("Name the destination one way: by enterprise or by code.")]
        return 0
    if named.area_code != here:
        return elsewhere.stand_in(session, named.area_code, None, now).id
    local = session.scalars(
        select(Enterprise.id).where(
            Enterprise.credit_code == named.credit_code,
            Enterprise.status == EnterpriseStatus.APPROVED,
        )
    ).first()
    if local is None:
        errors["destination"] = [
            N_("No approved enterprise here has this unified social credit code.")
        ]
        return 0
    return local


def fields(
    session: Session, data: PassApplication, destination_id: int, here: str
) -> dict[str, str]:
    """What the pass names of its consignee, as the national pass records it."""
    if data.destination is not None:
        named = data.destination
        return {
            "destination_credit_code": named.credit_code,
            "destination_name": named.name,
            "destination_area_code": named.area_code,
        }
    ours = session.get(Enterprise, destination_id)
    assert ours is not None
    return {
        "destination_credit_code": ours.credit_code,
        "destination_name": ours.name,
        "destination_area_code": here,
    }
