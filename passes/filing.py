"""Filing a pass application: its references checked (the enterprise's own vehicle, driver
and stations, a destination that exists), its validity, the enterprise's limits (waiting,
filed an hour and a day: they keep the pass numbers from running out, passes.domain), a
number allocated, and a whitelisted enterprise's approved at once within the SMS limits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from accounts.domain import EnterpriseStatus, filing_block_reason
from accounts.models import Enterprise, User
from core import audit, db, metrics
from core.errors import (
    N_,
    Conflict,
    DomainError,
    Forbidden,
    OverlappingPass,
    Throttled,
    ValidationFailed,
)
from fleet.models import Driver, Vehicle
from passes import destinations, domain, stations
from passes.domain import PassStatus
from passes.models import Pass, PassSerial
from passes.resends import ResendLimits, automatic_approval_allowed
from passes.schemas import PassApplication
from passes.services import Issuer, approve_in, crew_allowed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FilingRules:
    area_code: str
    max_span: timedelta = timedelta(days=14)


@dataclass(frozen=True)
class FilingLimits:
    """One enterprise's filing: at most `pending` applications waiting for review or
    approved automatically and still valid (PENDING_APPLICATIONS_PER_ENTERPRISE), at most
    `per_hour` and `per_day` filed (APPLICATIONS_PER_HOUR, APPLICATIONS_PER_DAY; every
    filing counts, automatically approved, cancelled or rejected alike); automatic
    approval within the SMS limits `sms` (SMS_RESENDS_PER_HOUR, SMS_RESENDS_PER_DAY)."""

    pending: int = 200
    per_hour: int = 60
    per_day: int = 500
    sms: ResendLimits = ResendLimits()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> FilingLimits:
        return cls(
            pending=settings["PENDING_APPLICATIONS_PER_ENTERPRISE"],
            per_hour=settings["APPLICATIONS_PER_HOUR"],
            per_day=settings["APPLICATIONS_PER_DAY"],
            sms=ResendLimits(settings["SMS_RESENDS_PER_HOUR"], settings["SMS_RESENDS_PER_DAY"]),
        )


TOO_MANY_PENDING = N_(
    "Your enterprise already has %(limit)d applications waiting for review or approved "
    "automatically and still valid, the most allowed at once. Wait for decisions, or cancel "
    "applications no longer needed, then file again."
)
FILED_MOST_IN_AN_HOUR = N_(
    "Your enterprise has filed %(limit)d applications in the last hour, the most allowed. "
    "Try again in %(minutes)d minutes."
)
FILED_MOST_IN_A_DAY = N_(
    "Your enterprise has filed %(limit)d applications in the last 24 hours, the most "
    "allowed. Try again in %(minutes)d minutes."
)


class FilingThrottled(Throttled):
    """429 with Retry-After: the enterprise filed the most applications a window allows."""

    def __init__(self, retry_after: int, detail: str, limit: int):
        super().__init__(retry_after, detail)
        self.params = {"limit": limit, "minutes": max(1, -(-retry_after // 60))}


def pending_count(session: Session, enterprise_id: int, now: datetime) -> int:
    """Applications no person has decided on: waiting, or approved automatically and
    still valid."""
    live = (
        Pass.status == PassStatus.APPROVED,
        Pass.auto_approved.is_(True),
        Pass.valid_until > now,
    )
    waiting = or_(Pass.status == PassStatus.SUBMITTED, and_(*live))
    stmt = select(func.count()).where(Pass.enterprise_id == enterprise_id, waiting)
    return session.scalar(stmt) or 0


def check_limits(
    session: Session, enterprise_id: int, limits: FilingLimits, *, now: datetime
) -> None:
    """Refuse a filing past the enterprise's limits: 409 with the cap, 429 with when."""
    if pending_count(session, enterprise_id, now) >= limits.pending:
        raise Conflict(TOO_MANY_PENDING, limit=limits.pending)
    for window, most, message in (
        (timedelta(hours=1), limits.per_hour, FILED_MOST_IN_AN_HOUR),
        (timedelta(days=1), limits.per_day, FILED_MOST_IN_A_DAY),
    ):
        # The `most`-th latest filing within the window: once it leaves, one more fits.
        oldest = session.scalar(
            select(Pass.created_at)
            .where(Pass.enterprise_id == enterprise_id, Pass.created_at >= now - window)
            .order_by(Pass.created_at.desc(), Pass.id.desc())
            .offset(most - 1)
            .limit(1)
        )
        if oldest is not None:
            wait = int((oldest + window - now).total_seconds()) + 1
            raise FilingThrottled(max(1, wait), message, most)


