"""What reaches the request logs: the request line with its secrets masked, under the
development server (werkzeug) and under gunicorn (`gunicorn.conf.py` names the class)."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from core.privacy import mask_target

# `"GET /P/TOKEN?x=1 HTTP/1.1"` inside a log line, maybe coloured by the dev server.
REQUEST_LINE = re.compile(r'"((?:\x1b\[[\d;]*m)?[A-Z]+ )(\S+)( HTTP/[\d.]+(?:\x1b\[[\d;]*m)?)"')


def mask_request_lines(text: str) -> str:
    return REQUEST_LINE.sub(lambda m: f'"{m[1]}{mask_target(m[2])}{m[3]}"', text)


class MaskedRequestLog(logging.Filter):
    """On the `werkzeug` logger: each record's request line is masked before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_request_lines(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


# The request being served, for log lines and audit entries written while it runs.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{8,64}")

requests_log = logging.getLogger("trafficpass.requests")


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if "request_id" not in line and (rid := REQUEST_ID.get()) is not None:
            line["request_id"] = rid
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


class TextLines(logging.Formatter):
    """`time level logger [request id] message key=value ...`"""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        rid = fields.get("request_id") or REQUEST_ID.get()
        extra = " ".join(f"{k}={v}" for k, v in fields.items() if k != "request_id")
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        head = f"{when} {record.levelname} {record.name}"
        return " ".join(
            p for p in (head, f"[{rid}]" if rid else "", record.getMessage(), extra) if p
        )


def configure(log_format: str) -> None:
    """Every log line of the process to stderr as `json` or `text` (once per process)."""
    root = logging.getLogger()
    if any(getattr(h, "trafficpass", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.trafficpass = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonLines() if log_format == "json" else TextLines())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def request_line(fields: dict[str, Any]) -> None:
    """The one line a request leaves: method, masked path, status, time, who (an id)."""
    requests_log.info("request", extra={"fields": fields})


def install() -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, MaskedRequestLog) for f in logger.filters):
        logger.addFilter(MaskedRequestLog())


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover - gunicorn is a runtime requirement
    _GunicornLogger = object  # type: ignore[assignment,misc]


class GunicornLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's logger with every atom that carries the target masked: %(r)s, %(U)s,
    %(q)s, the referer %(f)s, the environ's path and query entries; and the headers that
    carry credentials, should a log format name them."""

    URL_ATOMS = ("U", "f", "{raw_uri}e", "{request_uri}e", "{path_info}e")

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = mask_request_lines(f'"{atoms["r"]}"')[1:-1]
        if atoms.get("q") not in (None, "", "-"):
            atoms["q"] = mask_target("?" + atoms["q"])[1:]
        if "{query_string}e" in atoms and atoms["{query_string}e"] not in ("", "-"):
            atoms["{query_string}e"] = mask_target("?" + atoms["{query_string}e"])[1:]
        for key in self.URL_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_target(atoms[key])
        for key in ("{authorization}i", "{cookie}i", "{x-twilio-signature}i"):
            if key in atoms:
                atoms[key] = "***"
        return atoms
