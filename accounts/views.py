"""Sign-in, sign-out, enterprise sign-up and the home page each role lands on."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from accounts import devices, services, throttle
from accounts.domain import Role, filing_block_reason
from accounts.forms import LoginForm, SignupForm
from accounts.schemas import EnterpriseSignup
from core import i18n, inputs, web
from core.errors import Throttled, ValidationFailed

bp = Blueprint("accounts", __name__)


@bp.get("/")
def home() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    enterprise = current_user.enterprise if current_user.role == Role.ENTERPRISE else None
    block = filing_block_reason(enterprise.status) if enterprise else None
    return render_template(
        "accounts/home.html",
        enterprise=enterprise,
        block_reason=block,
        waiting=services.waiting_counts(web.db(), current_user),
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    status = 200
    if not form.is_submitted() and (name := request.args.get("username", "").strip()):
        form.username.data = name[:64]  # carried over from sign-up
    if form.is_submitted():
        try:
            user = services.authenticate(
                web.db(),
                form.username.data or "",
                form.password.data or "",
                web.client_ip(),
                now=web.now(),
                limits=throttle.SignInLimits.from_config(current_app.config),
                password_method=current_app.config["PASSWORD_HASH_METHOD"],
            )
        except Throttled as exc:
            return _refused(exc, "accounts/login.html", form)
        except ValidationFailed as exc:
            form.show(exc)
            status = 401
        else:
            session.clear()  # a fresh session on sign-in: no fixation
            login_user(user)
            # The language chosen on the sign-in page is the latest choice: it is kept.
            chosen = request.cookies.get(i18n.COOKIE)
            if chosen in i18n.LOCALES and chosen != user.locale:
                services.remember_locale(web.db(), user.id, chosen)
            response = redirect(web.safe_next(request.args.get("next"), url_for("accounts.home")))
            if form.keep.data:
                token = devices.open_session(
                    web.db(),
                    user,
                    agent=request.user_agent.string,
                    now=web.now(),
                    hours=current_app.config["DEVICE_SESSION_HOURS"],
                )
                if token:
                    _set_device_cookie(response, token)
            return response
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Any:
    services.end_browser_sessions(web.db(), current_user.id)
    if kept := request.cookies.get(devices.COOKIE):
        devices.end(web.db(), kept, now=web.now())
    logout_user()
    session.clear()
    flash(gettext("You have signed out."), "info")
    response = redirect(url_for("accounts.login"))
    response.delete_cookie(devices.COOKIE, path="/")
    return response


def _refused(exc: Throttled, template: str, form: Any) -> Response:
    """The form again with why and for how long, 429 and Retry-After (seconds)."""
    form.form_errors.append(gettext(exc.detail, **exc.params) if exc.detail else gettext(exc.title))
    response = current_app.make_response((render_template(template, form=form), 429))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _set_device_cookie(response: Response, token: str) -> None:
    config = current_app.config
    response.set_cookie(
        devices.COOKIE,
        token,
        max_age=config["DEVICE_SESSION_HOURS"] * 3600,
        path="/",
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


@bp.before_app_request
def resume_kept_phone() -> None:
    """A phone kept signed in (accounts.devices) after its browser restarted: signed in
    again from its cookie; a cookie that no longer signs anyone in is dropped."""
    token = request.cookies.get(devices.COOKIE)
    if not token or request.path.startswith("/static/") or current_user.is_authenticated:
        return
    user = devices.resume(web.db(), token, agent=request.user_agent.string, now=web.now())
    if user is None:
        g.drop_device_cookie = True
        return
    session.clear()
    login_user(user)


@bp.after_app_request
def drop_dead_device_cookie(response: Response) -> Response:
    if g.get("drop_device_cookie"):
        response.delete_cookie(devices.COOKIE, path="/")
    return response


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    form = SignupForm()
    status = 200
    if form.is_submitted():
        try:
            data = inputs.validate(EnterpriseSignup, form.payload())
            services.sign_up_enterprise(
                web.db(),
                data,
                now=web.now(),
                password_method=current_app.config["PASSWORD_HASH_METHOD"],
                ip=web.client_ip(),
                limits=throttle.SignUpLimits.from_config(current_app.config),
            )
        except Throttled as exc:
            return _refused(exc, "accounts/signup.html", form)
        except ValidationFailed as exc:
            form.show(exc)
            status = 422
        else:
            flash(
                gettext(
                    "Your enterprise is registered and waits for approval. You can sign in now."
                ),
                "success",
            )
            return redirect(url_for("accounts.login", username=data.admin_username))
    return render_template("accounts/signup.html", form=form), status


@bp.get("/lang/<code>")
def switch_language(code: str) -> Response:
    """Remember the language in a cookie and, when signed in, on the user."""
    target = web.safe_next(request.args.get("next"))
    response = redirect(target)
    if code not in i18n.LOCALES:
        return response
    response.set_cookie(i18n.COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    if current_user.is_authenticated:
        # A GET that writes: use a writing session, not the request's read-only one.
        with current_app.extensions["sessions"]() as writer:
            services.remember_locale(writer, current_user.id, code)
    return response
