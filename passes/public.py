"""What anyone sees: the status page a phone camera opens (GET /P/<token>)."""

from __future__ import annotations

import base64
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime, gettext
from sqlalchemy import select

from accounts.domain import EnterpriseStatus
from core import ratelimit, responses, web
from core.errors import N_, Conflict
from core.words import WORDS
from passes import domain, events, pdf
from passes.domain import PassStatus, expired
from passes.models import Pass
from trust import keys, qr, tokens

bp = Blueprint("public", __name__)


def _allowed(page: str = "status") -> bool:
    """Within this address's per-minute limit for the page, counted across every node."""
    per_minute = current_app.config[f"{page.upper()}_PAGE_PER_MINUTE"]
    key, now = f"{page}:{web.client_ip()}", web.now()
    local = current_app.extensions.setdefault("page_counts", ratelimit.LocalCount())
    if local.over(key, per_minute, now):
        return False
    with current_app.extensions["sessions"]() as session:
        return ratelimit.hit(session, key, per_minute, now)


def status_of(p: Pass | None, reason: str | None, now: Any) -> tuple[bool, str]:
    """(valid?, reason code) for the public page; reasons match the scan API's codes."""
    if reason:
        return False, reason
    if p is None:
        return False, "not_found"
    if p.status == PassStatus.REVOKED:
        return False, "revoked"
    if p.status != PassStatus.APPROVED:
        return False, "not_approved"
    if p.enterprise.status == EnterpriseStatus.SUSPENDED:
        return False, "enterprise_suspended"
    if expired(p.valid_until, now):
        return False, "expired"
    if now < p.valid_from:
        return False, "not_yet_valid"
    return True, "valid"


def code_withheld(p: Pass, now: Any) -> str | None:
    """Why `p`'s code may not be shown, printed or served now (a state code), or None
    while the pass is live: approved, not expired (passes.domain.expired, as above) and
    its enterprise not suspended (the scan path refuses entry then:
    checkpoints.domain.status_problems). A pass not valid yet, or with all its trips used,
    keeps its code: the first becomes valid by itself, the second still leaves with it."""
    if p.status != PassStatus.APPROVED:
        return str(p.status)  # submitted (no code yet), rejected, cancelled, revoked
    if p.enterprise.status == EnterpriseStatus.SUSPENDED:
        return "enterprise_suspended"
    if expired(p.valid_until, now):
        return "expired"
    return None


class NoCode(Conflict):
    """409: the pass had, or might have had, a code and may not show it any more."""

    title = N_("This pass has no code to show")
    WHY = {
        "revoked": WORDS["reason"]["revoked"],
        "expired": WORDS["reason"]["expired"],
        "enterprise_suspended": WORDS["reason"]["enterprise_suspended"],
        "rejected": N_("Application rejected."),
        "cancelled": N_("Application cancelled."),
    }

    def __init__(self, state: str):
        super().__init__(self.WHY.get(state, WORDS["reason"]["not_approved"]))
        self.state = state


def refuse_dead_code(p: Pass, now: Any) -> None:
    """Raise NoCode for a pass that is no longer (or never will be) live; a pass still
    waiting for review passes through (it has no code yet: the caller says so)."""
    state = code_withheld(p, now)
    if state is not None and state != PassStatus.SUBMITTED:
        raise NoCode(state)