def next_number(session: Session, area_code: str) -> str:
    """Allocate the next 12-digit pass number; the serial row's lock makes it unique.

    Past the last serial: PassNumbersExhausted (409), the counter left as it was once the
    caller rolls back; from 80% used, a warning in the log (passes.domain.pass_number)."""
    serial = db.bump_counter(session, PassSerial, "last", area_code=area_code)
    if serial > domain.SERIAL_MAX:
        log.error("pass numbers exhausted: all %d serials of %s used", domain.SERIAL_MAX, area_code)
        raise domain.PassNumbersExhausted(area_code)
    if domain.serial_warning(serial):
        log.warning(
            "pass numbers running out: %d of %d serials of area code %s used, %d left",
            serial,
            domain.SERIAL_MAX,
            area_code,
            domain.serials_left(serial),
        )
    return domain.pass_number(area_code, serial)


def _check_references(
    session: Session, enterprise_id: int, data: PassApplication, here: str, now: datetime
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
    if data.destination is not None:
        destination_id = destinations.named(session, data, here, errors, now)
    else:
        destination_id = data.destination_enterprise_id or enterprise_id
        destination = session.get(Enterprise, destination_id)
        if destination is None or destination.status != EnterpriseStatus.APPROVED:
            errors["destination_enterprise_id"] = [N_("Choose an approved destination enterprise.")]
    if data.route_checkpoint_ids:
        errors["route_checkpoint_ids"] = [N_("No such checkpoint.")]
    if stations.unknown(session, data.station_ids):
        errors["station_ids"] = [N_("Choose the crew's stations from the list.")]
    return errors, destination_id


def submit_pass(
    session: Session,
    actor: User,
    data: PassApplication,
    *,
    now: datetime,
    rules: FilingRules,
    issuer: Issuer,
    limits: FilingLimits | None = None,
    destination_required: bool = False,
) -> Pass:
    """File `data` for the actor's enterprise; commits. `limits`: FilingLimits.from_settings,
    None only for seeding and benchmarks. The page requires a destination (a clerk in a
    hurry sent the applicant itself). The number is allocated before the limits are counted:
    the serial row's lock (PostgreSQL; SQLite's write lock) keeps the counts exact under
    concurrent filings, and a refused filing gives its number back."""
    enterprise = session.get(Enterprise, actor.enterprise_id) if actor.enterprise_id else None
    if enterprise is None:
        raise Forbidden(N_("Only enterprise users file passes."))
    block = filing_block_reason(enterprise.status)
    if block:
        raise Forbidden(block)
    errors, destination_id = _check_references(session, enterprise.id, data, rules.area_code, now)
    if destination_required and data.destination is None and not data.destination_enterprise_id:
        errors["destination_enterprise_id"] = [N_("Choose the destination enterprise.")]
    for field, messages in domain.check_validity(
        data.valid_from, data.valid_until, now, rules.max_span
    ).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationFailed(errors)
    # Asked also when filed anyway by a whitelisted enterprise: then a reviewer decides.
    wanted = not data.file_anyway or enterprise.whitelisted
    overlapping = _overlapping(session, data) if wanted else None
    if overlapping and not data.file_anyway:  # Back, then submit again: not filed twice
        raise OverlappingPass(*overlapping)
    try:
        number = next_number(session, rules.area_code)
        if limits is not None:
            check_limits(session, enterprise.id, limits, now=now)
    except DomainError:
        session.rollback()  # the serial given back, its row's lock let go
        raise
    application = Pass(
        number=number,
        enterprise_id=enterprise.id,
        vehicle_id=data.vehicle_id,
        driver_id=data.driver_id,
        co_driver_id=data.co_driver_id,
        destination_enterprise_id=destination_id,
        **destinations.fields(session, data, destination_id, rules.area_code),
        origin=data.origin,
        origin_area_code=data.origin_area_code or rules.area_code,
        cargo=data.cargo,
        category=data.category,
        priority=domain.review_priority(data.category),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        max_trips=data.max_trips,
        trips_used=0,
        route_checkpoint_ids=data.route_checkpoint_ids,
        station_ids=sorted(set(data.station_ids)),
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
    if enterprise.whitelisted and _automatic(
        session, application, overlapping, limits, now, issuer
    ):
        approve_in(session, application, None, now=now, issuer=issuer)
        metrics.APPROVALS.inc()
    session.commit()
    return application


def _overlapping(session: Session, data: PassApplication) -> tuple[str, int] | None:
    """(number, id) of the vehicle's first waiting or approved pass overlapping `data`."""
    row = session.execute(
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
    return (row[0], row[1]) if row else None


def _automatic(
    session: Session,
    application: Pass,
    overlapping: tuple[str, int] | None,
    limits: FilingLimits | None,
    now: datetime,
    issuer: Issuer,
) -> bool:
    """Whether a whitelisted enterprise's application is approved without a person: not
    a second pass for a truck at the same time ("file anyway": a reviewer decides), its
    crew whitelisted where that is required, and its SMS within the SMS limits.
    Otherwise it waits for review (and counts as waiting)."""
    if overlapping is not None or not crew_allowed(session, application, issuer):
        return False
    sms = limits.sms if limits is not None else None
    return sms is None or automatic_approval_allowed(session, application, now=now, limits=sms)
