"""POST /api/v1/scans served beneath Flask's request machinery: the hot path.

Only the plain case is answered here: a bearer token, a JSON body that is a valid ScanIn,
a caller who may scan, and a scan that records. Anything else (no or another kind of
credential, a bad body, a role that may not scan, an error the decision raises before it
writes) goes on to the Flask view unchanged, which answers it as it always has. What the
Flask path adds to every answer is added here too: the request id (also on the audit
entry), the log line, the security headers, the metrics. checkpoints/api.py documents
the endpoint and stays its reference."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask

from checkpoints import scanning
from checkpoints.api import SCANNERS, _trust_cache
from checkpoints.schemas import ScanIn
from core import inputs, logs, metrics, web

PATH = "/api/v1/scans"
MAX_BODY = 16 * 1024  # a scan is a few hundred bytes; anything larger takes the long way


class ScanFastPath:
    def __init__(self, app: Flask, wsgi_app: Callable[..., Any]):
        self.app, self.wsgi_app = app, wsgi_app
        production = app.config["APP_ENV"] == "production"
        self.headers = web.security_headers(production)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        header = environ.get("HTTP_AUTHORIZATION", "")
        kind = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        length = environ.get("CONTENT_LENGTH") or ""
        if header[:7].lower() != "bearer " or kind != "application/json" or not length.isdigit():
            return self.wsgi_app(environ, start_response)
        if int(length) > MAX_BODY:
            return self.wsgi_app(environ, start_response)
        body = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)  # the long way reads it again
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if logs.REQUEST_ID_SHAPE.fullmatch(incoming) else uuid.uuid4().hex
        reset = logs.REQUEST_ID.set(rid)
        try:
            answered = self._answer(header[7:].strip(), body)
        finally:
            logs.REQUEST_ID.reset(reset)
        if answered is None:
            return self.wsgi_app(environ, start_response)
        caller_id, answer = answered
        elapsed = time.perf_counter() - started
        metrics.SCAN_SECONDS.observe(elapsed)
        logs.request_line(
            {
                "request_id": rid,
                "method": "POST",
                "path": PATH,
                "status": 200,
                "ms": round(elapsed * 1000, 1),
                "user_id": caller_id,
            }
        )
        payload = orjson.dumps(answer)
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("X-Request-Id", rid),
                *self.headers,
            ],
        )
        return [payload]

    def _answer(self, token: str, body: bytes) -> tuple[int, dict[str, Any]] | None:
        """(caller id, the answer), or None for the Flask view to answer instead."""
        app = self.app
        with app.app_context():
            if (ensure := app.extensions.get("ensure_sequencer")) is not None:
                ensure()
            now = web.now()
            read_sessions = app.extensions["read_sessions"]
            caller = app.extensions["token_cache"].caller(read_sessions, token, now=now)
            if caller is None or caller.role not in SCANNERS:
                return None
            try:
                parsed = orjson.loads(body)
                if not isinstance(parsed, dict) or _nested(parsed.values()):
                    return None
                inputs.reject_control(parsed)
                data = ScanIn.model_validate(parsed)
            except Exception:  # whatever is wrong with the body, the long way explains it
                return None
            if not data.code and data.number and data.number[:6] != app.config["AREA_CODE"]:
                return None  # another jurisdiction's number, typed: the long way asks it
            reads = read_sessions()  # the trust list's, when it is stale
            try:
                keys = _trust_cache().view(reads, now)
                reads.close()  # (a key unknown to the list opens it again, and reloads it)
                with app.extensions["engine"].connect() as connection:
                    sessions = app.extensions["sessions"]
                    recorded = scanning.record_on(
                        connection,
                        sessions,
                        caller,
                        data,
                        keys=keys,
                        clock=web.now,
                        settings=scanning.ScanSettings.from_settings(app.config),
                    )
            except Exception:
                # Raised before the scan was committed: the long way runs the same decision
                # again and answers with its problem (a scan that did commit, it answers
                # as a retry, by scan_id).
                return None
            finally:
                reads.close()
        answer = recorded.response
        if not recorded.retry:
            metrics.scanned(
                answer["decision"],
                answer["reasons"],
                answer["anomalies"],
                bool(answer.get("repeat_of")),
            )
        return caller.id, answer


def _nested(values: Iterable[Any]) -> bool:
    """A scan's fields are plain values; nested ones are for the long way to refuse."""
    return any(isinstance(value, dict | list) for value in values)
