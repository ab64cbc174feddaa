"""The providers' delivery reports: Twilio's webhook (POST /sms/status) and Alibaba Cloud's
HTTP push (POST /sms/aliyun/report)."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, current_app, jsonify, request
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


@bp.post("/sms/aliyun/report")
def aliyun_report() -> Any:
    """Alibaba Cloud's delivery reports (SmsReport, pushed as a JSON array): the address
    configured there carries ALIYUN_SMS_REPORT_TOKEN, compared in constant time. Each
    report names its message by our OutId (the outbox's id) or its BizId; a report only
    moves a message forward. The provider wants `{"code": 0}` back, or it pushes again."""
    expected = current_app.config.get("ALIYUN_SMS_REPORT_TOKEN")
    if not expected:
        return problem(404, gettext("Not found"))
    if not hmac.compare_digest(request.args.get("token", "").encode(), expected.encode()):
        return problem(403, gettext("Forbidden"), gettext("The request signature is not valid."))
    reports = request.get_json(silent=True)
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        return problem(422, gettext("Invalid input"))
    for report in reports[:1000]:
        outcome = "delivered" if report.get("success") in (True, "true") else "undelivered"
        code = None if outcome == "delivered" else str(report.get("err_code") or "")[:48] or None
        outbox.apply_report_to(
            web.db(),
            out_id=str(report.get("out_id") or ""),
            provider_id=str(report.get("biz_id") or ""),
            reported=outcome,
            error_code=code,
            now=web.now(),
        )
    return jsonify({"code": 0, "msg": "成功"})
