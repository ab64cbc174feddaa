"""Checkpoint pages: the scanner, checkpoint administration, anomalies and trip timelines.

Over 300 lines on purpose: a trip's timeline page and its printable PDF share one reading
of the scans (`_timeline`), beside the anomalies they list and resolve."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts.domain import OVERSIGHT_ROLES, Role
from accounts.forms import ActionForm
from accounts.models import Enterprise, User
from accounts.scoping import get_scoped, scoped
from checkpoints import corrections, places, scanners, services
from checkpoints.domain import AnomalyKind
from checkpoints.models import Anomaly, Checkpoint, Scan, Trip, officer_checkpoint
from checkpoints.schemas import AnnulIn, CheckpointIn, NoteIn, PlaceIn
from core import inputs, responses, web, words
from core.errors import DomainError, ValidationFailed
from fleet.domain import provinces_from
from passes import pdf
from passes.forms import CATEGORIES
from passes.models import Pass

bp = Blueprint("checkpoints", __name__)


def scan_points(user: User) -> list[Checkpoint]:
    """Where this user may scan: an officer's gates, an enterprise's own site."""
    stmt = select(Checkpoint).where(Checkpoint.active.is_(True)).order_by(Checkpoint.code)
    if user.role == Role.OFFICER:
        mine = select(officer_checkpoint.c.checkpoint_id).where(
            officer_checkpoint.c.user_id == user.id
        )
        stmt = stmt.where(Checkpoint.id.in_(mine))
    else:
        stmt = stmt.where(Checkpoint.enterprise_id == user.enterprise_id)
    return list(web.db().scalars(stmt))


@bp.get("/scan")
@web.roles_required(Role.OFFICER, Role.ENTERPRISE)
def scanner() -> Any:
    allowed = scanners.may_scan(web.db(), current_user)
    page = render_template(
        "checkpoints/scan.html",
        points=scan_points(current_user) if allowed else [],
        may_scan=allowed,
        categories=CATEGORIES,
        action=ActionForm(),
        provinces=provinces_from(current_app.config["AREA_CODE"]),
    )
    response = current_app.make_response(page)
    # The decoder is WebAssembly: this page alone may compile it; still no inline script.
    response.headers["Content-Security-Policy"] = web.CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'"
    )
    return response


@bp.get("/scan/sw.js")
def scanner_service_worker() -> Any:
    """The scanner's service worker, served under /scan so that it may control /scan."""
    return responses.service_worker("scanner-sw.js", "/scan")


@bp.get("/scan/manifest.webmanifest")
def scanner_manifest() -> Any:
    return responses.web_manifest(
        name=gettext("Checkpoint scanner"),
        short_name=gettext("Scanner"),
        start=url_for("checkpoints.scanner"),
        theme="#0b3d91",
    )


@bp.post("/scan/site")
@web.roles_required(Role.ENTERPRISE)
def request_site() -> Any:
    try:
        services.request_site(web.db(), current_user, now=web.now())
    except ValidationFailed as exc:
        for messages in exc.errors.values():
            flash(" ".join(gettext(m) for m in messages), "error")
    return redirect(url_for("checkpoints.scanner"))


@bp.route("/admin/checkpoints", methods=["GET", "POST"])
@web.roles_required(Role.ADMIN)
def admin() -> Any:
    status = 200
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token" and v != ""}
        try:
            created = services.create_checkpoint(
                web.db(), inputs.validate(CheckpointIn, form), actor=current_user, now=web.now()
            )
        except ValidationFailed as exc:
            errors = inputs.field_errors(exc)
            status = 422
        else:
            flash(gettext("Checkpoint %(code)s created.", code=created.code), "success")
            return redirect(url_for("checkpoints.admin"))
    rows = (
        web.db()
        .scalars(
            select(Checkpoint)
            .options(selectinload(Checkpoint.enterprise), selectinload(Checkpoint.officers))
            .order_by(Checkpoint.kind, Checkpoint.code)
        )
        .all()
    )
    enterprises = (
        web.db()
        .execute(
            select(Enterprise.id, Enterprise.name)
            .where(Enterprise.status == "approved")
            .order_by(Enterprise.name)
        )
        .all()
    )
    return render_template(
        "checkpoints/admin.html",
        checkpoints=rows,
        errors=errors,
        enterprises=enterprises,
        form=request.form,
        action=ActionForm(),
    ), status


