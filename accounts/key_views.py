"""Machine keys (accounts/keys.py): an enterprise (or an administrator, for the
jurisdiction) makes, lists and revokes the keys its systems call the API with; the JSON
API and the page."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user

from accounts import keys
from accounts.domain import KEY_SCOPES, Role, Scope
from accounts.forms import ActionForm
from accounts.models import User
from accounts.schemas import KeyCreated, KeyIn, KeyOut
from api.core import endpoint
from core import web
from core.errors import DomainError, ValidationFailed

KEY_OWNERS = frozenset({Role.ENTERPRISE, Role.ADMIN})
bp = Blueprint("machine_keys", __name__)


@endpoint(
    "/api-keys",
    "POST",
    summary="Make a machine key: named, scoped, shown once",
    roles=KEY_OWNERS,
    body=KeyIn,
    response=KeyCreated,
    status=201,
    tag="integrations",
)
def create_key(user: User, body: KeyIn) -> dict[str, Any]:
    raw, key = keys.create_key(web.db(), user, body.name, body.scopes, now=web.now())
    return {**KeyOut.model_validate(key).model_dump(mode="json"), "key": raw}


@endpoint(
    "/api-keys",
    "GET",
    summary="My enterprise's machine keys (the jurisdiction's, for an administrator)",
    roles=KEY_OWNERS,
    tag="integrations",
)
def list_keys(user: User) -> dict[str, Any]:
    found = keys.keys_of(web.db(), user)
    return {"items": [KeyOut.model_validate(k).model_dump(mode="json") for k in found]}


@endpoint(
    "/api-keys/<int:key_id>",
    "DELETE",
    summary="Revoke a machine key: it stops at once here, within seconds everywhere",
    roles=KEY_OWNERS,
    response=KeyOut,
    tag="integrations",
)
def revoke_key(user: User, key_id: int) -> Any:
    return keys.revoke_key(web.db(), user, key_id, now=web.now())


# --- the page ------------------------------------------------------------------------------


def _page(status: int = 200, **shown: Any) -> Any:
    """The page, with a new one-time mark for its form: a reload that posts the form again
    makes no second key (the mark was used)."""
    rows = keys.keys_of(web.db(), current_user)
    offered = [s for s in Scope if s in KEY_SCOPES[current_user.role]]
    session[ONCE] = once = secrets.token_urlsafe(16)
    page = render_template(
        "accounts/api_keys.html",
        rows=rows,
        offered=offered,
        form=ActionForm(),
        once=once,
        **{"chosen": None, **shown},
    )
    return page, status


ONCE = "key_form"


@bp.get("/integrations/keys")
@web.roles_required(*KEY_OWNERS)
def page() -> Any:
    return _page()


@bp.post("/integrations/keys")
@web.roles_required(*KEY_OWNERS)
def create_page() -> Any:
    """Make a key and show it this once (the page is not kept: Cache-Control no-store)."""
    if not ActionForm().validate_on_submit():
        flash(gettext("The form expired; try again."), "error")
        return redirect(url_for("machine_keys.page"))
    sent, expected = request.form.get("once"), session.pop(ONCE, None)
    if not sent or sent != expected:
        flash(gettext("That form was sent already: the key it made is in the list."), "error")
        return redirect(url_for("machine_keys.page"))
    name, scopes = request.form.get("name", ""), request.form.getlist("scopes")
    try:
        raw, key = keys.create_key(web.db(), current_user, name, scopes, now=web.now())
    except ValidationFailed as refused:
        messages = [gettext(m) for ms in refused.errors.values() for m in ms]
        return _page(422, errors=messages, name=name[:64], chosen=scopes)
    page, status = _page(201, made=key, raw=raw)
    return page, status, {"Cache-Control": "no-store"}


@bp.post("/integrations/keys/<int:key_id>/revoke")
@web.roles_required(*KEY_OWNERS)
def revoke_page(key_id: int) -> Any:
    back = redirect(url_for("machine_keys.page"))
    if not ActionForm().validate_on_submit():
        flash(gettext("The form expired; try again."), "error")
        return back
    try:
        key = keys.revoke_key(web.db(), current_user, key_id, now=web.now())
    except DomainError:
        flash(gettext("No such key."), "error")
        return back
    flash(
        gettext("Key “%(name)s” revoked: calls with it are refused from now on.", name=key.name),
        "success",
    )
    return back
