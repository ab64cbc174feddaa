"""What anyone sees: the status page a phone camera opens (GET /P/<token>)."""

from __future__ import annotations

import time
from collections import deque
from threading import Lock
from typing import Any

from flask import Blueprint, abort, current_app, render_template

import web
from accounts.domain import EnterpriseStatus
from passes.domain import PassStatus, expired
from passes.models import Pass
from trust import keys, tokens

bp = Blueprint("public", __name__)


class SlidingWindow:
    """A per-process rate limit for anonymous pages (per address, per minute)."""

    def __init__(self, limit: int, seconds: float = 60.0):
        self.limit, self.seconds = limit, seconds
        self.hits: dict[str, deque[float]] = {}
        self.lock = Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            if len(self.hits) > 50_000:  # a flood of addresses: start over rather than grow
                self.hits.clear()
            window = self.hits.setdefault(key, deque())
            while window and window[0] <= now - self.seconds:
                window.popleft()
            if len(window) >= self.limit:
                return False
            window.append(now)
            return True


def _limiter() -> SlidingWindow:
    limiter = current_app.extensions.get("status_limiter")
    if limiter is None:
        limiter = SlidingWindow(current_app.config["STATUS_PAGE_PER_MINUTE"])
        current_app.extensions["status_limiter"] = limiter
    return limiter


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


@bp.get("/P/<token>")
@bp.get("/p/<token>")
def status_page(token: str) -> Any:
    if not _limiter().allow(web.client_ip()):
        abort(429)
    now = web.now()
    session = web.db()
    p, reason = None, None
    try:
        claims = tokens.verify(token, keys.trusted_keys(session, now), now)
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
