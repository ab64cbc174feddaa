"""The federation of a running app: this jurisdiction and its key (web and CLI edge)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from federation.keys import FederationKey
from federation.services import Jurisdiction


def here(app: Flask | None = None) -> Jurisdiction:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cfg = app.config
    return Jurisdiction(
        area_code=cfg["AREA_CODE"],
        name=cfg["JURISDICTION_NAME"],
        base_url=cfg["PUBLIC_BASE_URL"],
        audit_origin=app.extensions["audit_log"].origin,
    )


def key(app: Flask | None = None) -> FederationKey:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if "federation_key" not in app.extensions:
        app.extensions["federation_key"] = FederationKey(Path(app.instance_path) / "keys")
    return app.extensions["federation_key"]