@bp.post("/admin/checkpoints/<int:checkpoint_id>/active")
@web.roles_required(Role.ADMIN)
def set_active(checkpoint_id: int) -> Any:
    active = request.form.get("active") == "1"
    services.set_checkpoint_active(
        web.db(), checkpoint_id, active, actor=current_user, now=web.now()
    )
    return redirect(url_for("checkpoints.admin"))


@bp.post("/admin/checkpoints/<int:checkpoint_id>/place")
@web.roles_required(Role.ADMIN)
def place(checkpoint_id: int) -> Any:
    """Where a checkpoint stands on the map (both empty: off the map)."""
    back = redirect(url_for("checkpoints.admin"))
    if not ActionForm().validate_on_submit():
        flash(gettext("The form expired; try again."), "error")
        return back
    raw = {k: request.form.get(k, "").strip() or None for k in ("latitude", "longitude")}
    try:
        data = inputs.validate(PlaceIn, raw)
        places.place_checkpoint(
            web.db(),
            checkpoint_id,
            data.latitude,
            data.longitude,
            actor=current_user,
            now=web.now(),
        )
    except ValidationFailed as exc:
        web.db().rollback()
        flash(" ".join(m for ms in inputs.field_errors(exc).values() for m in ms), "error")
    else:
        flash(gettext("The checkpoint's place is saved."), "success")
    return back


@bp.post("/admin/users/<int:user_id>/checkpoints")
@web.roles_required(Role.ADMIN)
def assign(user_id: int) -> Any:
    officer = web.db().get(User, user_id) or abort(404)
    ids = [int(v) for v in request.form.getlist("checkpoint_ids") if inputs.is_id(v)]
    try:
        services.assign_checkpoints(web.db(), officer, ids, actor=current_user, now=web.now())
    except ValidationFailed as exc:
        for messages in exc.errors.values():
            flash(" ".join(gettext(m) for m in messages), "error")
    else:
        flash(gettext("Checkpoints of %(name)s saved.", name=officer.username), "success")
    return redirect(url_for("admin.users", role="officer"))


@bp.get("/anomalies")
@web.roles_required(*OVERSIGHT_ROLES)
def anomalies() -> Any:
    show = request.args.get("show", "open")
    kind = request.args.get("kind", "")
    stmt = select(Anomaly).options(selectinload(Anomaly.trip).selectinload(Trip.pass_))
    if show == "open":
        stmt = stmt.where(Anomaly.resolved_at.is_(None))
    if kind in set(AnomalyKind):
        stmt = stmt.where(Anomaly.kind == kind)
    rows = web.db().scalars(stmt.order_by(Anomaly.detected_at.desc()).limit(200)).all()
    return render_template(
        "checkpoints/anomalies.html",
        anomalies=rows,
        show=show,
        kind=kind,
        kinds=list(AnomalyKind),
        action=ActionForm(),
    )


@bp.post("/anomalies/<int:anomaly_id>/resolve")
@web.roles_required(Role.SUPERVISOR)
def resolve(anomaly_id: int) -> Any:
    try:
        note = inputs.validate(NoteIn, {"note": request.form.get("note", "")}).note
        services.resolve_anomaly(web.db(), anomaly_id, note, actor=current_user, now=web.now())
    except ValidationFailed:
        flash(gettext("Write a note on how it was resolved (at least 2 characters)."), "error")
    except DomainError as exc:
        flash(gettext(exc.detail, **exc.params) if exc.detail else gettext(exc.title), "error")
    else:
        flash(gettext("Anomaly resolved."), "success")
    return redirect(web.safe_next(request.form.get("next"), url_for("checkpoints.anomalies")))


@bp.post("/anomalies/resolve")
@web.roles_required(Role.SUPERVISOR)
def resolve_many() -> Any:
    """The ticked anomalies resolved with one note (those resolved meanwhile are skipped)."""
    back = redirect(web.safe_next(request.form.get("next"), url_for("checkpoints.anomalies")))
    ids = [int(v) for v in request.form.getlist("ids") if inputs.is_id(v)][:200]
    if not ids:
        flash(gettext("Tick at least one anomaly."), "error")
        return back
    try:
        note = inputs.validate(NoteIn, {"note": request.form.get("note", "")}).note
    except ValidationFailed:
        flash(gettext("Write a note on how it was resolved (at least 2 characters)."), "error")
        return back
    done = services.resolve_anomalies(web.db(), ids, note, actor=current_user, now=web.now())
    flash(gettext("%(n)d anomalies resolved.", n=done), "success")
    if skipped := len(set(ids)) - done:
        flash(gettext("%(n)d were resolved already and were skipped.", n=skipped), "info")
    return back


