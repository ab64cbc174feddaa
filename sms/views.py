"""Twilio's delivery-report webhook (POST /sms/status)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import gettext

from api.core import problem
from core import web
from sms import outbox

bp = Blueprint("sms", __name__)


@bp.post("/sms/status")
def sms_status() -> Any:
    """Twilio's delivery report: signed with X-Twilio-Signature over our public URL."""
    from twilio.request_validator import RequestValidator

    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token:
        return problem(404, gettext("Not found"))
    # Behind a proxy the request URL differs from what Twilio signed: use the public URL.
    url = current_app.config["PUBLIC_BASE_URL"] + request.full_path.rstrip("?")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not RequestValidator(token).validate(url, request.form.to_dict(), signature):
        return problem(403, gettext("Forbidden"), gettext("The request signature is not valid."))
    sid = request.form.get("MessageSid", "")
    status = request.form.get("MessageStatus", "")
    if not sid or not status:
        return problem(422, gettext("Invalid input"))
    outbox.apply_report(web.db(), sid, status, request.form.get("ErrorCode"), now=web.now())
    return "", 204
