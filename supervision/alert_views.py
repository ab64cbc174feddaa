"""Alert settings (oversight) and the notification inbox (oversight and enterprises):
pages and JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from accounts.domain import OVERSIGHT_ROLES, Role
from accounts.forms import ActionForm
from accounts.models import User
from accounts.schemas import Id, Input
from api.core import Page, endpoint, paginate
from checkpoints.domain import AnomalyKind
from core import inputs, web
from core.errors import ValidationFailed
from supervision import alerts
from supervision.alerts import AlertSettingsIn

bp = Blueprint("alerts", __name__)
PER_PAGE = 30
# Who has an inbox: oversight, and enterprises (a truck bound for them entered, or is late).
INBOX_ROLES = (*OVERSIGHT_ROLES, Role.ENTERPRISE)


class AlertSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kinds: list[str]
    sms: bool
    phone: str | None
    daily_summary: bool


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    anomaly_id: int | None
    trip_id: int | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class MarkRead(Input):
    ids: list[Id] | None = Field(default=None, max_length=1000)


class Marked(BaseModel):
    marked: int


@endpoint(
    "/alerts",
    "GET",
    summary="My alert subscriptions",
    roles=OVERSIGHT_ROLES,
    response=AlertSettingsOut,
    tag="alerts",
)
def get_settings(user: User) -> Any:
    return alerts.settings_of(web.db(), user)


@endpoint(
    "/alerts",
    "PUT",
    summary="Subscribe to anomaly kinds (in-app, and SMS if asked) and the daily summary",
    roles=OVERSIGHT_ROLES,
    body=AlertSettingsIn,
    response=AlertSettingsOut,
    tag="alerts",
)
def put_settings(user: User, body: AlertSettingsIn) -> Any:
    return alerts.save_settings(web.db(), user, body, now=web.now())


@endpoint(
    "/notifications",
    "GET",
    summary="My notifications, newest first (?unread=true for unread only)",
    roles=INBOX_ROLES,
    response=Page[NotificationOut],
    query={"unread": "string", "page": "integer", "per_page": "integer"},
    tag="alerts",
)
def list_notifications(user: User) -> dict[str, Any]:
    return paginate(
        alerts.inbox(user, unread_only=request.args.get("unread") == "true"), NotificationOut
    )


@endpoint(
    "/notifications/read",
    "POST",
    summary="Mark notifications read (the given ids, or all)",
    roles=INBOX_ROLES,
    body=MarkRead,
    response=Marked,
    tag="alerts",
)
def read_notifications(user: User, body: MarkRead) -> dict[str, int]:
    return {"marked": alerts.mark_read(web.db(), user, body.ids, now=web.now())}


@bp.route("/alerts", methods=["GET", "POST"])
@web.roles_required(*OVERSIGHT_ROLES)
def settings_page() -> Any:
    form = ActionForm()
    errors: dict[str, list[str]] = {}
    settings = alerts.settings_of(web.db(), current_user)
    if request.method == "POST" and form.validate_on_submit():
        data = {
            "kinds": request.form.getlist("kinds"),
            "sms": request.form.get("sms") == "on",
            "phone": request.form.get("phone", "").strip() or None,
            "daily_summary": request.form.get("daily_summary") == "on",
        }
        try:
            alerts.save_settings(
                web.db(), current_user, inputs.validate(AlertSettingsIn, data), now=web.now()
            )
        except ValidationFailed as exc:
            errors = {k.split(".")[0]: [gettext(m) for m in v] for k, v in exc.errors.items()}
            settings = alerts.AlertSettings(**{**data, "kinds": data["kinds"]})
        else:
            flash(gettext("Alert settings saved."), "success")
            return redirect(url_for("alerts.settings_page"))
    return render_template(
        "supervision/alerts.html",
        settings=settings,
        kinds=[*AnomalyKind, *alerts.ScanAlert],
        form=form,
        errors=errors,
    )


@bp.get("/notifications")
@web.roles_required(*INBOX_ROLES)
def inbox_page() -> Any:
    listed = web.page_of(alerts.inbox(current_user), PER_PAGE)
    return render_template(
        "supervision/notifications.html",
        notifications=listed.rows,
        page=listed.page,
        more=listed.has_next,
        form=ActionForm(),
    )


@bp.post("/notifications/read")
@web.roles_required(*INBOX_ROLES)
def mark_read() -> Any:
    form = ActionForm()
    if form.validate_on_submit():
        marked = alerts.mark_read(web.db(), current_user, None, now=web.now())
        flash(gettext("%(n)d notifications marked read.", n=marked), "success")
    return redirect(url_for("alerts.inbox_page"))
