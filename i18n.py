"""Language selection: zh_CN by default, English second; the choice persists."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request
from flask_login import current_user
from sqlalchemy import update
from werkzeug.wrappers import Response

import web
from accounts.models import User

LOCALES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"
COOKIE = "lang"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


@bp.get("/lang/<code>")
def switch(code: str) -> Response:
    """Remember the language in a cookie and, when signed in, on the user."""
    target = web.safe_next(request.args.get("next"))
    response = redirect(target)
    if code not in LOCALES:
        return response
    response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    if current_user.is_authenticated:
        # A GET that writes: use a writing session, not the request's read-only one.
        with current_app.extensions["sessions"]() as session:
            session.execute(update(User).where(User.id == current_user.id).values(locale=code))
            session.commit()
    return response
