"""Supervision pages and their JSON: the live dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from pydantic import BaseModel

import web
from accounts.domain import OVERSIGHT_ROLES
from api.core import endpoint
from supervision import dashboard

bp = Blueprint("supervision", __name__)


class Dashboard(BaseModel):
    generated_at: str
    inside_now: int
    green_channel_inside: int
    today: dict[str, int]
    open_anomalies: dict[str, int]
    pending_applications: int
    oldest_pending_seconds: int | None
    sms_failures: int
    scans_per_gate_hourly: dict[str, Any]
    daily_trips: dict[str, Any]


@endpoint(
    "/dashboard",
    "GET",
    summary="Live figures for supervisors",
    roles=OVERSIGHT_ROLES,
    response=Dashboard,
    tag="supervision",
)
def dashboard_figures(_user: object) -> dict[str, Any]:
    return dashboard.figures(web.db(), now=web.now(), tz=current_app.config["TIMEZONE"])


@bp.get("/dashboard")
@web.roles_required(*OVERSIGHT_ROLES)
def page() -> Any:
    figures = dashboard.figures(web.db(), now=web.now(), tz=current_app.config["TIMEZONE"])
    return render_template("supervision/dashboard.html", figures=figures)
