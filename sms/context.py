"""Builds the SMS backend from the app's settings, once per app (the web edge)."""

from __future__ import annotations

from flask import current_app

from sms.backends import SmsBackend, make_backend


def sms_backend() -> SmsBackend:
    backend = current_app.extensions.get("sms_backend")
    if backend is None:
        backend = make_backend(current_app.config, current_app.extensions.get("twilio_http"))
        current_app.extensions["sms_backend"] = backend
    return backend


def status_callback_url() -> str | None:
    if current_app.config["SMS_BACKEND"] != "twilio":
        return None
    return current_app.config["PUBLIC_BASE_URL"] + "/sms/status"
