"""The consignee's board: the trucks bound for an enterprise (page and JSON), and who
received one at the gate (接引)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from pydantic import BaseModel, Field

from accounts.domain import Role
from accounts.forms import ActionForm
from accounts.models import User
from accounts.schemas import Input, PersonName
from api.core import endpoint, page_args
from checkpoints import arrivals, bookings
from checkpoints.arrivals import Arrival, BoardRow
from checkpoints.bookings import SLOT, Status
from checkpoints.models import Booking
from core import inputs, web
from core.errors import DomainError, ValidationFailed

bp = Blueprint("consignees", __name__)
PER_PAGE = 50


class ArrivalPass(BaseModel):
    id: int
    number: str
    plate: str
    driver_name: str
    cargo: str
    category: str
    valid_until: datetime


class Escort(BaseModel):
    name: str
    at: datetime


class ArrivalBooking(BaseModel):
    checkpoint: str  # the gate's name
    slot_start: datetime
    slot_end: datetime
    status: Status


class ArrivalOut(BaseModel):
    pass_: ArrivalPass = Field(alias="pass", serialization_alias="pass")
    state: Arrival
    trip_id: int | None
    entered_at: datetime | None
    entry_checkpoint: str | None
    arrived_at: datetime | None
    exited_at: datetime | None
    escort: Escort | None
    booking: ArrivalBooking | None = None

    model_config = {"populate_by_name": True}


class ArrivalPage(BaseModel):
    items: list[ArrivalOut]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]


class EscortIn(Input):
    name: PersonName


def _out(row: BoardRow, now: datetime) -> dict[str, Any]:
    p = row.pass_
    trip = row.trip if row.state != Arrival.EXPECTED else None  # its last trip is history
    escorted = trip is not None and trip.escort_name and trip.escorted_at
    return ArrivalOut(
        pass_=ArrivalPass(
            id=p.id,
            number=p.number,
            plate=row.plate,
            driver_name=row.driver_name,
            cargo=p.cargo,
            category=p.category,
            valid_until=p.valid_until,
        ),
        state=Arrival(row.state),
        trip_id=trip.id if trip else None,
        entered_at=trip.entered_at if trip else None,
        entry_checkpoint=row.entry_checkpoint if trip else None,
        arrived_at=trip.arrived_at if trip else None,
        exited_at=trip.exited_at if trip else None,
        escort=Escort(name=trip.escort_name, at=trip.escorted_at) if escorted else None,
        booking=_booking(row.booking, now),
    ).model_dump(mode="json", by_alias=True)


def _booking(b: Booking | None, now: datetime) -> ArrivalBooking | None:
    if b is None:
        return None
    status = bookings.shown_status(b, now)
    return ArrivalBooking(
        checkpoint=b.checkpoint.name,
        slot_start=b.slot_start,
        slot_end=b.slot_start + SLOT,
        status=status,
    )


def _states(raw: str) -> tuple[str, ...]:
    if not raw:
        return tuple(str(s) for s in arrivals.LIVE)
    if raw not in set(Arrival):
        raise ValidationFailed.one("state", gettext("Choose one of the listed values."))
    return (raw,)


@endpoint(
    "/arrivals",
    "GET",
    summary="Passes bound for my enterprise: expected, inside, arrived, left",
    roles={Role.ENTERPRISE},
    response=ArrivalPage,
    query={"state": "string", "page": "integer", "per_page": "integer"},
    tag="consignees",
)
def list_arrivals(user: User) -> dict[str, Any]:
    states = _states(request.args.get("state", "").strip())
    page, per_page = page_args()
    session, now = web.db(), web.now()
    rows, total, counts = arrivals.board(
        session, user, states=states, now=now, page=page, per_page=per_page
    )
    return {
        "items": [_out(row, now) for row in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
        "counts": counts,
    }


@endpoint(
    "/trips/<int:trip_id>/escort",
    "POST",
    summary="Record who received my truck at the gate (接引)",
    roles={Role.ENTERPRISE},
    body=EscortIn,
    tag="consignees",
)
def record_escort(user: User, body: EscortIn, trip_id: int) -> dict[str, Any]:
    trip = arrivals.escort(web.db(), trip_id, body.name, user=user, now=web.now())
    escorted = Escort(name=body.name, at=trip.escorted_at or web.now())
    return {"trip_id": trip.id, "escort": escorted.model_dump(mode="json")}


@bp.get("/arrivals")
@web.roles_required(Role.ENTERPRISE)
def board_page() -> Any:
    raw = request.args.get("state", "").strip()
    state = raw if raw in set(Arrival) else ""
    session, now = web.db(), web.now()
    page = web.page_number()
    rows, total, counts = arrivals.board(
        session,
        current_user,
        states=_states(state),
        now=now,
        page=page,
        per_page=PER_PAGE,
    )
    return render_template(
        "checkpoints/arrivals.html",
        rows=rows,
        state=state,
        counts=counts,
        page=page,
        more=page * PER_PAGE < total,
        form=ActionForm(),
        now=now,
    )


@bp.post("/arrivals/<int:trip_id>/escort")
@web.roles_required(Role.ENTERPRISE)
def escort(trip_id: int) -> Any:
    form = ActionForm()
    back = url_for("consignees.board_page", state=request.form.get("state") or None)
    if not form.validate_on_submit():
        flash(gettext("The form expired; try again."), "error")
        return redirect(back)
    try:
        data = inputs.validate(EscortIn, {"name": request.form.get("name", "")})
        arrivals.escort(web.db(), trip_id, data.name, user=current_user, now=web.now())
    except ValidationFailed:
        flash(gettext("Enter the name of who received the truck."), "error")
    except DomainError as exc:
        flash(gettext(exc.detail, **exc.params) if exc.detail else gettext(exc.title), "error")
    else:
        flash(gettext("Recorded: %(name)s received the truck.", name=data.name), "success")
    return redirect(back)
