"""JSON API for vehicles and drivers."""

from __future__ import annotations

from typing import Any

from flask import request
from pydantic import BaseModel
from sqlalchemy import select

from accounts.domain import OVERSIGHT_ROLES, Role, Scope
from accounts.models import User
from accounts.scoping import get_scoped, scoped
from api.core import Page, endpoint, paginate
from core import web
from core.errors import ValidationFailed
from fleet import services
from fleet.models import Driver, Vehicle
from fleet.schemas import DriverIn, DriverOut, VehicleIn, VehicleOut

ENTERPRISE = {Role.ENTERPRISE}
READERS = OVERSIGHT_ROLES | ENTERPRISE  # enterprise users are scoped to their own rows


def _archived_filter(stmt: Any, model: type[Vehicle] | type[Driver]) -> Any:
    raw = request.args.get("archived", "false")
    if raw not in ("true", "false", "all"):
        raise ValidationFailed.one("archived", "Choose one of the listed values.")
    return stmt if raw == "all" else stmt.where(model.archived.is_(raw == "true"))


# --- vehicles -------------------------------------------------------------------------


@endpoint(
    "/vehicles",
    "POST",
    summary="Register a vehicle",
    roles=ENTERPRISE,
    body=VehicleIn,
    response=VehicleOut,
    status=201,
    tag="fleet",
    scope=Scope.FLEET_WRITE,
)
def add_vehicle(user: User, body: VehicleIn) -> Vehicle:
    return services.add_vehicle(web.db(), user, body, now=web.now())


@endpoint(
    "/vehicles",
    "GET",
    summary="List vehicles",
    roles=READERS,
    response=Page[VehicleOut],
    query={"plate": "string", "archived": "string", "page": "integer", "per_page": "integer"},
    tag="fleet",
)
def list_vehicles(user: User) -> dict[str, Any]:
    stmt = _archived_filter(scoped(select(Vehicle), Vehicle, user), Vehicle)
    if plate := request.args.get("plate", "").strip().upper():
        stmt = stmt.where(Vehicle.plate.startswith(plate, autoescape=True))
    return paginate(stmt.order_by(Vehicle.id.desc()), VehicleOut)


@endpoint(
    "/vehicles/<int:vehicle_id>",
    "GET",
    summary="One vehicle",
    roles=READERS,
    response=VehicleOut,
    tag="fleet",
)
def get_vehicle(user: User, vehicle_id: int) -> Vehicle:
    return get_scoped(web.db(), Vehicle, vehicle_id, user)


@endpoint(
    "/vehicles/<int:vehicle_id>",
    "PUT",
    summary="Edit a vehicle",
    roles=ENTERPRISE,
    body=VehicleIn,
    response=VehicleOut,
    tag="fleet",
    scope=Scope.FLEET_WRITE,
)
def edit_vehicle(user: User, body: VehicleIn, vehicle_id: int) -> Vehicle:
    vehicle = get_scoped(web.db(), Vehicle, vehicle_id, user)
    return services.edit_vehicle(web.db(), user, vehicle, body, now=web.now())


class ArchiveIn(BaseModel):
    archived: bool


@endpoint(
    "/vehicles/<int:vehicle_id>/archive",
    "POST",
    summary="Archive or restore a vehicle",
    roles=ENTERPRISE,
    body=ArchiveIn,
    response=VehicleOut,
    tag="fleet",
    scope=Scope.FLEET_WRITE,
)
def archive_vehicle(user: User, body: ArchiveIn, vehicle_id: int) -> Vehicle:
    vehicle = get_scoped(web.db(), Vehicle, vehicle_id, user)
    services.set_archived(web.db(), user, vehicle, body.archived, now=web.now())
    return vehicle


# --- drivers --------------------------------------------------------------------------


@endpoint(
    "/drivers",
    "POST",
    summary="Register a driver",
    roles=ENTERPRISE,
    body=DriverIn,
    response=DriverOut,
    status=201,
    tag="fleet",
    scope=Scope.FLEET_WRITE,
)
def add_driver(user: User, body: DriverIn) -> Driver:
    return services.add_driver(web.db(), user, body, now=web.now())


@endpoint(
    "/drivers",
    "GET",
    summary="List drivers (ID numbers masked)",
    roles=READERS,
    response=Page[DriverOut],
    query={"name": "string", "archived": "string", "page": "integer", "per_page": "integer"},
    tag="fleet",
)
def list_drivers(user: User) -> dict[str, Any]:
    stmt = _archived_filter(scoped(select(Driver), Driver, user), Driver)
    if name := request.args.get("name", "").strip():
        stmt = stmt.where(Driver.name.startswith(name, autoescape=True))
    return paginate(stmt.order_by(Driver.id.desc()), DriverOut)


@endpoint(
    "/drivers/<int:driver_id>",
    "GET",
    summary="One driver (ID number masked)",
    roles=READERS,
    response=DriverOut,
    tag="fleet",
)
def get_driver(user: User, driver_id: int) -> Driver:
    return get_scoped(web.db(), Driver, driver_id, user)


@endpoint(
    "/drivers/<int:driver_id>",
    "PUT",
    summary="Edit a driver",
    roles=ENTERPRISE,
    body=DriverIn,
    response=DriverOut,
    tag="fleet",
    scope=Scope.FLEET_WRITE,
)
def edit_driver(user: User, body: DriverIn, driver_id: int) -> Driver:
    driver = get_scoped(web.db(), Driver, driver_id, user)
    return services.edit_driver(web.db(), user, driver, body, now=web.now())


@endpoint(
    "/drivers/<int:driver_id>/archive",
    "POST",
    summary="Archive or restore a driver",
    roles=ENTERPRISE,
    body=ArchiveIn,
    response=DriverOut,
    tag="fleet",
    scope=Scope.FLEET_WRITE,
)
def archive_driver(user: User, body: ArchiveIn, driver_id: int) -> Driver:
    driver = get_scoped(web.db(), Driver, driver_id, user)
    services.set_archived(web.db(), user, driver, body.archived, now=web.now())
    return driver
