"""JSON API for vehicles, drivers, passes, QR images, pass messages and the trust list."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import web
from accounts.domain import OVERSIGHT_ROLES, Role
from accounts.models import User
from accounts.scoping import get_scoped, scoped
from api.core import Page, endpoint, paginate
from errors import ValidationFailed
from passes import context, fleet, keys, qr, services
from passes.domain import PassStatus
from passes.models import Driver, Pass, SmsMessage, Vehicle
from passes.schemas import (
    BulkIds,
    DriverIn,
    DriverOut,
    MessageOut,
    PassApplication,
    PassOut,
    ReasonIn,
    VehicleIn,
    VehicleOut,
)

ENTERPRISE = {Role.ENTERPRISE}
READERS = OVERSIGHT_ROLES | ENTERPRISE  # enterprise users are scoped to their own rows
REVIEWER = {Role.REVIEWER}


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
)
def add_vehicle(user: User, body: VehicleIn) -> Vehicle:
    return fleet.add_vehicle(web.db(), user, body, now=web.now())


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
)
def edit_vehicle(user: User, body: VehicleIn, vehicle_id: int) -> Vehicle:
    vehicle = get_scoped(web.db(), Vehicle, vehicle_id, user)
    return fleet.edit_vehicle(web.db(), user, vehicle, body, now=web.now())


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
)
def archive_vehicle(user: User, body: ArchiveIn, vehicle_id: int) -> Vehicle:
    vehicle = get_scoped(web.db(), Vehicle, vehicle_id, user)
    fleet.set_archived(web.db(), user, vehicle, body.archived, now=web.now())
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
)
def add_driver(user: User, body: DriverIn) -> Driver:
    return fleet.add_driver(web.db(), user, body, now=web.now())


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
)
def edit_driver(user: User, body: DriverIn, driver_id: int) -> Driver:
    driver = get_scoped(web.db(), Driver, driver_id, user)
    return fleet.edit_driver(web.db(), user, driver, body, now=web.now())


@endpoint(
    "/drivers/<int:driver_id>/archive",
    "POST",
    summary="Archive or restore a driver",
    roles=ENTERPRISE,
    body=ArchiveIn,
    response=DriverOut,
    tag="fleet",
)
def archive_driver(user: User, body: ArchiveIn, driver_id: int) -> Driver:
    driver = get_scoped(web.db(), Driver, driver_id, user)
    fleet.set_archived(web.db(), user, driver, body.archived, now=web.now())
    return driver


# --- passes ---------------------------------------------------------------------------


def pass_out(p: Pass) -> dict[str, Any]:
    base = current_app.config["PUBLIC_BASE_URL"]
    return PassOut(
        id=p.id,
        number=p.number,
        status=p.status,
        enterprise_id=p.enterprise_id,
        vehicle=p.vehicle,
        driver=p.driver,
        co_driver=p.co_driver,
        destination_enterprise_id=p.destination_enterprise_id,
        origin=p.origin,
        cargo=p.cargo,
        category=p.category,
        valid_from=p.valid_from,
        valid_until=p.valid_until,
        max_trips=p.max_trips,
        trips_used=p.trips_used,
        route_checkpoint_ids=p.route_checkpoint_ids or [],
        code=p.code,
        status_url=p.code,
        qr_png_url=f"{base}/api/v1/passes/{p.id}/qr.png" if p.code else None,
        auto_approved=p.auto_approved,
        decision_reason=p.decision_reason,
        created_at=p.created_at,
        reviewed_at=p.reviewed_at,
    ).model_dump(mode="json")


class PassPage(BaseModel):
    items: list[PassOut]
    total: int
    page: int
    per_page: int


@endpoint(
    "/passes",
    "POST",
    summary="Apply for a pass",
    roles=ENTERPRISE,
    body=PassApplication,
    response=PassOut,
    status=201,
    tag="passes",
)
def submit_pass(user: User, body: PassApplication) -> dict[str, Any]:
    p = services.submit_pass(
        web.db(), user, body, now=web.now(), rules=context.filing_rules(), issuer=context.issuer()
    )
    return pass_out(p)


@endpoint(
    "/passes",
    "GET",
    summary="List passes",
    roles=READERS,
    response=PassPage,
    query={
        "status": "string",
        "plate": "string",
        "number": "string",
        "page": "integer",
        "per_page": "integer",
    },
    tag="passes",
)
def list_passes(user: User) -> dict[str, Any]:
    stmt = scoped(select(Pass), Pass, user)
    if status := request.args.get("status"):
        if status not in set(PassStatus):
            raise ValidationFailed.one("status", "Choose one of the listed values.")
        stmt = stmt.where(Pass.status == status)
    if number := request.args.get("number", "").strip():
        stmt = stmt.where(Pass.number == number)
    if plate := request.args.get("plate", "").strip().upper():
        stmt = stmt.join(Vehicle, Vehicle.id == Pass.vehicle_id).where(
            Vehicle.plate.startswith(plate, autoescape=True)
        )
    stmt = stmt.options(
        selectinload(Pass.vehicle), selectinload(Pass.driver), selectinload(Pass.co_driver)
    )
    return paginate(stmt.order_by(Pass.id.desc()), serialize=pass_out)


@endpoint(
    "/passes/<int:pass_id>",
    "GET",
    summary="One pass",
    roles=READERS,
    response=PassOut,
    tag="passes",
)
def get_pass(user: User, pass_id: int) -> dict[str, Any]:
    return pass_out(get_scoped(web.db(), Pass, pass_id, user))


@endpoint(
    "/passes/<int:pass_id>/approve",
    "POST",
    summary="Approve: sign, QR, queue the SMS",
    roles=REVIEWER,
    response=PassOut,
    tag="review",
)
def approve_pass(user: User, pass_id: int) -> dict[str, Any]:
    p = services.approve_pass(web.db(), pass_id, user, now=web.now(), issuer=context.issuer())
    return pass_out(p)


@endpoint(
    "/passes/<int:pass_id>/reject",
    "POST",
    summary="Reject with a reason",
    roles=REVIEWER,
    body=ReasonIn,
    response=PassOut,
    tag="review",
)
def reject_pass(user: User, body: ReasonIn, pass_id: int) -> dict[str, Any]:
    return pass_out(services.reject_pass(web.db(), pass_id, user, body.reason, now=web.now()))


@endpoint(
    "/passes/<int:pass_id>/revoke",
    "POST",
    summary="Revoke an approved pass",
    roles=REVIEWER,
    body=ReasonIn,
    response=PassOut,
    tag="review",
)
def revoke_pass(user: User, body: ReasonIn, pass_id: int) -> dict[str, Any]:
    return pass_out(services.revoke_pass(web.db(), pass_id, user, body.reason, now=web.now()))


@endpoint(
    "/passes/<int:pass_id>/cancel",
    "POST",
    summary="Cancel an application still waiting",
    roles=ENTERPRISE,
    response=PassOut,
    tag="passes",
)
def cancel_pass(user: User, pass_id: int) -> dict[str, Any]:
    get_scoped(web.db(), Pass, pass_id, user)
    return pass_out(services.cancel_pass(web.db(), pass_id, user, now=web.now()))


class BulkResult(BaseModel):
    approved: list[int]
    skipped: list[int]


@endpoint(
    "/passes/bulk-approve",
    "POST",
    summary="Approve several waiting passes",
    roles=REVIEWER,
    body=BulkIds,
    response=BulkResult,
    tag="review",
)
def bulk_approve(user: User, body: BulkIds) -> BulkResult:
    approved, skipped = services.bulk_approve(
        web.db(), body.ids, user, now=web.now(), issuer=context.issuer()
    )
    return BulkResult(approved=approved, skipped=skipped)


def _approved_code(user: User, pass_id: int) -> str:
    p = get_scoped(web.db(), Pass, pass_id, user)
    if not p.code:
        raise ValidationFailed.one("pass", "Only an approved pass has a QR code.")
    return p.code


@endpoint(
    "/passes/<int:pass_id>/qr.png", "GET", summary="QR code (PNG)", roles=READERS, tag="passes"
)
def pass_qr_png(user: User, pass_id: int) -> Response:
    png = qr.png(_approved_code(user, pass_id))
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})


@endpoint(
    "/passes/<int:pass_id>/qr.svg", "GET", summary="QR code (SVG)", roles=READERS, tag="passes"
)
def pass_qr_svg(user: User, pass_id: int) -> Response:
    svg = qr.svg(_approved_code(user, pass_id))
    return Response(
        svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=300"}
    )


class MessageList(BaseModel):
    items: list[MessageOut]


@endpoint(
    "/passes/<int:pass_id>/messages",
    "GET",
    summary="SMS sent for this pass",
    roles=READERS,
    response=MessageList,
    tag="passes",
)
def pass_messages(user: User, pass_id: int) -> MessageList:
    p = get_scoped(web.db(), Pass, pass_id, user)
    rows = web.db().scalars(
        select(SmsMessage).where(SmsMessage.pass_id == p.id).order_by(SmsMessage.id)
    )
    return MessageList(items=[MessageOut.model_validate(m) for m in rows])


@endpoint(
    "/passes/<int:pass_id>/messages",
    "POST",
    summary="Send the pass SMS again",
    roles={Role.ENTERPRISE, Role.REVIEWER},
    status=202,
    tag="passes",
)
def resend_pass_message(user: User, pass_id: int) -> dict[str, bool]:
    p = get_scoped(web.db(), Pass, pass_id, user)
    services.resend_sms(web.db(), p, user, now=web.now(), issuer=context.issuer())
    return {"queued": True}


# --- trust ----------------------------------------------------------------------------


class TrustedKeyOut(BaseModel):
    kid: str
    alg: str
    jwk: dict[str, str]
    not_before: str
    not_after: str | None
    status: str


class TrustList(BaseModel):
    keys: list[TrustedKeyOut]


@endpoint(
    "/trust",
    "GET",
    summary="Public keys that sign pass tokens (JWK)",
    response=TrustList,
    tag="trust",
)
def trust(_user: None) -> TrustList:
    rows = keys.published(web.db(), web.now())
    return TrustList(
        keys=[
            TrustedKeyOut(
                kid=str(k.kid),
                alg="ES256",
                jwk=keys.jwk(k),
                not_before=k.not_before.isoformat(),
                not_after=k.not_after.isoformat() if k.not_after else None,
                status="retired" if k.retired_at else "active",
            )
            for k in rows
        ]
    )
