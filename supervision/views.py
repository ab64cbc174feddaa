"""Supervision pages and their JSON: the live dashboard.

Over 300 lines on purpose: the oversight pages (dashboard, history, exports, statistics)
share their filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
)
from flask_babel import gettext
from flask_login import current_user
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from accounts.domain import OVERSIGHT_ROLES, Role
from accounts.scoping import get_scoped, scoped
from api.core import endpoint
from checkpoints import history
from checkpoints.domain import AnomalyKind, TripState
from checkpoints.models import Checkpoint, Trip
from core import audit, inputs, responses, web, words
from fleet.models import Driver, Vehicle
from passes.models import Pass
from supervision import dashboard, exports, statistics, statistics_charts

bp = Blueprint("supervision", __name__)
PER_PAGE = 50


class Dashboard(BaseModel):
    generated_at: str
    inside_now: int
    green_channel_inside: int
    today: dict[str, int]
    open_anomalies: dict[str, int]
    pending_applications: int
    oldest_pending_seconds: int | None
    sms_failures: int
    scans_per_gate_hourly: dict[str, Any]
    daily_trips: dict[str, Any]
    scanners_attention: list[dict[str, Any]]  # stale lists, or queues unsynced for an hour


def _figures() -> dict[str, Any]:
    cfg = current_app.config
    return dashboard.figures(
        web.db(),
        now=web.now(),
        tz=cfg["TIMEZONE"],
        cache=current_app.extensions["dashboard_windows"],
        list_max_age=timedelta(hours=cfg["SCANNER_LIST_MAX_AGE_HOURS"]),
    )


@endpoint(
    "/dashboard",
    "GET",
    summary="Live figures for supervisors",
    roles=OVERSIGHT_ROLES,
    response=Dashboard,
    tag="supervision",
)
def dashboard_figures(_user: object) -> dict[str, Any]:
    return _figures()


@bp.get("/dashboard")
@web.roles_required(*OVERSIGHT_ROLES)
def page() -> Any:
    figures = _figures()
    today = web.now().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date().isoformat()
    return render_template("supervision/dashboard.html", figures=figures, today=today)


@bp.get("/trips")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def trips() -> Any:
    """Trip history: search, sort, page; each row opens its timeline."""
    tz = current_app.config["TIMEZONE"]
    stmt, errors = inputs.filtered(lambda a: history.search(a, current_user, tz=tz), request.args)
    listed = web.page_of(
        stmt.options(
            selectinload(Trip.pass_),
            selectinload(Trip.entry_checkpoint),
            selectinload(Trip.exit_checkpoint),
        ),
        PER_PAGE,
    )
    gates = web.db().execute(
        select(Checkpoint.id, Checkpoint.code, Checkpoint.name).order_by(Checkpoint.code)
    )
    return render_template(
        "supervision/trips.html",
        trips=listed.rows,
        has_next=listed.has_next,
        page=listed.page,
        args=request.args,
        errors=errors,
        checkpoints=gates.all(),
        states=list(TripState),
        kinds=list(AnomalyKind),
        kinds_export=exports.KINDS,
    ), 422 if errors else 200


@bp.get("/exports/<kind>.<fmt>")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def export(kind: str, fmt: str) -> Any:
    if kind not in exports.KINDS or fmt not in ("csv", "xlsx"):
        abort(404)
    tz = current_app.config["TIMEZONE"]
    stmt = exports.query(kind, request.args, current_user, tz)  # 422 on a bad filter
    with current_app.extensions["sessions"]() as session:
        audit.record(
            session,
            actor_id=current_user.id,
            action=audit.Action(f"export.{kind}"),
            object_type="export",
            object_id=fmt,
            # The filters asked for, but not a person's name or phone: the audit log is
            # never purged, so it holds none (the driver filter is named, not its value).
            data={
                k: "***" if k == "driver" else v
                for k, v in request.args.items()
                if k in history.FILTERS or k in ("status", "open")
            },
            now=web.now(),
        )
        session.commit()
    header = [gettext(h) for h in exports.HEADERS[kind]]
    name = f"{kind}-{web.now().astimezone(ZoneInfo(tz)):%Y%m%d-%H%M}.{fmt}"
    return responses.table_download(
        fmt, header, lambda session: exports.rows(session, kind, stmt, tz), name, kind
    )


@endpoint(
    "/statistics",
    "GET",
    summary="Reported figures for a date range (an enterprise gets its own)",
    roles=OVERSIGHT_ROLES | {Role.ENTERPRISE},
    query={"from": "string", "to": "string"},
    tag="supervision",
)
def statistics_figures(user: Any) -> dict[str, Any]:
    return statistics.figures(
        web.db(), user, request.args, now=web.now(), tz=current_app.config["TIMEZONE"]
    )


@bp.get("/statistics")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def statistics_page() -> Any:
    tz = current_app.config["TIMEZONE"]
    figures, errors = inputs.filtered(
        lambda a: statistics.figures(web.db(), current_user, a, now=web.now(), tz=tz), request.args
    )
    charts = statistics_charts.charts(figures, gettext, lambda code: words.label("reason", code))
    return render_template(
        "supervision/statistics.html", s=figures, charts=charts, errors=errors, args=request.args
    ), 422 if errors else 200


@bp.get("/inside")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def inside() -> Any:
    """The vehicles inside the jurisdiction now (every open trip), longest inside first;
    searchable by plate, exportable like any trip search."""
    tz = current_app.config["TIMEZONE"]
    args = {"plate": request.args.get("plate", ""), "state": history.INSIDE, "sort": "oldest"}
    stmt, errors = inputs.filtered(lambda a: history.search(a, current_user, tz=tz), args)
    count = web.db().scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    listed = web.page_of(
        stmt.options(
            selectinload(Trip.pass_).selectinload(Pass.destination),
            selectinload(Trip.entry_checkpoint),
        ),
        PER_PAGE,
    )
    return render_template(
        "supervision/inside.html",
        trips=listed.rows,
        has_next=listed.has_next,
        page=listed.page,
        total=count,
        args=request.args,
        errors=errors,
        export_query=urlencode({k: v for k, v in args.items() if v}),
        now=web.now(),
    ), 422 if errors else 200


@bp.get("/statistics.<fmt>")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def statistics_export(fmt: str) -> Any:
    """The figures by day for the range shown and their totals, as CSV or XLSX (the columns
    of a province's report, supervision/statistics_charts.py); audited like every export."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    tz = current_app.config["TIMEZONE"]
    figures = statistics.figures(web.db(), current_user, request.args, now=web.now(), tz=tz)
    audit.record(
        web.db(),
        actor_id=current_user.id,
        action=audit.Action.EXPORT_STATISTICS,
        object_type="export",
        object_id=fmt,
        data={"from": figures["from"], "to": figures["to"]},
        now=web.now(),
    )
    web.db().commit()
    header = [gettext(h) for h in statistics_charts.EXPORT_HEADER]
    rows = statistics_charts.export_rows(figures, gettext)
    name = f"statistics-{figures['from']}-{figures['to']}.{fmt}"
    return responses.table_download(fmt, header, lambda _session: rows, name, "statistics")


@bp.get("/history/plate/<plate>")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def vehicle_history(plate: str) -> Any:
    """Every pass and trip of one plate, newest first (an enterprise: its own)."""
    plate = plate.strip().upper()
    passes = (
        web.db()
        .scalars(
            scoped(select(Pass), Pass, current_user)
            .join(Vehicle, Vehicle.id == Pass.vehicle_id)
            .where(Vehicle.plate == plate)
            .options(selectinload(Pass.driver), selectinload(Pass.destination))
            .order_by(Pass.created_at.desc(), Pass.id.desc())
            .limit(500)
        )
        .all()
    )
    trips = (
        web.db()
        .scalars(
            scoped(select(Trip), Trip, current_user)
            .where(Trip.plate == plate)
            .options(selectinload(Trip.pass_))
            .order_by(Trip.opened_at.desc())
            .limit(500)
        )
        .all()
    )
    if not passes and not trips:
        abort(404)
    return render_template(
        "supervision/subject_history.html",
        title=plate,
        passes=passes,
        trips=trips,
        refused=history.refused(web.db(), passes),
    )


@bp.get("/history/driver/<int:driver_id>")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def driver_history(driver_id: int) -> Any:
    """Every pass and trip one driver drove (or co-drove), newest first."""
    driver = get_scoped(web.db(), Driver, driver_id, current_user)
    passes = (
        web.db()
        .scalars(
            scoped(select(Pass), Pass, current_user)
            .where((Pass.driver_id == driver.id) | (Pass.co_driver_id == driver.id))
            .options(selectinload(Pass.vehicle), selectinload(Pass.destination))
            .order_by(Pass.created_at.desc(), Pass.id.desc())
            .limit(500)
        )
        .all()
    )
    trips = (
        web.db()
        .scalars(
            scoped(select(Trip), Trip, current_user)
            .where(Trip.pass_id.in_([p.id for p in passes]))
            .options(selectinload(Trip.pass_))
            .order_by(Trip.opened_at.desc())
        )
        .all()
    )
    return render_template(
        "supervision/subject_history.html",
        title=f"{driver.name} ({driver.id_number_masked})",
        passes=passes,
        trips=trips,
        refused=history.refused(web.db(), passes),
    )
