"""The request's helpers, shared by HTML views and the JSON API: its database session, its
clock, its id and log line, the headers every answer carries, page guards and paging.
Input checks are in core/inputs.py; files and installable pages in core/responses.py."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    request,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from core import logs
from core.db import utcnow
from core.errors import DomainError, ValidationFailed
from core.privacy import mask_target

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

F = TypeVar("F", bound=Callable[..., Any])


def db() -> Session:
    """The request's database session, opened on first use and closed at teardown.

    GET requests read; on SQLite their session does not take the write lock.
    """
    if "db_session" not in g:
        kind = "read_sessions" if request.method in ("GET", "HEAD") else "sessions"
        g.db_session = current_app.extensions[kind]()
    return g.db_session


def reads() -> Session:
    """A session for what a write reads before it writes. On SQLite a separate read-only
    session, so the database's write lock is taken only once writing starts; elsewhere
    the request's own session (no second connection)."""
    session = db()
    if session.get_bind().dialect.name != "sqlite" or request.method in ("GET", "HEAD"):
        return session
    if "read_session" not in g:
        g.read_session = current_app.extensions["read_sessions"]()
    return g.read_session


def end_transaction() -> None:
    """Commit whatever the request's session began (nothing to write yet: a user loaded),
    keeping its objects usable, so the next statement begins a new transaction."""
    session = g.get("db_session")
    if session is not None and session.in_transaction():
        session.commit()


def close_db(_exc: BaseException | None = None) -> None:
    if (reader := g.pop("read_session", None)) is not None:
        reader.close()
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


# A year, subdomains included: once a browser has seen the product over HTTPS it never
# tries plain HTTP again (browsers ignore the header on plain-HTTP responses).
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(production: bool) -> list[tuple[str, str]]:
    """The headers every answer carries (the Flask pages' and the scan path's alike)."""
    fixed = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(self), microphone=(), geolocation=()"),
    ]
    return [("Strict-Transport-Security", HSTS), *fixed] if production else fixed


# A path's decoded newline would start a forged line in a text log: written as \x0a.
CONTROL_IN_LOGS = re.compile(r"[\x00-\x1f\x7f]")


def begin_request() -> None:
    """Give the request its id (the proxy's, when it sent a sane one) and start its clock."""
    g.started = time.perf_counter()
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if logs.REQUEST_ID_SHAPE.fullmatch(incoming) else uuid.uuid4().hex
    g.request_id_reset = logs.REQUEST_ID.set(g.request_id)


def finish_request(response: Response) -> Response:
    """Name the request in its response and leave its one log line: no query values, no
    tokens in paths (masked), and the caller as an id only."""
    rid = g.get("request_id")
    if rid is None:  # a response made before begin_request ran
        return response
    response.headers["X-Request-Id"] = rid
    user = g.get("caller_id")
    if user is None and (login := g.get("_login_user")) is not None:
        user = getattr(login, "id", None)
    logs.request_line(
        {
            "request_id": rid,
            "method": request.method,
            "path": CONTROL_IN_LOGS.sub(lambda m: f"\\x{ord(m[0]):02x}", mask_target(request.path)),
            "status": response.status_code,
            "ms": round(elapsed() * 1000, 1),
            "user_id": user,
        }
    )
    return response


def end_request(_exc: BaseException | None = None) -> None:
    if (reset := g.pop("request_id_reset", None)) is not None:
        logs.REQUEST_ID.reset(reset)


def request_id() -> str | None:
    return g.get("request_id")


def elapsed() -> float:
    """Seconds since the request began."""
    return time.perf_counter() - g.get("started", time.perf_counter())


def now() -> datetime:
    """The current time (UTC); tests may install a fixed clock in app.extensions."""
    return current_app.extensions.get("clock", utcnow)()


def client_ip() -> str:
    return (request.remote_addr or "unknown")[:45]


def roles_required(*roles: str) -> Callable[[F], F]:
    """Page guard: sign-in required, then one of `roles`, else 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def page_number(limit: int = 100_000) -> int:
    """The `page` query argument of an HTML list: a positive whole number, else 1."""
    raw = request.args.get("page", "1")
    return min(int(raw), limit) if raw.isdigit() and int(raw) > 0 else 1


@dataclass(frozen=True)
class Paged:
    rows: list[Any]
    page: int
    has_next: bool


def page_of(stmt: Any, per_page: int) -> Paged:
    """The page of `stmt` an HTML list asks for (?page=), and whether another follows:
    one row more than a page is read instead of counting them all."""
    page = page_number()
    rows = list(db().scalars(stmt.limit(per_page + 1).offset((page - 1) * per_page)))
    return Paged(rows[:per_page], page, len(rows) > per_page)


# Browsers drop tabs and line breaks inside URLs and read a backslash as a slash, so
# `/\t/evil.example` and `/\\evil.example` both lead to another site: such targets are
# refused whole, not cleaned.
UNSAFE_IN_TARGET = re.compile(r"[\s\x00-\x1f\x7f-\x9f\\]")


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-origin path to return to, rebuilt from its parts; anything else is `default`."""
    if not target or UNSAFE_IN_TARGET.search(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    if parts.path.startswith("//"):
        return default
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def flash_refusal(exc: DomainError) -> None:
    """A page's form refused by the domain: each message flashed in the page's language."""
    said = exc.errors.values() if isinstance(exc, ValidationFailed) else [[exc.detail or exc.title]]
    for message in (m for messages in said for m in messages):
        flash(gettext(message, **exc.params), "error")
