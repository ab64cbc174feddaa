"""The JSON API's plumbing: blueprint, bearer/session auth, body parsing, problem+json,
pagination, and the registry the OpenAPI document is built from."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Generic, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import gettext
from flask_login import current_user
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from werkzeug.exceptions import UnsupportedMediaType

from core import inputs, web
from core.errors import N_, Forbidden, ValidationFailed

bp = Blueprint("api", __name__, url_prefix="/api/v1")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_MAY_NOT = N_("This key may not do this (it needs %(needed)s); a person may, signed in.")
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    errors: dict[str, list[str]] | None = None
    request_id: str | None = None


def problem_body(
    status: int, title: str, detail: str | None = None, errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """RFC 9457 problem details, as a dict (for one item of a batch answer, too)."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = {k: [gettext(m) for m in v] for k, v in errors.items()}
    return body


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    errors: dict[str, list[str]] | None = None,
    code: str | None = None,
) -> Response:
    body = problem_body(status, title, detail, errors)
    if code:
        body["code"] = code
    if (rid := web.request_id()) is not None:
        body["request_id"] = rid  # what to quote to support; it names the request's log line
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


class Unauthorized(Exception):
    """No valid credentials: 401 with a WWW-Authenticate challenge."""


@dataclass
class EndpointDoc:
    rule: str
    method: str
    summary: str
    roles: frozenset[str] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    query: dict[str, str] = field(default_factory=dict)
    tag: str = "api"
    signed: bool = False  # authorised by a signature in the request, not a user (401)


REGISTRY: list[EndpointDoc] = []


TokenLoader = Callable[[str], Any]
_token_loader: TokenLoader | None = None


def token_loader(load: TokenLoader) -> TokenLoader:
    """Register how a bearer token becomes a user (accounts/ does, as Flask-Login's
    user_loader), so the API's plumbing depends on no package above it."""
    global _token_loader
    _token_loader = load
    return load


SnapshotLoaders = tuple[TokenLoader, Callable[[Any], Any]]
_snapshot_loaders: SnapshotLoaders | None = None


def snapshot_loaders(of_token: TokenLoader, of_user: Callable[[Any], Any]) -> None:
    """Register how endpoints with `snapshot=True` get their caller: from a bearer token
    (through a cache, without the database), or as a snapshot of a signed-in user."""
    global _snapshot_loaders
    _snapshot_loaders = (of_token, of_user)


def api_user(*, snapshot: bool = False) -> Any:
    """The caller: a bearer token wins; otherwise the browser session, with CSRF on writes.

    With `snapshot`, a Caller bound to no session, and the request's session is left
    with no transaction open (so a scan's write transaction begins only when it writes)."""
    header = request.headers.get("Authorization", "")
    loaders = _snapshot_loaders if snapshot else (_token_loader, None)
    if loaders is None or loaders[0] is None:
        raise RuntimeError("no bearer token loader registered")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized()
        user = loaders[0](token.strip())
        if user is None:
            raise Unauthorized()
        g.api_token = token.strip()
        g.caller_id = user.id
        return user
    if current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            current_app.extensions["csrf"].protect()
        user = current_user._get_current_object()
        if loaders[1] is None:
            return user
        web.end_transaction()
        return loaders[1](user)
    raise Unauthorized()


# No request of ours nests more than a few levels; a body nested hundreds deep is an
# attack on the parser (and on anything that walks the result recursively).
MAX_JSON_DEPTH = 16


def json_body() -> Any:
    if request.mimetype != "application/json":
        raise UnsupportedMediaType()
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise MalformedJson(too_deep=True) from None
    if data is None:
        raise MalformedJson()
    if _depth(data) > MAX_JSON_DEPTH:
        raise MalformedJson(too_deep=True)
    return data


def _depth(data: Any) -> int:
    """How deeply arrays and objects nest in `data`, without recursion."""
    deepest, pending = 0, [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                break
            items = value.values() if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
    return deepest


class MalformedJson(Exception):
    """The body is not parseable JSON, or nests too deeply: 400."""

    def __init__(self, *, too_deep: bool = False) -> None:
        super().__init__()
        self.too_deep = too_deep


def endpoint(
    rule: str,
    method: str,
    *,
    summary: str,
    roles: Iterable[str] | None = None,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    query: dict[str, str] | None = None,
    tag: str = "api",
    snapshot: bool = False,
    signed: bool = False,
    scope: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a JSON endpoint and its documentation.

    `roles=None` means public. The view is called as view(user, [body,] **url_args) and
    returns a model instance, an ORM object (serialised through `response`), a dict, or a
    Response. With `snapshot` (the scan path) the user is an accounts.domain.Caller.
    A machine key may call a read if it holds `read`, and a write only if it holds the
    write's `scope` (accounts.domain.Scope): a write naming none is a person's alone.
    """
    allowed = None if roles is None else frozenset(roles)
    needed = scope or ("read" if method in SAFE_METHODS else None)
    REGISTRY.append(
        EndpointDoc(
            rule, method, summary, allowed, body, response, status, query or {}, tag, signed
        )
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def handler(**kwargs: Any) -> Any:
            user = None
            if allowed is not None:
                user = api_user(snapshot=snapshot)
                if user.role not in allowed:
                    raise Forbidden()
                held = g.get("key_scopes")
                if held is not None and needed not in held:
                    raise Forbidden(KEY_MAY_NOT, needed=needed or "—")
            args: list[Any] = [user]
            if body is not None:
                args.append(inputs.validate(body, json_body()))
            result = view(*args, **kwargs)
            if isinstance(result, Response):
                return result
            if response is not None and not isinstance(result, dict):
                result = response.model_validate(result).model_dump(mode="json")
            elif isinstance(result, BaseModel):
                result = result.model_dump(mode="json")
            out = jsonify(result)
            out.status_code = status
            return out

        handler.__name__ = f"{view.__name__}_{method.lower()}"
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=handler, methods=[method])
        return handler

    return decorate


def page_args() -> tuple[int, int]:
    errors: dict[str, list[str]] = {}
    values = {}
    for name, default, upper in (("page", 1, MAX_PAGE), ("per_page", 50, MAX_PER_PAGE)):
        raw = request.args.get(name, str(default))
        if not raw.isdigit() or not 1 <= int(raw) <= upper:
            errors[name] = [gettext("Enter a whole number from 1 to %(n)d.", n=upper)]
        else:
            values[name] = int(raw)
    if errors:
        raise ValidationFailed(errors)
    return values["page"], values["per_page"]


def paginate(
    stmt: Select[Any],
    out: type[BaseModel] | None = None,
    *,
    serialize: Callable[[Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A list response (docs/api.md, Conventions) for `stmt`, in the order the caller chose;
    rows become `out` models, or go through `serialize`."""
    page, per_page = page_args()
    session = web.db()
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "items": [
            serialize(row) if serialize else out.model_validate(row).model_dump(mode="json")
            for row in rows
        ],
        "total": total,
        "page": page,
        "per_page": per_page,
    }
