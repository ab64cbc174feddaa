"""Builds the pass workflow's collaborators from the app's settings (the web edge)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import current_app

from passes.filing import FilingRules
from passes.resends import ResendLimits
from passes.services import Issuer


def issuer() -> Issuer:
    cfg = current_app.config
    return Issuer(
        key_dir=Path(current_app.instance_path) / "keys",
        public_base_url=cfg["PUBLIC_BASE_URL"],
        area_code=cfg["AREA_CODE"],
        sms_locale=cfg["SMS_LOCALE"],
        timezone=cfg["TIMEZONE"],
        crews_listed=cfg["CREW_WHITELIST_REQUIRED"],
    )


def filing_rules() -> FilingRules:
    cfg = current_app.config
    return FilingRules(area_code=cfg["AREA_CODE"], max_span=timedelta(days=cfg["PASS_MAX_DAYS"]))


def resend_limits() -> ResendLimits:
    cfg = current_app.config
    return ResendLimits(cfg["SMS_RESENDS_PER_HOUR"], cfg["SMS_RESENDS_PER_DAY"])
