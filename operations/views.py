"""GET /metrics (bearer METRICS_TOKEN) and GET /api/v1/ready (anyone)."""

from __future__ import annotations

import hmac
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST

from api.core import endpoint
from core import web
from operations import metrics, readiness

bp = Blueprint("operations", __name__)


@bp.get("/metrics")
def metrics_page() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)  # metrics are off
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        response = Response("metrics need the bearer token\n", 401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = metrics.exposition(web.db(), web.now())
    response = Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


@endpoint(
    "/ready",
    "GET",
    summary="Readiness: database, migrations at head, signing key, outbox worker heartbeat "
    "(and peers' sync age, shown)",
    tag="meta",
)
def ready(_user: None) -> Any:
    cfg = current_app.config
    result = readiness.check(
        current_app.extensions["engine"],
        Path(current_app.instance_path) / "keys",
        web.now(),
        worker_needed=cfg["SMS_BACKEND"] != "console",
        worker_within=timedelta(seconds=cfg["READY_WORKER_SECONDS"]),
        peers_within=timedelta(seconds=5 * cfg["FEDERATION_SYNC_SECONDS"]),
    )
    body = {"ready": result.ready, "checks": result.checks}
    response = current_app.json.response(body)
    response.status_code = 200 if result.ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
