"""Bookings at the edge (checkpoints/bookings.py): the JSON endpoints, the enterprise's page
to book, move and cancel an hour for its pass, and the officer's list of the gate's day."""

from __future__ import annotations

from dataclasses import astuple
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import exists, select

from accounts.domain import OVERSIGHT_ROLES, Role, Scope
from accounts.forms import ActionForm
from accounts.models import User
from accounts.scoping import get_scoped
from api.core import endpoint
from checkpoints import booking_offer, bookings
from checkpoints.bookings import SLOT, Status, Wanted
from checkpoints.domain import Kind
from checkpoints.models import Booking, Checkpoint, officer_checkpoint
from checkpoints.schemas import BookingIn, BookingOut, CapacityIn, DayItem, DayOut, DayPass
from core import inputs, web
from core.errors import N_, DomainError, Forbidden, NotFound, ValidationFailed
from passes.models import Pass

bp = Blueprint("bookings", __name__)
OWNER = {Role.ENTERPRISE}
DAY_READERS = {Role.OFFICER, *OVERSIGHT_ROLES}


def _out(b: Booking) -> dict[str, Any]:
    status = bookings.shown_status(b, web.now())
    return BookingOut(
        id=b.id,
        pass_id=b.pass_id,
        checkpoint_id=b.checkpoint_id,
        slot_start=b.slot_start,
        slot_end=b.slot_start + SLOT,
        status=status,
    ).model_dump(mode="json")


def _wanted(body: BookingIn) -> Wanted:
    return Wanted(body.checkpoint_id, body.slot_start)


@endpoint(
    "/checkpoints/<int:checkpoint_id>/booking",
    "PUT",
    summary="Set a gate's bookings per hour (null: it takes none)",
    roles={Role.ADMIN},
    body=CapacityIn,
    tag="bookings",
)
def set_capacity(user: User, body: CapacityIn, checkpoint_id: int) -> dict[str, Any]:
    gate = bookings.set_capacity(
        web.db(), checkpoint_id, body.capacity_per_hour, actor=user, now=web.now()
    )
    return {"id": gate.id, "capacity_per_hour": gate.capacity_per_hour}


@endpoint(
    "/passes/<int:pass_id>/bookings",
    "POST",
    summary="Book an hour at a gate for my approved pass",
    roles=OWNER,
    body=BookingIn,
    status=201,
    tag="bookings",
    scope=Scope.BOOKINGS_WRITE,
)
def book(user: User, body: BookingIn, pass_id: int) -> dict[str, Any]:
    return _out(bookings.book(web.db(), user, pass_id, _wanted(body), now=web.now()))


@endpoint(
    "/passes/<int:pass_id>/bookings",
    "GET",
    summary="A pass's bookings (its owner)",
    roles=OWNER,
    tag="bookings",
)
def pass_bookings(user: User, pass_id: int) -> dict[str, Any]:
    p = get_scoped(web.db(), Pass, pass_id, user)
    found = web.db().scalars(select(Booking).where(Booking.pass_id == p.id).order_by(Booking.id))
    return {"items": [_out(b) for b in found]}


@endpoint(
    "/bookings/<int:booking_id>",
    "PATCH",
    summary="Move my booking to another hour or gate (until its hour starts)",
    roles=OWNER,
    body=BookingIn,
    tag="bookings",
    scope=Scope.BOOKINGS_WRITE,
)
def move(user: User, body: BookingIn, booking_id: int) -> dict[str, Any]:
    return _out(bookings.move(web.db(), user, booking_id, _wanted(body), now=web.now()))


@endpoint(
    "/bookings/<int:booking_id>",
    "DELETE",
    summary="Cancel my booking (until its hour starts)",
    roles=OWNER,
    tag="bookings",
    scope=Scope.BOOKINGS_WRITE,
)
def cancel(user: User, booking_id: int) -> dict[str, Any]:
    return _out(bookings.cancel(web.db(), user, booking_id, now=web.now()))


def _gate_for(user: User, checkpoint_id: int) -> Checkpoint:
    """The gate whose day `user` may read: an officer's own, any for oversight."""
    gate = web.db().get(Checkpoint, checkpoint_id)
    if gate is None or gate.kind != Kind.GATE:
        raise NotFound()
    if user.role == Role.OFFICER:
        mine = exists().where(
            officer_checkpoint.c.user_id == user.id,
            officer_checkpoint.c.checkpoint_id == gate.id,
        )
        if not web.db().scalar(select(mine)):
            raise Forbidden(N_("You are not assigned to this checkpoint."))
    return gate


def _day_arg() -> date:
    tz = current_app.config["TIMEZONE"]
    raw = request.args.get("date", "").strip()
    if not raw:
        return web.now().astimezone(ZoneInfo(tz)).date()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.one("date", N_("Enter a date such as 2026-11-22.")) from None


def _day(user: User, checkpoint_id: int) -> tuple[Checkpoint, date, list[DayItem]]:
    gate, day = _gate_for(user, checkpoint_id), _day_arg()
    now = web.now()
    found = bookings.day(web.db(), gate.id, day, current_app.config["TIMEZONE"])
    items = [
        DayItem(
            id=b.id,
            pass_=DayPass(
                number=b.pass_.number, plate=b.pass_.vehicle.plate, category=b.pass_.category
            ),
            slot_start=b.slot_start,
            slot_end=b.slot_start + SLOT,
            status=bookings.shown_status(b, now),
        )
        for b in found
    ]
    return gate, day, items


