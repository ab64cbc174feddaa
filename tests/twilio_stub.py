"""A local stand-in for Twilio's Messages API, served over HTTP on 127.0.0.1, and an HTTP
client for the real twilio library that sends its requests there instead of to Twilio.

The library builds, authenticates and parses every request itself; only the host changes.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sms.backends import rebased_http_client

ERRORS = {
    "21211": (400, "The 'To' number is not a valid phone number."),
    "21610": (400, "Attempt to send to unsubscribed recipient"),
    "429": (429, "Too Many Requests"),
    "500": (500, "Internal Server Error"),
}


class TwilioStub:
    """Scripted answers: push 'ok', '429', '500', '21211', 'timeout' onto `script`;
    an empty script answers 'ok'. `delay` slows every answer down (seconds). An `outage`
    (a list of failures) answers every request with them in turn until it is set to None;
    a 'timeout' keeps the client waiting `hang` seconds, and the message still goes out,
    as when the provider's answer is what got lost."""

    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.sent: list[dict[str, str]] = []
        self.requests = 0
        self.delay = 0.0
        self.outage: list[str] | None = None
        self.hang = 20.0
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TwilioStub:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.thread.join()

    def _message(self, form: dict[str, str], sid: str) -> dict[str, Any]:
        return {
            "sid": sid,
            "status": "queued",
            "to": form.get("To"),
            "body": form.get("Body"),
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "error_code": None,
            "error_message": None,
            "num_segments": "1",
            "date_created": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "date_sent": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "account_sid": "AC" + "0" * 32,
            "api_version": "2010-04-01",
        }

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests += 1
            if self.outage:
                action = self.outage[self.requests % len(self.outage)]
                if request.method == "GET":
                    action = "500"  # lookups fail too while the provider is down
            else:
                action = self.script.popleft() if self.script else "ok"
        if self.delay:
            time.sleep(self.delay)
        if (
            request.method == "GET"
            and request.path.endswith("/Messages.json")
            and action not in ERRORS
        ):
            to = request.args.get("To")
            with self.lock:
                found = [m for m in self.sent if m["to"] == to]
            body = {
                "messages": found,
                "meta": {"page": 0, "page_size": 50, "next_page_url": None, "key": "messages"},
            }
            return Response(json.dumps(body), mimetype="application/json")(environ, start_response)
        if action == "timeout":
            # The provider takes the message; its answer is what gets lost.
            message = self._message(request.form.to_dict(), "SM" + uuid.uuid4().hex)
            with self.lock:
                self.sent.append(message)
            time.sleep(self.hang)
            return Response(json.dumps(message), status=201, mimetype="application/json")(
                environ, start_response
            )
        if action in ERRORS:
            status, text = ERRORS[action]
            code = int(action) if action.isdigit() and len(action) > 3 else status
            body = {
                "code": code,
                "message": text,
                "status": status,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            }
            return Response(json.dumps(body), status=status, mimetype="application/json")(
                environ, start_response
            )
        form = request.form.to_dict()
        message = self._message(form, "SM" + uuid.uuid4().hex)
        with self.lock:
            self.sent.append(message)
        return Response(json.dumps(message), status=201, mimetype="application/json")(
            environ, start_response
        )


def LocalTwilioHttpClient(base_url: str, timeout: float = 5) -> Any:  # noqa: N802
    """The library's own HTTP client, pointed at the stub (what TWILIO_API_BASE does)."""
    return rebased_http_client(base_url, timeout)
