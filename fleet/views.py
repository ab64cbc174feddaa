"""Enterprise pages for its fleet: vehicles and drivers (list, add, edit, archive)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from accounts.domain import Role
from accounts.forms import ActionForm
from accounts.scoping import get_scoped, scoped
from core import inputs, web
from core.errors import ValidationFailed
from fleet import crews, services
from fleet.forms import VEHICLE_TYPES, DriverForm, VehicleForm
from fleet.models import Driver, Vehicle
from fleet.schemas import DriverIn, VehicleIn

bp = Blueprint("fleet", __name__, url_prefix="/fleet")
PER_PAGE = 50


def _listing(model: type[Vehicle] | type[Driver], search_column: Any, order: Any) -> dict[str, Any]:
    archived = request.args.get("archived") == "1"
    q = request.args.get("q", "").strip()[:32]
    stmt = scoped(select(model), model, current_user).where(model.archived.is_(archived))
    if q:
        stmt = stmt.where(
            search_column.startswith(q.upper() if model is Vehicle else q, autoescape=True)
        )
    listed = web.page_of(stmt.order_by(order), PER_PAGE)
    return {
        "rows": listed.rows,
        "has_next": listed.has_next,
        "page": listed.page,
        "archived": archived,
        "q": q,
        "action": ActionForm(),
    }


def _save(form: Any, schema: Any, save: Any, success: str, target: str) -> Any:
    try:
        save(inputs.validate(schema, form.payload()))
    except ValidationFailed as exc:
        form.show(exc)
        return None
    flash(success, "success")
    return redirect(url_for(target))


@bp.route("/vehicles", methods=["GET", "POST"])
@web.roles_required(Role.ENTERPRISE)
def vehicles() -> Any:
    form = VehicleForm()
    if form.is_submitted():
        done = _save(
            form,
            VehicleIn,
            lambda d: services.add_vehicle(web.db(), current_user, d, now=web.now()),
            gettext("Vehicle registered."),
            "fleet.vehicles",
        )
        if done:
            return done
    listing = _listing(Vehicle, Vehicle.plate, Vehicle.plate)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("fleet/vehicles.html", form=form, types=VEHICLE_TYPES, **listing), status


@bp.route("/vehicles/<int:vehicle_id>", methods=["GET", "POST"])
@web.roles_required(Role.ENTERPRISE)
def vehicle(vehicle_id: int) -> Any:
    obj = get_scoped(web.db(), Vehicle, vehicle_id, current_user)
    form = VehicleForm(obj=obj)
    if form.is_submitted():
        done = _save(
            form,
            VehicleIn,
            lambda d: services.edit_vehicle(web.db(), current_user, obj, d, now=web.now()),
            gettext("Vehicle saved."),
            "fleet.vehicles",
        )
        if done:
            return done
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "fleet/vehicle.html", form=form, vehicle=obj, action=ActionForm()
    ), status


@bp.post("/vehicles/<int:vehicle_id>/archive")
@web.roles_required(Role.ENTERPRISE)
def archive_vehicle(vehicle_id: int) -> Any:
    obj = get_scoped(web.db(), Vehicle, vehicle_id, current_user)
    archived = request.form.get("archived") == "1"
    services.set_archived(web.db(), current_user, obj, archived, now=web.now())
    flash(
        gettext("%(plate)s archived.", plate=obj.plate)
        if archived
        else gettext("%(plate)s restored.", plate=obj.plate),
        "success",
    )
    return redirect(url_for("fleet.vehicles"))


@bp.route("/drivers", methods=["GET", "POST"])
@web.roles_required(Role.ENTERPRISE)
def drivers() -> Any:
    form = DriverForm()
    if form.is_submitted():
        done = _save(
            form,
            DriverIn,
            lambda d: services.add_driver(web.db(), current_user, d, now=web.now()),
            gettext("Driver registered."),
            "fleet.drivers",
        )
        if done:
            return done
    listing = _listing(Driver, Driver.name, Driver.name)
    status = 422 if form.errors or form.form_errors else 200
    now = web.now()
    soon = now + timedelta(days=crews.REMIND_DAYS)
    page = render_template(
        "fleet/drivers.html",
        form=form,
        now=now,
        soon=soon,
        ending=crews.ending(web.db(), current_user.enterprise_id, now, soon),
        remind_days=crews.REMIND_DAYS,
        **listing,
    )
    return page, status


@bp.route("/drivers/<int:driver_id>", methods=["GET", "POST"])
@web.roles_required(Role.ENTERPRISE)
def driver(driver_id: int) -> Any:
    """The driver's own detail page: the one place the full ID number is shown."""
    obj = get_scoped(web.db(), Driver, driver_id, current_user)
    form = DriverForm(obj=obj)
    if form.is_submitted():
        done = _save(
            form,
            DriverIn,
            lambda d: services.edit_driver(web.db(), current_user, obj, d, now=web.now()),
            gettext("Driver saved."),
            "fleet.drivers",
        )
        if done:
            return done
    status = 422 if form.errors or form.form_errors else 200
    return render_template("fleet/driver.html", form=form, driver=obj, action=ActionForm()), status


@bp.post("/drivers/<int:driver_id>/archive")
@web.roles_required(Role.ENTERPRISE)
def archive_driver(driver_id: int) -> Any:
    obj = get_scoped(web.db(), Driver, driver_id, current_user)
    archived = request.form.get("archived") == "1"
    services.set_archived(web.db(), current_user, obj, archived, now=web.now())
    flash(
        gettext("%(name)s archived.", name=obj.name)
        if archived
        else gettext("%(name)s restored.", name=obj.name),
        "success",
    )
    return redirect(url_for("fleet.drivers"))
