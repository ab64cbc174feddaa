"""What reaches the request logs: the request line with its secrets masked, under the
development server (werkzeug) and under gunicorn (`gunicorn.conf.py` names the class)."""

from __future__ import annotations

import logging
import re
from typing import Any

from privacy import mask_target

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
