"""JSON API for passes, their QR images and their messages."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts.domain import OVERSIGHT_ROLES, Role, Scope
from accounts.models import User
from accounts.scoping import get_scoped, scoped
from api.core import endpoint, paginate
from core import web
from core.errors import ValidationFailed
from fleet.models import Vehicle
from passes import context, filing, public, services
from passes.domain import PassStatus
from passes.models import Pass
from passes.schemas import NATIONAL_FIELDS, BulkIds, PassApplication, PassOut, ReasonIn
from trust import qr

ENTERPRISE = {Role.ENTERPRISE}
READERS = OVERSIGHT_ROLES | ENTERPRISE  # enterprise users are scoped to their own rows
REVIEWER = {Role.REVIEWER}


def pass_out(p: Pass) -> dict[str, Any]:
    """A pass as JSON; its code (and the links that carry it) only while it is live."""
    base = current_app.config["PUBLIC_BASE_URL"]
    code = None if public.code_withheld(p, web.now()) else p.code
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
        **{name: getattr(p, name) for name in NATIONAL_FIELDS},
        cargo=p.cargo,
        category=p.category,
        valid_from=p.valid_from,
        valid_until=p.valid_until,
        max_trips=p.max_trips,
        trips_used=p.trips_used,
        route_checkpoint_ids=p.route_checkpoint_ids or [],
        station_ids=p.station_ids or [],
        code=code,
        status_url=code,
        qr_png_url=f"{base}/api/v1/passes/{p.id}/qr.png" if code else None,
        driver_url=services.driver_url(base, p.driver_key) if p.driver_key else None,
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
    scope=Scope.PASSES_WRITE,
)
def submit_pass(user: User, body: PassApplication) -> dict[str, Any]:
    """201; 409 past the enterprise's waiting applications or once pass numbers run out;
    429 (Retry-After) past its filings an hour or a day."""
    p = filing.submit_pass(
        web.db(),
        user,
        body,
        now=web.now(),
        rules=context.filing_rules(),
        issuer=context.issuer(),
        limits=filing.FilingLimits.from_settings(current_app.config),
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
        selectinload(Pass.vehicle),
        selectinload(Pass.driver),
        selectinload(Pass.co_driver),
        selectinload(Pass.enterprise),  # (its status decides whether the code is shown)
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
    return pass_out(
        services.reject_pass(
            web.db(),
            pass_id,
            user,
            body.reason,
            now=web.now(),
            sms_locale=context.issuer().sms_locale,
        )
    )


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
    return pass_out(
        services.revoke_pass(
            web.db(),
            pass_id,
            user,
            body.reason,
            now=web.now(),
            sms_locale=context.issuer().sms_locale,
        )
    )


@endpoint(
    "/passes/<int:pass_id>/cancel",
    "POST",
    summary="Cancel an application still waiting",
    roles=ENTERPRISE,
    response=PassOut,
    tag="passes",
    scope=Scope.PASSES_WRITE,
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


def _live_code(user: User, pass_id: int) -> str:
    """The code of a live pass; 409 for a dead one (revoked, rejected, cancelled, expired,
    its enterprise suspended), 422 for one still waiting for review."""
    p = get_scoped(web.db(), Pass, pass_id, user)
    public.refuse_dead_code(p, web.now())
    if not p.code:
        raise ValidationFailed.one("pass", "Only an approved pass has a QR code.")
    return p.code


# Never kept by a cache: an image served before a revocation must not outlive it.
NOT_KEPT = {"Cache-Control": "private, no-store"}


@endpoint(
    "/passes/<int:pass_id>/qr.png", "GET", summary="QR code (PNG)", roles=READERS, tag="passes"
)
def pass_qr_png(user: User, pass_id: int) -> Response:
    png = qr.png(_live_code(user, pass_id))
    return Response(png, mimetype="image/png", headers=NOT_KEPT)


@endpoint(
    "/passes/<int:pass_id>/qr.svg", "GET", summary="QR code (SVG)", roles=READERS, tag="passes"
)
def pass_qr_svg(user: User, pass_id: int) -> Response:
    svg = qr.svg(_live_code(user, pass_id))
    return Response(svg, mimetype="image/svg+xml", headers=NOT_KEPT)
