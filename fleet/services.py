"""Fleet use cases: an enterprise's vehicles and drivers (register, edit, archive, import)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.domain import filing_block_reason
from accounts.models import User
from core import audit
from core.errors import N_, Forbidden, ValidationFailed
from fleet import events
from fleet.models import Driver, Vehicle
from fleet.schemas import DriverIn, VehicleIn


def _plate_taken(session: Session, enterprise_id: int, plate: str, except_id: int | None) -> bool:
    stmt = select(Vehicle.id).where(Vehicle.enterprise_id == enterprise_id, Vehicle.plate == plate)
    if except_id is not None:
        stmt = stmt.where(Vehicle.id != except_id)
    return session.scalar(stmt) is not None


def _id_taken(session: Session, enterprise_id: int, number: str, except_id: int | None) -> bool:
    stmt = select(Driver.id).where(
        Driver.enterprise_id == enterprise_id, Driver.id_number == number
    )
    if except_id is not None:
        stmt = stmt.where(Driver.id != except_id)
    return session.scalar(stmt) is not None


def add_vehicle(session: Session, actor: User, data: VehicleIn, *, now: datetime) -> Vehicle:
    enterprise_id = _own_enterprise(actor)
    if _plate_taken(session, enterprise_id, data.plate, None):
        raise ValidationFailed.one("plate", N_("This plate is already registered."))
    vehicle = Vehicle(enterprise_id=enterprise_id, created_at=now, **data.model_dump())
    session.add(vehicle)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.VEHICLE_ADD,
        object_type="vehicle",
        object_id=vehicle.id,
        now=now,
    )
    session.commit()
    return vehicle


def edit_vehicle(
    session: Session, actor: User, vehicle: Vehicle, data: VehicleIn, *, now: datetime
) -> Vehicle:
    if _plate_taken(session, vehicle.enterprise_id, data.plate, vehicle.id):
        raise ValidationFailed.one("plate", N_("This plate is already registered."))
    if data.plate != vehicle.plate:
        events.plate_changing.send(vehicle, session=session)
    for field, value in data.model_dump().items():
        setattr(vehicle, field, value)
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.VEHICLE_EDIT,
        object_type="vehicle",
        object_id=vehicle.id,
        now=now,
    )
    session.commit()
    return vehicle


def add_driver(session: Session, actor: User, data: DriverIn, *, now: datetime) -> Driver:
    enterprise_id = _own_enterprise(actor)
    if _id_taken(session, enterprise_id, data.id_number, None):
        raise ValidationFailed.one("id_number", N_("A driver with this ID number is registered."))
    driver = Driver(enterprise_id=enterprise_id, created_at=now, **data.model_dump())
    session.add(driver)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.DRIVER_ADD,
        object_type="driver",
        object_id=driver.id,
        now=now,
    )
    session.commit()
    return driver


def edit_driver(
    session: Session, actor: User, driver: Driver, data: DriverIn, *, now: datetime
) -> Driver:
    if _id_taken(session, driver.enterprise_id, data.id_number, driver.id):
        raise ValidationFailed.one("id_number", N_("A driver with this ID number is registered."))
    for field, value in data.model_dump().items():
        setattr(driver, field, value)
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.DRIVER_EDIT,
        object_type="driver",
        object_id=driver.id,
        now=now,
    )
    session.commit()
    return driver


def set_archived(
    session: Session, actor: User, obj: Vehicle | Driver, archived: bool, *, now: datetime
) -> None:
    """Archive instead of delete: passes keep pointing at what they were issued for."""
    obj.archived = archived
    kind = "vehicle" if isinstance(obj, Vehicle) else "driver"
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action(f"{kind}.{'archive' if archived else 'restore'}"),
        object_type=kind,
        object_id=obj.id,
        now=now,
    )
    session.commit()


def check_may_import(actor: User) -> None:
    """Only an approved enterprise may import: parsing a spreadsheet is the costliest thing
    a self-registered account could otherwise ask for."""
    reason = filing_block_reason(actor.enterprise.status) if actor.enterprise else None
    if actor.enterprise is None or reason:
        raise Forbidden(reason or N_("Only enterprise users register a fleet."))


def registered(session: Session, actor: User, kind: str) -> set[str]:
    """The plates (vehicles) or ID numbers (drivers) the actor's enterprise has already, so
    a preview names the rows that would fail, before the import is confirmed."""
    enterprise_id = _own_enterprise(actor)
    column = Vehicle.plate if kind == "vehicles" else Driver.id_number
    model = Vehicle if kind == "vehicles" else Driver
    return set(session.scalars(select(column).where(model.enterprise_id == enterprise_id)))


def import_rows(
    session: Session,
    actor: User,
    vehicles: Sequence[VehicleIn],
    drivers: Sequence[DriverIn],
    *,
    now: datetime,
) -> tuple[int, int]:
    """Insert already-validated rows all-or-nothing; duplicates of existing rows are errors."""
    check_may_import(actor)
    enterprise_id = _own_enterprise(actor)
    plates = set(
        session.scalars(select(Vehicle.plate).where(Vehicle.enterprise_id == enterprise_id))
    )
    ids = set(
        session.scalars(select(Driver.id_number).where(Driver.enterprise_id == enterprise_id))
    )
    errors: dict[str, list[str]] = {}
    for i, v in enumerate(vehicles, start=1):
        if v.plate in plates:
            errors.setdefault(f"vehicle {i}", []).append(N_("This plate is already registered."))
        plates.add(v.plate)
    for i, d in enumerate(drivers, start=1):
        if d.id_number in ids:
            errors.setdefault(f"driver {i}", []).append(
                N_("A driver with this ID number is registered.")
            )
        ids.add(d.id_number)
    if errors:
        raise ValidationFailed(errors)
    session.add_all(
        Vehicle(enterprise_id=enterprise_id, created_at=now, **v.model_dump()) for v in vehicles
    )
    session.add_all(
        Driver(enterprise_id=enterprise_id, created_at=now, **d.model_dump()) for d in drivers
    )
    audit.record(
        session,
        actor_id=actor.id,
        action=audit.Action.FLEET_IMPORT,
        object_type="enterprise",
        object_id=enterprise_id,
        data={"vehicles": len(vehicles), "drivers": len(drivers)},
        now=now,
    )
    session.commit()
    return len(vehicles), len(drivers)


def _own_enterprise(actor: User) -> int:
    if actor.enterprise_id is None:
        raise ValidationFailed.one("enterprise", N_("Only enterprise users register a fleet."))
    return actor.enterprise_id
