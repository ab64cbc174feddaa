"""Fleet import and export pages: templates, a checked preview, all-or-nothing import."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from accounts.domain import Role
from accounts.forms import ActionForm
from core import i18n, inputs, responses, tabular, web
from core.errors import ValidationFailed
from core.privacy import mask_mobile
from fleet import files, services
from fleet.forms import ImportForm
from fleet.models import Driver, Vehicle
from fleet.schemas import DriverIn, VehicleIn

bp = Blueprint("imports", __name__, url_prefix="/fleet")
PREVIEW_TTL = 3600
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": responses.XLSX_TYPE,
}


def _kind() -> str:
    kind = request.values.get("kind", "vehicles")
    if kind not in files.COLUMNS:
        abort(404)
    return kind


def _spool() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.json"):
        if old.stat().st_mtime < time.time() - PREVIEW_TTL:
            old.unlink(missing_ok=True)
    return path


def _file(data: bytes, name: str, fmt: str) -> Response:
    return Response(
        data,
        mimetype=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@bp.get("/import")
@web.roles_required(Role.ENTERPRISE)
def start() -> Any:
    services.check_may_import(current_user)
    return _start_page(ImportForm(), _kind())


def _start_page(form: ImportForm, kind: str) -> str:
    names = files.vehicle_type_names(i18n.select_locale())
    return render_template("fleet/import.html", form=form, kind=kind, vehicle_types=names)


@bp.get("/template.<fmt>")
@web.roles_required(Role.ENTERPRISE)
def template(fmt: str) -> Any:
    if fmt not in FORMATS:
        abort(404)
    kind, locale = _kind(), i18n.select_locale()
    header = files.header_row(kind, locale)
    example, title = [files.example_row(kind, locale)], files.sheet_title(kind, locale)
    data = (
        tabular.csv_bytes(header, example)
        if fmt == "csv"
        else files.with_type_choices(tabular.xlsx_bytes(header, example, title), kind, locale)
    )
    return _file(data, f"{kind}-template-{locale}", fmt)


@bp.post("/import")
@web.roles_required(Role.ENTERPRISE)
def check() -> Any:
    form, kind = ImportForm(), _kind()
    services.check_may_import(current_user)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.file.errors = [gettext("Choose a file to upload.")]
        return _start_page(form, kind), 422
    try:
        checked = files.check_file(kind, upload.read(), upload.filename, inputs.error_message)
    except files.FileProblem as exc:
        params = dict(exc.params)
        if exc.fields:  # column names in the user's language, as the template heads them
            locale = i18n.select_locale()
            named = [files.column_name(kind, f, locale) for f in exc.fields]
            params["columns"] = ("、" if locale.startswith("zh") else ", ").join(named)
        why = gettext(exc.message, **params)
        form.file.errors = [gettext("This file cannot be read: %(why)s", why=why)]
        return _start_page(form, kind), 422
    taken = services.registered(web.db(), current_user, kind)
    if kind == "vehicles":
        checked.refuse(taken, "plate", gettext("This plate is already registered."))
    else:
        checked.refuse(taken, "id_number", gettext("A driver with this ID number is registered."))
    token = None
    if checked.rows and not checked.bad:
        token = uuid.uuid4().hex
        (_spool() / f"{token}.json").write_text(
            json.dumps(
                {"user": current_user.id, "kind": kind, "rows": checked.rows}, ensure_ascii=False
            )
        )
    locale = i18n.select_locale()
    return render_template(
        "fleet/preview.html",
        checked=checked,
        token=token,
        kind=kind,
        action=ActionForm(),
        column_name=lambda field: files.column_name(kind, field, locale),
    ), 200 if token else 422


@bp.post("/import/<token>")
@web.roles_required(Role.ENTERPRISE)
def commit(token: str) -> Any:
    path = _spool() / f"{token}.json"
    if not token.isalnum() or not path.exists():
        flash(gettext("This preview has expired; upload the file again."), "error")
        return redirect(url_for("imports.start"))
    spooled = json.loads(path.read_text())
    if spooled["user"] != current_user.id:
        abort(404)
    kind = spooled["kind"]
    vehicles = [VehicleIn.model_validate(r) for r in spooled["rows"]] if kind == "vehicles" else []
    drivers = [DriverIn.model_validate(r) for r in spooled["rows"]] if kind == "drivers" else []
    try:
        added = services.import_rows(web.db(), current_user, vehicles, drivers, now=web.now())
    except ValidationFailed as exc:
        flash(
            gettext(
                "Nothing was imported: %(n)d rows clash with what is registered.", n=len(exc.errors)
            ),
            "error",
        )
        return redirect(url_for("imports.start", kind=kind))
    path.unlink(missing_ok=True)
    flash(gettext("%(n)d rows imported.", n=sum(added)), "success")
    return redirect(url_for("fleet.vehicles" if kind == "vehicles" else "fleet.drivers"))


@bp.get("/export.<fmt>")
@web.roles_required(Role.ENTERPRISE)
def export(fmt: str) -> Any:
    """The fleet as a spreadsheet; ID numbers and mobiles masked as everywhere else."""
    if fmt not in FORMATS:
        abort(404)
    kind, locale = _kind(), i18n.select_locale()
    own = current_user.enterprise_id
    if kind == "vehicles":
        rows = (
            [
                v.plate,
                files.VEHICLE_TYPE_NAMES[v.vehicle_type][0 if locale == "zh_CN" else 1],
                v.capacity_kg,
            ]
            for v in web.db().scalars(
                select(Vehicle).where(Vehicle.enterprise_id == own).order_by(Vehicle.plate)
            )
        )
    else:
        rows = (
            [d.name, d.id_number_masked, mask_mobile(d.phone)]
            for d in web.db().scalars(
                select(Driver).where(Driver.enterprise_id == own).order_by(Driver.name)
            )
        )
    header = files.header_row(kind, locale)
    data = (
        tabular.csv_bytes(header, rows)
        if fmt == "csv"
        else tabular.xlsx_bytes(header, rows, files.sheet_title(kind, locale))
    )
    return _file(data, kind, fmt)