@bp.get("/P/<token>")
@bp.get("/p/<token>")
def status_page(token: str) -> Any:
    if not _allowed():
        abort(429)
    now = web.now()
    session = web.db()
    p, reason = None, None
    try:
        mine = tokens.Keyring(keys.trusted_keys(session, now), here=current_app.config["AREA_CODE"])
        claims = tokens.verify(token, mine, now)
    except tokens.TokenRejected as exc:
        reason = exc.reason
    else:
        p = session.get(Pass, claims.pass_id)
        if p is not None and p.vehicle.plate != claims.plate:
            p, reason = None, "bad_signature"
    valid, code = status_of(p, reason, now)
    response = current_app.make_response(
        render_template("passes/status.html", p=p, valid=valid, reason=code)
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# --- the driver's pass: what the SMS link opens -------------------------------------------


def driver_state(p: Pass, now: Any, progress: str | None) -> tuple[bool, str]:
    """(show the code?, state code): the public page's verdict, and used up once the last
    trip has closed."""
    valid, code = status_of(p, None, now)
    if valid and progress is None and p.trips_used >= p.max_trips:
        return False, "no_trips_left"
    return valid, code


def _data_uri(png: bytes) -> str:
    """Inline, so the page and its code are one response the phone keeps offline."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _driver_pass(key: str) -> Pass:
    if not _allowed("driver"):
        abort(429)
    stored = domain.normalise_driver_key(key)
    p = None
    if stored is not None:
        p = web.db().scalars(select(Pass).where(Pass.driver_key == stored)).one_or_none()
    if p is None:
        abort(404)
    return p


@bp.get("/d/<key>")
def driver_page(key: str) -> Any:
    p = _driver_pass(key)
    now = web.now()
    answers = events.trip_progress.send(p, session=web.db())
    progress = next((state for _receiver, state in answers if state), None)
    valid, state = driver_state(p, now, progress)
    response = current_app.make_response(
        render_template(
            "passes/driver.html",
            p=p,
            valid=valid,
            state=state,
            progress=progress,
            trips_left=max(0, p.max_trips - p.trips_used),
            qr_png=_data_uri(qr.png(p.code, scale=10)) if valid and p.code else None,
            checked_at=now,
            timezone=current_app.config["TIMEZONE"],
        )
    )
    # Kept by the page's service worker for offline use, never by shared caches.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/d/<key>/manifest.webmanifest")
def driver_manifest(key: str) -> Any:
    p = _driver_pass(key)
    return responses.web_manifest(
        name=gettext("Freight pass %(plate)s", plate=p.vehicle.plate),
        short_name=p.vehicle.plate,
        start=url_for("public.driver_page", key=p.driver_key),
        theme="#0b6b3a",
    )


@bp.get("/d/sw.js")
def driver_service_worker() -> Any:
    """Served from /d/ so that it may control every driver's page under /d/."""
    return responses.service_worker("driver-sw.js", "/d/")


def national_facts(p: Pass) -> list[tuple[str, str]]:
    """The national pass's lines: crew, route with its counties, validity, who issued it."""
    crew = p.driver.name_masked + (f"、{p.co_driver.name_masked}" if p.co_driver else "")
    origin = f"{p.origin} ({p.origin_area_code})" if p.origin_area_code else p.origin
    to = p.consignee
    destination = f"{to} ({p.destination_area_code})" if p.destination_area_code else to
    return [
        (gettext("Crew"), crew),
        (gettext("Origin"), origin),
        (gettext("Destination"), destination),
        (gettext("Cargo"), p.cargo),
        (gettext("Valid from"), format_datetime(p.valid_from, "short")),
        (gettext("Valid until"), format_datetime(p.valid_until, "short")),
        (gettext("Issued by"), current_app.config["JURISDICTION_NAME"]),
    ]


def pdf_response(p: Pass, size: str) -> Any:
    """The pass as a PDF (A4, phone-sized or the national layout), with the same code as
    every other copy; a pass that is not live has none (409, see refuse_dead_code)."""
    refuse_dead_code(p, web.now())
    if not p.code or size not in pdf.SIZES:
        abort(404)
    facts = [
        (gettext("Pass number"), p.number),
        (gettext("Driver"), p.driver.name_masked),
        (gettext("Destination"), p.consignee),
        (gettext("Valid from"), format_datetime(p.valid_from, "short")),
        (gettext("Valid until"), format_datetime(p.valid_until, "short")),
        (gettext("Trips"), gettext("%(used)d of %(max)d used", used=p.trips_used, max=p.max_trips)),
    ]
    if size == "national":
        body = pdf.render_national(
            code=p.code,
            plate=p.vehicle.plate,
            title=gettext("Transport Pass for Key Supplies"),
            number=p.number,
            facts=national_facts(p),
        )
    else:
        body = pdf.render(
            code=p.code,
            plate=p.vehicle.plate,
            title=gettext("Freight Pass"),
            facts=facts,
            size=size,
        )
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="pass-{p.number}-{size}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/d/<key>/pass.pdf")
def driver_pdf(key: str) -> Any:
    p = _driver_pass(key)
    now = web.now()
    valid, _state = driver_state(p, now, None)
    # Used up is still a record to keep; a dead pass is not. A 404, not the 409 of
    # pdf_response: on a 404 the page's service worker forgets the copy it kept.
    if code_withheld(p, now) or (not valid and p.trips_used < p.max_trips):
        abort(404)
    return pdf_response(p, request.args.get("size", "phone"))