@bp.post("/scans/<int:scan_pk>/annul")
@web.roles_required(Role.SUPERVISOR)
def annul(scan_pk: int) -> Any:
    """The supervisor annuls a scan from a trip's page: the trip is replayed without it."""
    session = web.db()
    target = session.get(Scan, scan_pk)
    if target is None:
        abort(404)
    fields = {"reason": request.form.get("reason", ""), "note": request.form.get("note") or None}
    try:
        body = inputs.validate(AnnulIn, fields)
        corrections.annul_scan(
            session, current_user, target.scan_id, body.reason, note=body.note, now=web.now()
        )
    except ValidationFailed as exc:
        said = " ".join(gettext(m) for ms in exc.errors.values() for m in ms)
        flash(said or gettext(exc.title), "error")
    except DomainError as exc:
        flash(gettext(exc.detail, **exc.params) if exc.detail else gettext(exc.title), "error")
    else:
        flash(gettext("Scan annulled: the trip is replayed without it."), "success")
    fallback = url_for("checkpoints.trip", trip_id=target.trip_id) if target.trip_id else "/"
    return redirect(web.safe_next(request.form.get("next"), fallback))


@bp.get("/trips/<int:trip_id>")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def trip(trip_id: int) -> Any:
    found = get_scoped(web.db(), Trip, trip_id, current_user)
    return render_template(
        "checkpoints/trip.html", trip=found, **_timeline(found.pass_id, found), action=ActionForm()
    )


@bp.get("/trips/<int:trip_id>/timeline.pdf")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def trip_pdf(trip_id: int) -> Any:
    """The trip's timeline to print and file: every scan (annulled ones marked), then its
    anomalies, in the jurisdiction's local time."""
    found = get_scoped(web.db(), Trip, trip_id, current_user)
    shown = _timeline(found.pass_id, found)
    moment = lambda at: format_datetime(at, "short")  # noqa: E731 - local shorthand
    lines = []
    for s in shown["scans"]:
        what = words.word("event", s.event) if s.event in EVENTS_SHOWN else gettext("Scan")
        verdict = gettext("allowed") if s.decision == "allow" else gettext("denied")
        struck = f" [{gettext('Annulled')}]" if s.id in shown["annulled"] else ""
        lines.append(f"{moment(s.scanned_at)}  {s.checkpoint.name}  {what} · {verdict}{struck}")
    for a in shown["anomalies"]:
        name = words.word("anomaly_kind", a.kind)
        lines.append(f"{moment(a.detected_at)}  {gettext('Anomaly: %(name)s', name=name)}")
    body = pdf.render_lines(
        title=gettext("Trip of %(plate)s", plate=found.plate),
        subtitle=gettext(
            "Pass %(number)s · printed %(at)s", number=found.pass_.number, at=moment(web.now())
        ),
        lines=lines,
    )
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="trip-{found.id}.pdf"'
    return response


EVENTS_SHOWN = ("entry", "arrival", "exit", "stop", "annul")


def _timeline(pass_id: int, only: Trip | None = None) -> dict[str, Any]:
    session = web.db()
    stmt = select(Scan).options(selectinload(Scan.checkpoint), selectinload(Scan.officer))
    stmt = stmt.where(Scan.trip_id == only.id) if only else stmt.where(Scan.pass_id == pass_id)
    scans = session.scalars(stmt.order_by(Scan.scanned_at, Scan.id)).all()
    annulled = {s.annuls_id for s in scans if s.annuls_id}
    anomalies = session.scalars(
        select(Anomaly)
        .where(Anomaly.trip_id == only.id if only else Anomaly.pass_id == pass_id)
        .order_by(Anomaly.detected_at)
    ).all()
    return {"scans": scans, "annulled": annulled, "anomalies": anomalies}


@bp.get("/passes/<int:pass_id>/trips")
@web.roles_required(*OVERSIGHT_ROLES, Role.ENTERPRISE)
def pass_trips(pass_id: int) -> Any:
    p = get_scoped(web.db(), Pass, pass_id, current_user)
    trips = (
        web.db()
        .scalars(
            scoped(select(Trip), Trip, current_user)
            .where(Trip.pass_id == p.id)
            .order_by(Trip.opened_at, Trip.id)
        )
        .all()
    )
    return render_template(
        "checkpoints/pass_trips.html", p=p, trips=trips, **_timeline(p.id), action=ActionForm()
    )
