"""The crew whitelist at the edge (fleet/crews.py): reviewers put drivers on it, one by one
or many at once (ticked on the page, or a column of ID numbers pasted from a spreadsheet),
and take them off; enterprises read their own drivers' entries on GET /drivers and their
drivers page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, gettext, ngettext
from flask_login import current_user
from pydantic import Field, StringConstraints
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from accounts.domain import Role
from accounts.forms import ActionForm
from accounts.models import User
from accounts.schemas import Id, Input
from api.core import endpoint
from core import inputs, web
from core import search as boxes
from core.errors import DomainError
from core.privacy import mask_id_number
from fleet import crews
from fleet.models import Driver
from fleet.schemas import DriverOut

REVIEWER = {Role.REVIEWER}
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class WhitelistIn(Input):
    valid_until: date  # through the end of this day, where the jurisdiction is
    note: Note | None = None  # what was checked


class BulkWhitelistIn(WhitelistIn):
    driver_ids: list[Id] = Field(min_length=1, max_length=crews.MAX_BULK)


def _put(ids: list[int], user: User, body: WhitelistIn) -> list[Driver]:
    tz = current_app.config["TIMEZONE"]
    return crews.whitelist(
        web.db(), ids, user, until=body.valid_until, note=body.note, now=web.now(), tz=tz
    )


@endpoint(
    "/drivers/<int:driver_id>/whitelist",
    "POST",
    summary="Put a driver on the crew whitelist until a date",
    roles=REVIEWER,
    body=WhitelistIn,
    response=DriverOut,
    tag="fleet",
)
def whitelist_driver(user: User, body: WhitelistIn, driver_id: int) -> Driver:
    [driver] = _put([driver_id], user, body)
    return driver


@endpoint(
    "/drivers/<int:driver_id>/whitelist",
    "DELETE",
    summary="Take a driver off the crew whitelist",
    roles=REVIEWER,
    response=DriverOut,
    tag="fleet",
)
def unlist_driver(user: User, driver_id: int) -> Driver:
    return crews.unlist(web.db(), driver_id, user, now=web.now())


@endpoint(
    "/drivers/whitelist",
    "POST",
    summary="Put many drivers on the crew whitelist (all or none)",
    roles=REVIEWER,
    body=BulkWhitelistIn,
    tag="fleet",
)
def whitelist_drivers(user: User, body: BulkWhitelistIn) -> dict[str, Any]:
    return {"whitelisted": [d.id for d in _put(body.driver_ids, user, body)]}


# --- the reviewer's page -----------------------------------------------------------------

bp = Blueprint("crews", __name__)
PER_PAGE = 50
SHOWN = ("all", "listed", "ending", "unlisted")


def _crew_rows(shown: str, q: str, now: datetime) -> Any:
    stmt = (
        select(Driver)
        .options(joinedload(Driver.enterprise))
        .where(Driver.erased_at.is_(None), Driver.archived.is_(False))
    )
    soon = now + timedelta(days=crews.REMIND_DAYS)
    if shown == "listed":
        stmt = stmt.where(Driver.whitelist_until >= now)
    elif shown == "ending":
        stmt = stmt.where(Driver.whitelist_until.between(now, soon))
    elif shown == "unlisted":
        stmt = stmt.where(or_(Driver.whitelist_until.is_(None), Driver.whitelist_until < now))
    if q:
        by_name = boxes.starts_with(Driver.name, q)
        stmt = stmt.where(or_(by_name, Driver.id_number == q.upper()))
    order = (Driver.whitelist_until.is_(None), Driver.whitelist_until, Driver.id)
    return web.page_of(stmt.order_by(*order), PER_PAGE)


def _picked(form: Any) -> tuple[list[int], list[str]]:
    """The drivers ticked on the page and those named by resident ID number in the pasted
    list (a spreadsheet's column: one a line); and the numbers no driver has."""
    ids = [int(raw) for raw in form.getlist("driver_ids") if inputs.is_id(raw)]
    numbers = {n.strip().upper() for n in form.get("id_numbers", "").split() if n.strip()}
    unknown: set[str] = set()
    if numbers:
        rows = (
            web.db()
            .execute(
                select(Driver.id, Driver.id_number).where(
                    Driver.id_number.in_(numbers), Driver.erased_at.is_(None)
                )
            )
            .all()
        )
        ids.extend(driver_id for driver_id, _ in rows)
        unknown = numbers - {number for _, number in rows}
    return list(dict.fromkeys(ids)), sorted(unknown)


@bp.route("/crews", methods=["GET", "POST"])
@web.roles_required(Role.REVIEWER)
def crews_page() -> Any:
    now, form = web.now(), ActionForm()
    shown = request.args.get("shown", "all")
    shown = shown if shown in SHOWN else "all"
    q = boxes.typed(request.args.get("q"))
    kept, status = None, 200
    if request.method == "POST":
        back = url_for("crews.crews_page", shown=shown, q=q or None)
        if not form.validate_on_submit():
            flash(gettext("The form expired; try again."), "error")
            return redirect(back)
        if _act(request.form, now):
            return redirect(back)
        kept, status = request.form, 422  # shown again as it was sent, to be mended
    listed = _crew_rows(shown, q, now)
    page = render_template(
        "fleet/crews.html",
        rows=listed.rows,
        page=listed.page,
        has_next=listed.has_next,
        shown=shown,
        q=q,
        form=form,
        now=now,
        soon=now + timedelta(days=crews.REMIND_DAYS),
        default_until=(now + timedelta(days=14)).date(),
        kept=kept,
    )
    return page, status


def _act(form: Any, now: datetime) -> bool:
    """Put the picked drivers on the whitelist until a date, or take one off; False (the
    reasons flashed) when refused."""
    if form.get("action") == "unlist" and inputs.is_id(form.get("driver_id", "")):
        driver = crews.unlist(web.db(), int(form["driver_id"]), current_user, now=now)
        flash(gettext("%(name)s is off the whitelist.", name=driver.name), "success")
        return True
    ids, unknown = _picked(form)
    if unknown:
        numbers = ", ".join(mask_id_number(n) for n in unknown)
        flash(
            gettext(
                "No driver is registered with these ID numbers: %(numbers)s. Nothing was saved.",
                numbers=numbers,
            ),
            "error",
        )
        return False
    try:
        body = inputs.validate(
            WhitelistIn, {"valid_until": form.get("valid_until", ""), "note": form.get("note", "")}
        )
        done = _put(ids, current_user, body)
    except DomainError as exc:
        web.flash_refusal(exc)
        return False
    flash(
        ngettext(
            "%(num)d driver whitelisted until %(day)s.",
            "%(num)d drivers whitelisted until %(day)s.",
            len(done),
            day=format_date(body.valid_until, "medium"),
        ),
        "success",
    )
    return True
