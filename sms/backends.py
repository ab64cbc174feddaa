"""SMS backends behind one small interface, chosen by SMS_BACKEND (a provider registry).

`console` keeps messages in the outbox and logs that one was sent (masked number, no body);
`twilio` sends through the twilio library with a Messaging Service or a From number;
`aliyun` through Alibaba Cloud's SDK, as registered templates (sms/aliyun.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from core.privacy import mask_mobile
from sms.domain import is_gsm7, segments
from sms.text import signed

log = logging.getLogger(__name__)


class SmsError(Exception):
    """The provider refused or could not be reached; `http_status` None means no answer."""

    def __init__(self, code: str | None, text: str, http_status: int | None):
        super().__init__(code, text, http_status)
        self.code, self.text, self.http_status = code, text, http_status


class SmsBackend:
    """`signature` goes before Chinese messages and `signature_en` before GSM-7 (English)
    ones when sent, as mainland carriers require a registered sender signature."""

    name = "base"
    signature = ""
    signature_en = ""

    def delivered_text(self, body: str) -> str:
        return signed(body, self.signature_en if is_gsm7(body) else self.signature)

    def send(
        self,
        to: str,
        body: str,
        status_callback: str | None,
        *,
        template: str | None = None,
        params: Mapping[str, str] | None = None,
        reference: str | None = None,
    ) -> str:
        """Hand the message to the provider; returns its id or raises SmsError. `template`
        and `params` are what `body` was made from (sms.text), `reference` the outbox's id
        for it: a provider of registered templates sends those instead of the text."""
        raise NotImplementedError

    def lookup(
        self, to: str, body: str, since: datetime, *, reference: str | None = None
    ) -> str | None:
        """The provider id of this message if the provider already has it, None if it does
        not; SmsError when the provider cannot tell right now."""
        return None


class ConsoleBackend(SmsBackend):
    """For demos and development: the outbox row is the message; readable in UI and API."""

    name = "console"

    def send(self, to: str, body: str, status_callback: str | None, **_made_from: Any) -> str:
        provider_id = f"console-{uuid.uuid4().hex[:16]}"
        encoding, units, parts = segments(self.delivered_text(body))
        log.info(
            "sms %s to %s (%d %s units, %d segment%s)",
            provider_id,
            mask_mobile(to),
            units,
            encoding,
            parts,
            "" if parts == 1 else "s",
        )
        return provider_id


TWILIO_HOST = "https://api.twilio.com"


def rebased_http_client(base_url: str, timeout: float = 15) -> Any:
    """The twilio library's own HTTP client, sending to `base_url` instead of Twilio's host
    (the library still builds, signs and parses every request)."""
    from twilio.http.http_client import TwilioHttpClient

    class Rebased(TwilioHttpClient):
        def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> Any:
            return super().request(method, uri.replace(TWILIO_HOST, base_url), *args, **kwargs)

    return Rebased(timeout=timeout)


class TwilioBackend(SmsBackend):
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        http_client: Any = None,
    ):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        if not (from_ or messaging_service_sid):
            raise ValueError("set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid
        self.client = Client(
            account_sid, auth_token, http_client=http_client or TwilioHttpClient(timeout=15)
        )
        # The library logs request details at INFO; phone numbers must stay out of logs.
        logging.getLogger("twilio").setLevel(logging.WARNING)

    def send(self, to: str, body: str, status_callback: str | None, **_made_from: Any) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        params: dict[str, Any] = {"to": to, "body": self.delivered_text(body)}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_
        if status_callback:
            params["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise SmsError(str(exc.code) if exc.code else None, exc.msg or "", exc.status) from None
        except (TwilioException, OSError) as exc:
            raise SmsError(None, type(exc).__name__, None) from None
        except Exception as exc:  # requests' timeouts and connection errors
            if type(exc).__module__.startswith(("requests", "urllib3")):
                raise SmsError(None, type(exc).__name__, None) from None
            raise
        if message.error_code:
            raise SmsError(str(message.error_code), message.error_message or "", 200)
        return message.sid

    def lookup(self, to: str, body: str, since: datetime, **_reference: Any) -> str | None:
        from twilio.base.exceptions import TwilioException

        try:
            recent = self.client.messages.list(
                to=to, date_sent_after=since - timedelta(minutes=5), limit=50
            )
        except (TwilioException, OSError) as exc:
            raise SmsError(None, type(exc).__name__, None) from None
        text = self.delivered_text(body)
        return next((m.sid for m in recent if m.body == text), None)


def _console(_config: Mapping[str, Any], _http_client: Any) -> SmsBackend:
    return ConsoleBackend()


def _twilio(config: Mapping[str, Any], http_client: Any) -> SmsBackend:
    if http_client is None and config.get("TWILIO_API_BASE"):
        http_client = rebased_http_client(config["TWILIO_API_BASE"])
    return TwilioBackend(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        from_=config.get("TWILIO_FROM"),
        messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID"),
        http_client=http_client,
    )


def _aliyun(config: Mapping[str, Any], http_client: Any) -> SmsBackend:
    from sms import aliyun

    return aliyun.make(config, http_client)


# SMS_BACKEND names one of these (config.SMS_BACKENDS, checked at start-up, lists the same).
BACKENDS: dict[str, Callable[[Mapping[str, Any], Any], SmsBackend]] = {
    "console": _console,
    "twilio": _twilio,
    "aliyun": _aliyun,
}


def make_backend(config: Mapping[str, Any], http_client: Any = None) -> SmsBackend:
    backend = BACKENDS[config["SMS_BACKEND"]](config, http_client)
    backend.signature = config.get("SMS_SIGNATURE", "")
    backend.signature_en = config.get("SMS_SIGNATURE_EN", "")
    return backend
