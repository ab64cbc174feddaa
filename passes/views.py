"""Pass pages: the enterprise's dashboard and applications, the reviewer's queue and
decisions, the pass detail and its printable sheet.

Over 300 lines on purpose: the pass pages (list, filing form, detail, review queue, bulk
approval) share their forms and filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
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
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from accounts.domain import OVERSIGHT_ROLES, EnterpriseStatus, Role, filing_block_reason
from accounts.forms import ActionForm
from accounts.models import Enterprise
from accounts.scoping import get_scoped, scoped
from core import inputs, web
from core import search as boxes
from core.errors import N_, DomainError, OverlappingPass, Throttled, ValidationFailed
from core.inputs import choices
from fleet.models import Driver, Vehicle
from passes import context, filing, public, resends, search, services, stations
from passes.domain import PassStatus
from passes.forms import CATEGORIES, PassForm, ReasonForm
from passes.models import Pass
from passes.schemas import BulkIds, PassApplication, ReasonIn
from sms.domain import SmsStatus, sms_error_message
from sms.models import SmsMessage

bp = Blueprint("passes", __name__)
READERS = (*OVERSIGHT_ROLES, Role.ENTERPRISE)
PER_PAGE = 50


def _latest_sms(pass_ids: list[int]) -> dict[int, SmsMessage]:
    if not pass_ids:
        return {}
    newest = (
        select(func.max(SmsMessage.id))
        .where(SmsMessage.pass_id.in_(pass_ids))
        .group_by(SmsMessage.pass_id)
    )
    rows = web.db().scalars(select(SmsMessage).where(SmsMessage.id.in_(newest)))
    return {m.pass_id: m for m in rows}


@bp.get("/passes")
@web.roles_required(*READERS)
def index() -> Any:
    status = request.args.get("status", "")
    stmt = scoped(select(Pass), Pass, current_user).options(
        selectinload(Pass.vehicle), selectinload(Pass.driver), selectinload(Pass.destination)
    )
    counts_stmt = scoped(select(Pass.status, func.count()), Pass, current_user).group_by(
        Pass.status
    )
    counts = dict(web.db().execute(counts_stmt).all())
    if status in set(PassStatus):
        stmt = stmt.where(Pass.status == status)
    q = boxes.typed(request.args.get("q"))
    listed = web.page_of(search.matching(stmt, q).order_by(Pass.id.desc()), PER_PAGE)
    enterprise = current_user.enterprise if current_user.role == Role.ENTERPRISE else None
    return render_template(
        "passes/index.html",
        passes=listed.rows,
        has_next=listed.has_next,
        page=listed.page,
        counts=counts,
        status=status,
        q=q,
        sms=_latest_sms([p.id for p in listed.rows]),
        now=web.now(),
        categories=CATEGORIES,
        action=ActionForm(),
        block_reason=filing_block_reason(enterprise.status) if enterprise else None,
    )


def _pass_form(copy_from: Pass | None) -> PassForm:
    form = PassForm(obj=copy_from) if copy_from and not request.form else PassForm()
    session, own = web.db(), current_user.enterprise_id
    vehicles = session.execute(
        select(Vehicle.id, Vehicle.plate)
        .where(Vehicle.enterprise_id == own, Vehicle.archived.is_(False))
        .order_by(Vehicle.plate)
    ).all()
    drivers = session.execute(
        select(Driver.id, Driver.name)
        .where(Driver.enterprise_id == own, Driver.archived.is_(False))
        .order_by(Driver.name)
    ).all()
    destinations = session.execute(
        select(Enterprise.id, Enterprise.name)
        .where(Enterprise.status == EnterpriseStatus.APPROVED)
        .order_by(Enterprise.name)
    ).all()
    form.vehicle_id.choices = choices(vehicles, blank="—")
    form.driver_id.choices = choices(drivers, blank="—")
    form.co_driver_id.choices = choices(drivers, blank=gettext("None"))
    form.destination_enterprise_id.choices = choices(destinations, blank="—")
    form.station_ids.choices = [(str(i), name) for i, name in stations.named(session, active=True)]
    if not form.is_submitted():
        # A day from the current whole hour, where the jurisdiction is (valid as soon as it
        # is approved); the destination is chosen, never taken for the applicant itself.
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        start = web.now().astimezone(zone).replace(minute=0, second=0, microsecond=0)
        start = start.replace(tzinfo=None)
        form.valid_from.data, form.valid_until.data = start, start + timedelta(days=1)
    if copy_from and not form.is_submitted():
        # A copy keeps what repeats (vehicle, people, route, cargo), not the dates.
        for name in ("vehicle_id", "driver_id", "co_driver_id", "destination_enterprise_id"):
            value = getattr(copy_from, name)
            form[name].data = "" if value is None else str(value)
        form.station_ids.data = [str(i) for i in copy_from.station_ids or ()]
    return form


@bp.route("/passes/new", methods=["GET", "POST"])
@web.roles_required(Role.ENTERPRISE)
def new() -> Any:
    block = filing_block_reason(current_user.enterprise.status)
    copy_id = request.args.get("copy", "")
    copy_from = (
        get_scoped(web.db(), Pass, int(copy_id), current_user) if inputs.is_id(copy_id) else None
    )
    form = _pass_form(copy_from)
    status = 200
    overlap = None
    headers: dict[str, str] = {}
    if form.is_submitted() and not block:
        try:
            p = filing.submit_pass(
                web.db(),
                current_user,
                inputs.validate(PassApplication, form.payload()),
                destination_required=True,  # the form names none: no silent default
                now=web.now(),
                rules=context.filing_rules(),
                issuer=context.issuer(),
                limits=filing.FilingLimits.from_settings(current_app.config),
            )
        except ValidationFailed as exc:
            form.show(exc)
            status = 422
        except OverlappingPass as exc:
            overlap = exc
            form.form_errors.append(gettext(exc.detail or "", **exc.params))
            status = 409
        except DomainError as exc:  # the enterprise's limits, pass numbers used up
            form.form_errors.append(gettext(exc.detail or exc.title, **exc.params))
            status = exc.status
            if isinstance(exc, Throttled):
                headers["Retry-After"] = str(exc.retry_after)
        else:
            if p.status == PassStatus.APPROVED:
                flash(
                    gettext(
                        "Pass %(number)s approved automatically (whitelisted enterprise).",
                        number=p.number,
                    ),
                    "success",
                )
            else:
                flash(
                    gettext("Application %(number)s submitted for review.", number=p.number),
                    "success",
                )
                if current_user.enterprise.whitelisted:
                    flash(gettext(NOT_AUTOMATIC), "info")
            return redirect(url_for("passes.detail", pass_id=p.id))
    page = render_template(
        "passes/new.html", form=form, block_reason=block, copy_from=copy_from, overlap=overlap
    )
    return page, status, headers


NOT_AUTOMATIC = N_(
    "It was not approved automatically: the vehicle already has a pass for that time, or "
    "your enterprise's automatic approvals and SMS allowed for now are used up. A reviewer "
    "decides."
)


@bp.get("/passes/<int:pass_id>")
@web.roles_required(*READERS)
def detail(pass_id: int) -> Any:
    p = get_scoped(web.db(), Pass, pass_id, current_user)
    withheld = public.code_withheld(p, web.now())
    messages = (
        web.db()
        .scalars(
            # The driver's texts (the code, a resend, a revocation), not the consignee's
            # or the contact's that name the pass too.
            select(SmsMessage)
            .where(
                SmsMessage.pass_id == p.id,
                SmsMessage.dedupe_key.startswith(f"pass:{p.id}:", autoescape=True),
            )
            .order_by(SmsMessage.id.desc())
        )
        .all()
    )
    return render_template(
        "passes/detail.html",
        p=p,
        stations=stations.named(web.db(), p.station_ids),
        messages=messages,
        action=ActionForm(),
        reason=ReasonForm(),
        categories=CATEGORIES,
        now=web.now(),
        # the code, its print view, PDFs and images only while the pass is live
        withheld=withheld,
        no_code_why=public.NoCode.WHY.get(withheld or ""),
        resends=resends.resend_allowance(
            web.db(), p, now=web.now(), limits=context.resend_limits()
        ),
        error_message=sms_error_message,
        failed={SmsStatus.FAILED, SmsStatus.UNDELIVERED},
    )


@bp.get("/passes/<int:pass_id>/print")
@web.roles_required(*READERS)
def printable(pass_id: int) -> Any:
    p = get_scoped(web.db(), Pass, pass_id, current_user)
    public.refuse_dead_code(p, web.now())  # 409 with the pass's state: nothing to print
    if not p.code:
        abort(404)
    response = current_app.make_response(
        render_template("passes/print.html", p=p, categories=CATEGORIES)
    )
    response.headers["Cache-Control"] = "private, no-store"  # not printed again once dead
    return response


@bp.get("/passes/<int:pass_id>/pass.pdf")
@web.roles_required(*READERS)
def pass_pdf(pass_id: int) -> Any:
    p = get_scoped(web.db(), Pass, pass_id, current_user)
    return public.pdf_response(p, request.args.get("size", "a4"))


def _act(pass_id: int, do: Any, success: str, *, decided: bool = False) -> Any:
    """Do it and say how it went; a reviewer's decision then opens the next application
    waiting (the queue's order), so the queue is worked through without going back."""
    here = url_for("passes.detail", pass_id=pass_id)
    try:
        do()
    except DomainError as exc:
        web.flash_refusal(exc)
    else:
        flash(success, "success")
        if decided and not request.form.get("next"):
            return redirect(_next_waiting(pass_id))
    return redirect(web.safe_next(request.form.get("next"), here))


def _next_waiting(decided: int) -> str:
    following = web.db().scalar(
        select(Pass.id)
        .where(Pass.status == PassStatus.SUBMITTED)
        .order_by(Pass.priority, Pass.created_at, Pass.id)
        .limit(1)
    )
    if following is None:
        return url_for("passes.queue")
    number = web.db().scalar(select(Pass.number).where(Pass.id == decided))
    flash(gettext("Next waiting; %(number)s is in the passes list.", number=number), "info")
    return url_for("passes.detail", pass_id=following)


@bp.post("/passes/<int:pass_id>/cancel")
@web.roles_required(Role.ENTERPRISE)
def cancel(pass_id: int) -> Any:
    get_scoped(web.db(), Pass, pass_id, current_user)
    return _act(
        pass_id,
        lambda: services.cancel_pass(web.db(), pass_id, current_user, now=web.now()),
        gettext("Application cancelled."),
    )


@bp.post("/passes/<int:pass_id>/resend")
@web.roles_required(Role.ENTERPRISE, Role.REVIEWER)
def resend(pass_id: int) -> Any:
    p = get_scoped(web.db(), Pass, pass_id, current_user)
    return _act(
        pass_id,
        lambda: resends.resend_sms(
            web.db(),
            p,
            current_user,
            now=web.now(),
            issuer=context.issuer(),
            limits=context.resend_limits(),
        ),
        gettext("The SMS is queued again, to the driver's current number."),
    )


@bp.post("/passes/<int:pass_id>/approve")
@web.roles_required(Role.REVIEWER)
def approve(pass_id: int) -> Any:
    return _act(
        pass_id,
        lambda: services.approve_pass(
            web.db(), pass_id, current_user, now=web.now(), issuer=context.issuer()
        ),
        gettext("Approved; the QR code is issued and the SMS queued."),
        decided=True,
    )


def _with_reason(pass_id: int, decide: Any, success: str, *, decided: bool = False) -> Any:
    form = ReasonForm()
    try:
        reason = inputs.validate(ReasonIn, form.payload()).reason
    except ValidationFailed:
        flash(gettext("Give a reason (at least 2 characters)."), "error")
        return redirect(url_for("passes.detail", pass_id=pass_id))
    locale = context.issuer().sms_locale
    return _act(
        pass_id,
        lambda: decide(web.db(), pass_id, current_user, reason, now=web.now(), sms_locale=locale),
        success,
        decided=decided,
    )


@bp.post("/passes/<int:pass_id>/reject")
@web.roles_required(Role.REVIEWER)
def reject(pass_id: int) -> Any:
    return _with_reason(
        pass_id, services.reject_pass, gettext("Application rejected."), decided=True
    )


@bp.post("/passes/<int:pass_id>/revoke")
@web.roles_required(Role.REVIEWER)
def revoke(pass_id: int) -> Any:
    return _with_reason(
        pass_id, services.revoke_pass, gettext("Pass revoked; checkpoints will deny it.")
    )


@bp.get("/review")
@web.roles_required(Role.REVIEWER)
def queue() -> Any:
    """Waiting applications: the green channel first, then the longest waiting."""
    rows = (
        web.db()
        .scalars(
            select(Pass)
            .where(Pass.status == PassStatus.SUBMITTED)
            .options(
                selectinload(Pass.vehicle),
                selectinload(Pass.enterprise),
                selectinload(Pass.driver),
                selectinload(Pass.destination),
            )
            .order_by(Pass.priority, Pass.created_at, Pass.id)
            .limit(200)
        )
        .all()
    )
    total = web.db().scalar(select(func.count()).where(Pass.status == PassStatus.SUBMITTED))
    return render_template(
        "passes/queue.html",
        passes=rows,
        total=total,
        now=web.now(),
        categories=CATEGORIES,
        action=ActionForm(),
    )


def _bulk_reject(ids: list[int]) -> Any:
    back = redirect(url_for("passes.queue"))
    try:
        reason = inputs.validate(ReasonIn, {"reason": request.form.get("reason", "")}).reason
    except ValidationFailed:
        flash(gettext("Give a reason (at least 2 characters)."), "error")
        return back
    rejected, skipped = services.bulk_reject(
        web.db(), ids, current_user, reason, now=web.now(), sms_locale=context.issuer().sms_locale
    )
    flash(gettext("%(n)d rejected.", n=len(rejected)), "success")
    if skipped:
        flash(gettext("%(n)d were no longer waiting and were skipped.", n=len(skipped)), "info")
    return back


@bp.post("/review/bulk")
@web.roles_required(Role.REVIEWER)
def bulk() -> Any:
    ids = [int(v) for v in request.form.getlist("ids") if inputs.is_id(v)]
    try:
        data = inputs.validate(BulkIds, {"ids": ids})
    except ValidationFailed:
        flash(gettext("Select at least one application."), "error")
        return redirect(url_for("passes.queue"))
    if request.form.get("action") == "reject":
        return _bulk_reject(data.ids)
    approved, skipped = services.bulk_approve(
        web.db(), data.ids, current_user, now=web.now(), issuer=context.issuer()
    )
    flash(gettext("%(n)d approved.", n=len(approved)), "success")
    if skipped:
        flash(gettext("%(n)d were no longer waiting and were skipped.", n=len(skipped)), "info")
    return redirect(url_for("passes.queue"))
