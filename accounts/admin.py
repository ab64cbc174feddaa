"""Admin pages: users (create, deactivate, reset password, revoke tokens) and enterprises
(filter, approve, suspend, whitelist)."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from accounts import devices, events, services
from accounts.domain import EnterpriseStatus, Role, normalise_mobile
from accounts.forms import ROLE_LABELS, ActionForm, PasswordForm, UserForm
from accounts.models import Enterprise, User
from accounts.schemas import PasswordReset, SignUpRejection, UserCreate
from core import inputs, search, web
from core.errors import InvalidTransition, ValidationFailed

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50


def _user_form() -> UserForm:
    form = UserForm()
    enterprises = (
        web.db().execute(select(Enterprise.id, Enterprise.name).order_by(Enterprise.name)).all()
    )
    form.enterprise_id.choices = [
        SelectChoice("", "—"),
        *(SelectChoice(str(i), name) for i, name in enterprises),
    ]
    return form


@bp.get("/")
@web.roles_required(Role.ADMIN)
def index() -> Any:
    return redirect(url_for("admin.users"))


@bp.route("/users", methods=["GET", "POST"])
@web.roles_required(Role.ADMIN)
def users() -> Any:
    form = _user_form()
    status = 200
    if form.is_submitted():
        try:
            data = inputs.validate(UserCreate, form.payload())
            user = services.create_user(
                web.db(),
                data,
                actor=current_user,
                now=web.now(),
                password_method=current_app.config["PASSWORD_HASH_METHOD"],
            )
        except ValidationFailed as exc:
            form.show(exc)
            status = 422
        else:
            flash(gettext("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    role = request.args.get("role", "")
    stmt = select(User).where(User.machine.is_(False)).order_by(User.username)
    if role in set(Role):
        stmt = stmt.where(User.role == role)
    listed = web.page_of(stmt, PER_PAGE)
    users = listed.rows
    gates: list[Any] = []
    assigned: dict[int, set[int]] = {}
    for _receiver, (places, chosen) in events.officer_places.send(web.db(), users=users):
        gates += places
        assigned.update(chosen)
    return render_template(
        "admin/users.html",
        gates=gates,
        assigned=assigned,
        form=form,
        users=users,
        role=role,
        page=listed.page,
        has_next=listed.has_next,
        role_labels=ROLE_LABELS,
        kept=devices.kept(web.db(), (u.id for u in users), now=web.now()),
        action=ActionForm(),
    ), status


@bp.post("/users/<int:user_id>/active")
@web.roles_required(Role.ADMIN)
def set_active(user_id: int) -> Any:
    active = request.form.get("active") == "1"
    try:
        user = services.set_user_active(
            web.db(), user_id, active, actor=current_user, now=web.now()
        )
    except ValidationFailed as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(gettext(message), "error")
        return redirect(url_for("admin.users"))
    if active:
        flash(gettext("%(name)s can sign in again.", name=user.username), "success")
    else:
        flash(
            gettext(
                "%(name)s is deactivated; their sessions and tokens have ended.", name=user.username
            ),
            "success",
        )
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@web.roles_required(Role.ADMIN)
def reset_password(user_id: int) -> Any:
    user = web.db().get(User, user_id) or abort(404)
    form = PasswordForm()
    status = 200
    if form.is_submitted():
        try:
            data = inputs.validate(PasswordReset, form.payload())
            services.reset_password(
                web.db(),
                user_id,
                data.password,
                actor=current_user,
                now=web.now(),
                method=current_app.config["PASSWORD_HASH_METHOD"],
            )
        except ValidationFailed as exc:
            form.show(exc)
            status = 422
        else:
            flash(gettext("New password set for %(name)s.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/password.html", form=form, user=user), status


@bp.post("/users/<int:user_id>/revoke-tokens")
@web.roles_required(Role.ADMIN)
def revoke_tokens(user_id: int) -> Any:
    count = services.revoke_user_tokens(web.db(), user_id, actor=current_user, now=web.now())
    flash(gettext("%(n)d API tokens revoked.", n=count), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/revoke-devices")
@web.roles_required(Role.ADMIN)
def revoke_devices(user_id: int) -> Any:
    count = devices.revoke_for_admin(web.db(), user_id, actor=current_user, now=web.now())
    flash(gettext("Signed out of %(n)d phones kept signed in.", n=count), "success")
    return redirect(url_for("admin.users"))


@bp.get("/enterprises")
@web.roles_required(Role.ADMIN, Role.REVIEWER)
def enterprises() -> Any:
    status = request.args.get("status", "")
    query = request.args.get("q", "").strip()[:100]
    stmt = select(Enterprise).order_by(Enterprise.created_at.desc(), Enterprise.id.desc())
    if status in set(EnterpriseStatus):
        stmt = stmt.where(Enterprise.status == status)
    else:  # a peer's stand-in is not an enterprise to vet
        stmt = stmt.where(Enterprise.status != EnterpriseStatus.PEER)
    if query:
        stmt = stmt.where(_typed_into_search(query))
    listed = web.page_of(stmt, PER_PAGE)
    return render_template(
        "admin/enterprises.html",
        enterprises=listed.rows,
        status=status,
        q=query,
        page=listed.page,
        has_next=listed.has_next,
        action=ActionForm(),
    )


def _typed_into_search(query: str) -> Any:
    """A part of the name, the credit code or its first characters, the contact's name or
    mobile in any common form: what an admin has at hand when the enterprise phones."""
    found = Enterprise.name.contains(query, autoescape=True) | (Enterprise.contact_name == query)
    if len(query) >= 4:
        found |= search.starts_with(Enterprise.credit_code, query.upper())
    with contextlib.suppress(ValueError):  # unless it is no mobile number
        found |= Enterprise.contact_phone == normalise_mobile(query)
    return found


@bp.post("/enterprises/<int:enterprise_id>/status")
@web.roles_required(Role.ADMIN)
def enterprise_status(enterprise_id: int) -> Any:
    target = request.form.get("status", "")
    if target not in set(EnterpriseStatus):
        abort(400)
    back = web.safe_next(request.form.get("next"), url_for("admin.enterprises"))
    try:
        reason = ""
        if target == EnterpriseStatus.REJECTED:
            reason = inputs.validate(SignUpRejection, {"reason": request.form.get("reason", "")})
            reason = reason.reason
        enterprise = services.set_enterprise_status(
            web.db(),
            enterprise_id,
            target,
            actor=current_user,
            now=web.now(),
            sms_locale=current_app.config["SMS_LOCALE"],
            reason=reason,
        )
    except InvalidTransition:
        flash(gettext("This enterprise cannot change to that status now."), "error")
        return redirect(back)
    except ValidationFailed as exc:
        for messages in inputs.field_errors(exc).values():
            for message in messages:
                flash(message, "error")
        return redirect(back)
    said = {
        EnterpriseStatus.APPROVED: gettext("%(name)s is approved.", name=enterprise.name),
        EnterpriseStatus.SUSPENDED: gettext("%(name)s is suspended.", name=enterprise.name),
        EnterpriseStatus.REJECTED: gettext(
            "The sign-up of %(name)s is not approved; its contact is told why by SMS.",
            name=enterprise.name,
        ),
    }
    flash(said.get(EnterpriseStatus(target), ""), "success")
    return redirect(back)


@bp.post("/enterprises/<int:enterprise_id>/whitelist")
@web.roles_required(Role.ADMIN, Role.REVIEWER)
def enterprise_whitelist(enterprise_id: int) -> Any:
    on = request.form.get("whitelisted") == "1"
    enterprise = services.set_whitelisted(
        web.db(), enterprise_id, on, actor=current_user, now=web.now()
    )
    if on:
        flash(
            gettext(
                "%(name)s is whitelisted: its applications are approved automatically.",
                name=enterprise.name,
            ),
            "success",
        )
    else:
        flash(gettext("%(name)s is no longer whitelisted.", name=enterprise.name), "success")
    return redirect(web.safe_next(request.form.get("next"), url_for("admin.enterprises")))
