"""Request-scoped helpers shared by HTML views and the JSON API: session, clock, input."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from flask import (
    Response,
    abort,
    current_app,
    g,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.routing import IntegerConverter
from wtforms.fields.choices import SelectChoice

import logs
import tabular
from db import utcnow
from errors import N_, ValidationFailed
from privacy import mask_target

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


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


def error_message(error: Mapping[str, Any]) -> str:
    """One pydantic error in the user's language."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return gettext("This field is required.")
    if kind == "value_error" and "error" in ctx:
        return gettext(str(ctx["error"]))
    if kind == "string_too_short":
        return gettext("Enter at least %(n)d characters.", n=ctx.get("min_length", 1))
    if kind == "string_too_long":
        return gettext("Enter at most %(n)d characters.", n=ctx.get("max_length", 0))
    if kind == "too_long":
        return gettext("Too many items.")
    if kind == "extra_forbidden":
        return gettext("Unknown field.")
    if kind == "enum":
        return gettext("Choose one of the listed values.")
    if kind.startswith(("int_", "float_")):
        return gettext("Enter a whole number.")
    if kind.startswith("bool"):
        return gettext("Enter true or false.")
    if kind.startswith(("datetime", "timezone")):
        return gettext("Enter a date and time with its time zone offset.")
    return gettext("This value is not valid.")


MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL


def is_id(raw: str) -> bool:
    """A form or query value that can name a row."""
    return raw.isdigit() and 1 <= int(raw) <= MAX_ID


# C0 and C1 control characters (tabular.CONTROL): never text anyone typed. Tab and line
# breaks pass here; the input models refuse them too except in fields that hold lines.
CONTROL_MESSAGE = N_("Text must not contain control characters.")


def _control_fields(data: Any, path: str = "") -> list[str]:
    if isinstance(data, str):
        return [path or "body"] if tabular.CONTROL.search(data) else []
    if isinstance(data, Mapping):
        items: Any = data.items()
    elif isinstance(data, list | tuple):
        items = enumerate(data)
    else:
        return []
    found = []
    for key, value in items:
        found += _control_fields(value, f"{path}.{key}" if path else str(key))
    return found


def reject_control(data: Any) -> None:
    """Control characters in a body, a query or a form: a 422 naming each field, before
    anything reads them (PostgreSQL cannot store NUL; spreadsheets cannot hold the rest)."""
    if fields := _control_fields(data):
        raise ValidationFailed({field: [gettext(CONTROL_MESSAGE)] for field in fields})


def validate(model: type[M], data: Any) -> M:
    """Parse input into `model`, or raise ValidationFailed with translated field messages."""
    if not isinstance(data, Mapping):
        raise ValidationFailed.one("body", gettext("Send a JSON object."))
    reject_control(data)
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "body"
            errors.setdefault(field, []).append(error_message(error))
        raise ValidationFailed(errors) from None


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


class Form(FlaskForm):
    """A WTForms form whose rules live in a pydantic model: the form renders and carries
    CSRF; `payload()` feeds `validate`, and `show(exc)` puts field errors back on it."""

    NOT_DATA = frozenset({"csrf_token", "submit"})

    def payload(self) -> dict[str, Any]:
        """What the user typed, as strings: the pydantic model parses and judges it."""
        data: dict[str, Any] = {}
        for name, field in self._fields.items():
            if name in self.NOT_DATA:
                continue
            value = field.raw_data[0] if field.raw_data else field.data
            if isinstance(value, str):
                value = value.strip()
            if value not in ("", None):
                data[name] = value
        return data

    def show(self, exc: ValidationFailed) -> None:
        for name, messages in exc.errors.items():
            field = self._fields.get(name.split(".")[0])
            translated = [gettext(m) for m in messages]
            if field is None:
                self.form_errors.extend(translated)
            else:
                field.errors = [*field.errors, *translated]


class IdConverter(IntegerConverter):
    """`<int:...>` in a URL: a database id (an INTEGER column, at most MAX_ID); any other
    number is a 404 for that object (not a search for another route, and never an
    overflow in the database)."""

    def to_python(self, value: str) -> int:
        if not is_id(value):
            raise HTTPNotFound()
        return int(value)


def choices(pairs: Any, blank: str | None = None) -> list[SelectChoice]:
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(value), label) for value, label in pairs]


# --- installable pages: a web manifest and a service worker -------------------------------


def web_manifest(*, name: str, short_name: str, start: str, theme: str) -> Response:
    """A manifest that installs the page at `start` (its own scope) with the app's icons."""
    manifest = {
        "name": name,
        "short_name": short_name,
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": theme,
        "icons": [
            {
                "src": url_for("static", filename=f"img/icon-{n}.png"),
                "sizes": f"{n}x{n}",
                "type": "image/png",
            }
            for n in (192, 512)
        ],
    }
    response = current_app.response_class(
        json.dumps(manifest, ensure_ascii=False), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_download(
    fmt: str,
    header: list[str],
    rows_of: Callable[[Session], Iterable[list[Any]]],
    name: str,
    title: str,
) -> Response:
    """A list as an XLSX file or a streamed CSV; `rows_of(session)` yields its rows. The CSV
    reads on a session of its own, closed when the last row is sent (or the client goes
    away), and keeps the request's context so its words are in the user's language."""
    if fmt == "xlsx":
        spooled = tabular.xlsx_file(header, rows_of(db()), title)
        return send_file(spooled, mimetype=XLSX_TYPE, as_attachment=True, download_name=name)
    sessions = current_app.extensions["read_sessions"]

    def stream() -> Iterator[bytes]:
        with sessions() as session:
            yield from tabular.csv_stream(header, rows_of(session))

    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(stream_with_context(stream()), mimetype="text/csv", headers=disposition)


def service_worker(filename: str, scope: str) -> Response:
    """static/js/`filename`, served where it may control `scope` (read whole: it is small)."""
    script = Path(current_app.static_folder or "static") / "js" / filename
    response = current_app.response_class(script.read_bytes(), mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = scope
    response.headers["Cache-Control"] = "no-cache"
    return response


def field_errors(exc: ValidationFailed) -> dict[str, list[str]]:
    """A validation failure's messages, translated, by field (for a page)."""
    return {k: [gettext(m) for m in v] for k, v in exc.errors.items()}


def filtered(
    build: Callable[[Mapping[str, Any]], T], args: Mapping[str, Any]
) -> tuple[T, dict[str, list[str]]]:
    """`build(args)` for a page's filters; with bad filters, `build({})` and their messages,
    so the page still shows everything and says what was wrong."""
    try:
        return build(args), {}
    except ValidationFailed as exc:
        return build({}), field_errors(exc)
