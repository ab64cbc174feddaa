"""The peers page: this jurisdiction's fingerprint to give neighbours, the peers pinned
and their sync state (administrators and supervisors), pinning and removing (admins); and
a pass's journey across jurisdictions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from accounts.domain import Role
from accounts.forms import ActionForm
from core import web
from core.errors import DomainError, ValidationFailed
from federation import client, context, journey, services
from federation.forms import PeerForm
from federation.models import FederationEvent
from passes.models import Pass

bp = Blueprint("federation", __name__, url_prefix="/admin/federation")


def _owed(status: str) -> dict[str, int]:
    rows = web.db().execute(
        select(FederationEvent.peer_area_code, func.count())
        .where(FederationEvent.status == status)
        .group_by(FederationEvent.peer_area_code)
    )
    return {code: count for code, count in rows}


def _page(form: PeerForm, status: int = 200) -> Any:
    key = context.key()
    return (
        render_template(
            "admin/federation.html",
            here=context.here(),
            fingerprint=key.fingerprint(),
            peers=services.peers(web.db()),
            pending=_owed("pending"),
            refused=_owed("refused"),
            form=form,
            action=ActionForm(),
        ),
        status,
    )


@bp.get("")
@web.roles_required(Role.ADMIN, Role.SUPERVISOR)
def index() -> Any:
    return _page(PeerForm())


@bp.post("")
@web.roles_required(Role.ADMIN)
def add() -> Any:
    form = PeerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        peer = services.add_peer(
            web.db(),
            form.url.data or "",
            form.fingerprint.data or "",
            here=context.here(),
            fetch=client.fetch_configuration,
            actor_id=current_user.id,
            now=web.now(),
        )
    except ValidationFailed as exc:
        form.show(exc)
        return _page(form, 422)
    except DomainError as exc:
        form.form_errors.append(gettext(exc.detail or exc.title, **exc.params))
        return _page(form, exc.status)
    flash(gettext("%(name)s (%(code)s) is pinned.", name=peer.name, code=peer.area_code), "success")
    return redirect(url_for("federation.index"))


@bp.post("/<area_code>/remove")
@web.roles_required(Role.ADMIN)
def remove(area_code: str) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.remove_peer(web.db(), area_code, actor_id=current_user.id, now=web.now())
    except DomainError:
        abort(404)
    flash(gettext("The peer %(code)s is no longer trusted.", code=area_code), "success")
    return redirect(url_for("federation.index"))


def journey_steps(found: Pass) -> list[dict[str, Any]]:
    """The pass page's journey (a template global: the pass page is passes/', which knows
    nothing of federation)."""
    return journey.of(web.db(), found, context.here())
