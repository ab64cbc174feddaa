"""Filing a pass application: its references checked (the enterprise's own vehicle and
driver, a destination that exists), its validity, a number allocated, and a whitelisted
enterprise's application approved at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.domain import EnterpriseStatus, filing_block_reason
from accounts.models import Enterprise, User
from core import audit, db, metrics
from core.errors import (
    N_,
    Forbidden,
    OverlappingPass,
    ValidationFailed,
)
from fleet.models import Driver, Vehicle
from passes import domain
from passes.domain import PassStatus
from passes.models import Pass, PassSerial
from passes.schemas import PassApplication
from passes.services import Issuer, approve_in


@dataclass(frozen=True)
class FilingRules:
    area_code: str
    max_span: timedelta = timedelta(days=14)


def next_number(session: Session, area_code: str) -> str:
    """Allocate the next 12-digit pass number; the serial row's lock makes it unique."""
    serial = db.bump_counter(session, PassSerial, "last", area_code=area_code)
    return domain.pass_number(area_code, serial)


def _check_references(
    session: Session, enterprise_id: int, data: PassApplication
) -> tuple[dict[str, list[str]], int]:
    errors: dict[str, list[str]] = {}

    def own(model: type[Vehicle] | type[Driver], object_id: int | None, field: str) -> None:
        if object_id is None:
            return
        obj = session.get(model, object_id)
        if obj is None or obj.enterprise_id != enterprise_id:
            errors[field] = [N_("Choose one of your registered vehicles or drivers.")]
        elif obj.archived:
            errors[field] = [N_("This vehicle or driver is archived.")]

    own(Vehicle, data.vehicle_id, "vehicle_id")
    own(Driver, data.driver_id, "driver_id")
    own(Driver, data.co_driver_id, "co_driver_id")
    if data.co_driver_id is not None and data.co_driver_id == data.driver_id:
        errors["co_driver_id"] = [N_("The co-driver must be another person.")]
    destination_id = data.destination_enterprise_id or enterprise_id
    destination = session.get(Enterprise, destination_id)
    if destination is None or destination.status != EnterpriseStatus.APPROVED:
        errors["destination_enterprise_id"] = [N_("Choose an approved destination enterprise.")]
    if data.route_checkpoint_ids:
        errors["route_checkpoint_ids"] = [N_("No such checkpoint.")]
    return errors, destination_id


def submit_pass(
    session: Session,
    actor: User,
    data: PassApplication,
    *,
    now: datetime,
    rules: FilingRules,
    issuer: Issuer,
) -> Pass:
    enterprise = session.get(Enterprise, actor.enterprise_id) if actor.enterprise_id else None
    if enterprise is None:
        raise Forbidden(N_("Only enterprise users file passes."))
    block = filing_block_reason(enterprise.status)
    if block:
        raise Forbidden(block)
    errors, destination_id = _check_references(session, enterprise.id, data)
    for field, messages in domain.check_validity(
        data.valid_from, data.valid_until, now, rules.max_span
    ).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationFailed(errors)
    if not data.file_anyway:  # Back, then submit again, must not file the same pass twice
        overlapping = session.execute(
            select(Pass.number, Pass.id)
            .where(
                Pass.vehicle_id == data.vehicle_id,
                Pass.status.in_((PassStatus.SUBMITTED, PassStatus.APPROVED)),
                Pass.valid_from < data.valid_until,
                Pass.valid_until > data.valid_from,
            )
            .order_by(Pass.id)
            .limit(1)
        ).first()
        if overlapping:
            raise OverlappingPass(*overlapping)
    application = Pass(
        number=next_number(session, rules.area_code),
        enterprise_id=enterprise.id,
        vehicle_id=data.vehicle_id,
        driver_id=data.driver_id,
        co_driver_id=data.co_driver_id,
        destination_enterprise_id=destination_id,
        origin=data.origin,
        cargo=data.cargo,
        category=data.category,
        priority=domain.review_priority(data.category),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        max_trips=data.max_trips,
        trips_used=0,
        route_checkpoint_ids=data.route_checkpoint_ids,
        status=PassStatus.SUBMITTED,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(application)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.PASS_SUBMIT,
        object_type="pass",
        object_id=application.id,
        data={"number": application.number},
        now=now,
    )
    if enterprise.whitelisted:
        approve_in(session, application, None, now=now, issuer=issuer)
        metrics.APPROVALS.inc()
    session.commit()
    return application