@endpoint(
    "/checkpoints/<int:checkpoint_id>/bookings",
    "GET",
    summary="A gate's bookings of one day: booked, arrived, missed",
    roles=DAY_READERS,
    response=DayOut,
    query={"date": "string"},
    tag="bookings",
)
def gate_day(user: User, checkpoint_id: int) -> dict[str, Any]:
    gate, day, items = _day(user, checkpoint_id)
    return DayOut(
        checkpoint_id=gate.id, date=day, capacity_per_hour=gate.capacity_per_hour, items=items
    ).model_dump(mode="json", by_alias=True)


# --- pages -------------------------------------------------------------------------------


@bp.post("/admin/checkpoints/<int:checkpoint_id>/booking")
@web.roles_required(Role.ADMIN)
def capacity_page(checkpoint_id: int) -> Any:
    """The admin's checkpoints page: a gate's bookings per hour (empty: none)."""
    back = redirect(url_for("checkpoints.admin"))
    if not ActionForm().validate_on_submit():
        flash(gettext("The form expired; try again."), "error")
        return back
    raw = request.form.get("capacity_per_hour", "").strip()
    try:
        data = inputs.validate(CapacityIn, {"capacity_per_hour": raw or None})
    except ValidationFailed:
        gate = web.db().get(Checkpoint, checkpoint_id)
        flash(
            gettext(
                "Bookings an hour at %(gate)s: a whole number from 1 to %(most)d, or empty"
                " for none.",
                gate=gate.name if gate else checkpoint_id,
                most=bookings.MAX_CAPACITY,
            ),
            "error",
        )
        return back
    try:
        gate = bookings.set_capacity(
            web.db(), checkpoint_id, data.capacity_per_hour, actor=current_user, now=web.now()
        )
    except ValidationFailed as exc:
        web.flash_refusal(exc)
        return back
    if gate.capacity_per_hour:
        flash(
            gettext(
                "%(gate)s takes %(n)d bookings an hour.", gate=gate.name, n=gate.capacity_per_hour
            ),
            "success",
        )
    else:
        flash(gettext("%(gate)s takes no new bookings.", gate=gate.name), "success")
    return back


@bp.get("/gate/<int:checkpoint_id>/bookings")
@web.roles_required(*DAY_READERS)
def day_page(checkpoint_id: int) -> Any:
    try:
        gate, day, items = _day(current_user, checkpoint_id)
    except ValidationFailed:
        flash(gettext("Enter a date such as 2026-11-22."), "error")
        return redirect(url_for("bookings.day_page", checkpoint_id=checkpoint_id))
    counts = {
        s: sum(1 for i in items if i.status == s)
        for s in (Status.BOOKED, Status.ARRIVED, Status.MISSED)
    }
    return render_template(
        "checkpoints/bookings_day.html",
        gate=gate,
        day=day,
        items=items,
        counts=counts,
        one_day=timedelta(days=1),
        today=web.now().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date(),
    )


@bp.route("/passes/<int:pass_id>/booking", methods=["GET", "POST"])
@web.roles_required(Role.ENTERPRISE)
def pass_page(pass_id: int) -> Any:
    session, now, tz = web.db(), web.now(), current_app.config["TIMEZONE"]
    p = get_scoped(session, Pass, pass_id, current_user)
    if p.enterprise_id != current_user.enterprise_id:
        raise NotFound()
    form, status = ActionForm(), 200
    if request.method == "POST":
        here = url_for("bookings.pass_page", pass_id=p.id)
        if not form.validate_on_submit():
            flash(gettext("The form expired; try again."), "error")
            return redirect(here)
        try:
            _act(session, p, request.form, now)
        except DomainError as exc:
            web.flash_refusal(exc)
            status = exc.status
        else:
            return redirect(here)
    page = render_template(
        "checkpoints/booking_pass.html",
        p=p,
        offer=booking_offer.offer(session, p, now, tz),
        form=form,
        now=now,
        slot=SLOT,
    )
    return page, status


def _act(session: Any, p: Pass, form: Any, now: datetime) -> None:
    """One of the page's buttons: book, move (booking_id given) or cancel."""
    raw_id = form.get("booking_id", "")
    if form.get("action") == "cancel" and inputs.is_id(raw_id):
        bookings.cancel(session, current_user, int(raw_id), now=now)
        flash(gettext("Booking cancelled."), "success")
        return
    data = inputs.validate(
        BookingIn,
        {"checkpoint_id": form.get("checkpoint_id", ""), "slot_start": form.get("slot_start", "")},
    )
    wanted, held = _wanted(data), bookings.waiting(session, p.id, now)
    if held is not None and (held.checkpoint_id, held.slot_start) == astuple(wanted):
        flash(gettext("The booking is already for that gate and hour."), "info")
    elif inputs.is_id(raw_id):
        bookings.move(session, current_user, int(raw_id), wanted, now=now)
        flash(gettext("Booking moved."), "success")
    else:
        bookings.book(session, current_user, p.id, wanted, now=now)
        flash(gettext("Booked."), "success")
