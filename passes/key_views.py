"""The pass-signing keys for admins: which key signs, which retired keys stay published
and until when, and rotation (confirmed, audited). Lives with the pass workflow because
only it knows when the last pass a key signed expires (see passes/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from accounts.domain import Role
from accounts.forms import ActionForm
from core import web
from passes import services
from trust import keys
from trust.models import SigningKey

bp = Blueprint("keys", __name__, url_prefix="/admin/keys")


def _state(key: SigningKey, now: Any) -> str:
    if key.retired_at is None:
        return "signing"
    return "published" if key.not_after is not None and key.not_after > now else "expired"


@bp.get("")
@web.roles_required(Role.ADMIN)
def index() -> Any:
    session, now = web.db(), web.now()
    rows = []
    for key in session.scalars(select(SigningKey).order_by(SigningKey.kid.desc())):
        state = _state(key, now)
        # A signing key retires when rotated; it is then trusted until its last pass expires.
        until = services.last_expiry_signed_by(session, key.kid) if state == "signing" else None
        rows.append({"key": key, "state": state, "last_pass_expires": until})
    return render_template("admin/keys.html", rows=rows, action=ActionForm())


@bp.post("/rotate")
@web.roles_required(Role.ADMIN)
def rotate() -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    session = web.db()
    signer = keys.rotate(
        session,
        Path(current_app.instance_path) / "keys",
        web.now(),
        current_user.id,
        signed_until=lambda kid: services.last_expiry_signed_by(session, kid),
    )
    flash(gettext("Key %(kid)s now signs new passes.", kid=signer.kid), "success")
    return redirect(url_for("keys.index"))
