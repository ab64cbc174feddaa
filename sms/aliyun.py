"""Alibaba Cloud SMS (阿里云短信服务) through its official SDK, for mainland deployments
(`SMS_BACKEND=aliyun`): mainland carriers take only approved templates under a registered
signature, so each message goes as its template's code (ALIYUN_SMS_TEMPLATES maps the
names of sms.text's templates to codes) with the values it was made from, not as text.

Its answers map onto the outbox's discipline like Twilio's: `OK` is sent (the BizId kept);
an error code that no retry fixes fails the message for good (sms.domain); throttling, the
provider's own faults and no answer are retried, and a message that may have been taken is
looked up by its OutId (the outbox's id) before it is sent again. Delivery reports arrive
by HTTP push (sms/views.py, a shared token in the address).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sms.backends import SmsBackend, SmsError

DEFAULT_ENDPOINT = "dysmsapi.aliyuncs.com"
MISSING_TEMPLATE = "template_missing"  # no registered template for this message: permanent
CHINA = ZoneInfo("Asia/Shanghai")  # the provider's send dates


def mainland(number: str) -> str:
    """+8613800000000 -> 13800000000 (the provider takes mainland numbers bare)."""
    return number[3:] if number.startswith("+86") else number.lstrip("+")


class AliyunBackend(SmsBackend):
    name = "aliyun"

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        *,
        sign_name: str,
        templates: Mapping[str, str],
        endpoint: str | None = None,
        timeout_ms: int = 15_000,
    ):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as open_api

        address = endpoint or DEFAULT_ENDPOINT
        protocol = "http" if address.startswith("http://") else "https"
        host = address.split("://", 1)[-1].rstrip("/")
        config = open_api.Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            endpoint=host,
            protocol=protocol,
        )
        self.client = Client(config)
        self.sign_name, self.templates, self.timeout_ms = sign_name, dict(templates), timeout_ms

    def _runtime(self) -> Any:
        from alibabacloud_tea_util import models as util

        return util.RuntimeOptions(
            connect_timeout=5_000, read_timeout=self.timeout_ms, autoretry=False, max_attempts=1
        )

    def _call(self, method: str, request: Any) -> Any:
        from Tea.exceptions import TeaException, UnretryableException

        try:
            return getattr(self.client, method)(request, self._runtime())
        except TeaException as exc:
            status = (exc.data or {}).get("statusCode") if isinstance(exc.data, dict) else None
            raise SmsError(exc.code, exc.message or "", status or 500) from None
        except (UnretryableException, OSError) as exc:
            raise SmsError(None, type(exc).__name__, None) from None

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
        from alibabacloud_dysmsapi20170525 import models

        code = self.templates.get(template or "")
        if code is None:
            raise SmsError(MISSING_TEMPLATE, f"no template registered for {template!r}", 400)
        request = models.SendSmsRequest(
            phone_numbers=mainland(to),
            sign_name=self.sign_name,
            template_code=code,
            template_param=json.dumps(dict(params or {}), ensure_ascii=False),
            out_id=reference,
        )
        answer = self._call("send_sms_with_options", request).body
        if answer.code != "OK":
            raise SmsError(answer.code, answer.message or "", 200)
        return str(answer.biz_id)

    def lookup(
        self, to: str, body: str, since: datetime, *, reference: str | None = None
    ) -> str | None:
        """Whether the provider took this message (by its OutId) on the day it was sent or
        the next (its send dates are China's); its BizId as the provider id."""
        from alibabacloud_dysmsapi20170525 import models

        if reference is None:
            return None
        first = (since - timedelta(minutes=5)).astimezone(CHINA).date()
        for day in sorted({first, datetime.now(CHINA).date()}):
            request = models.QuerySendDetailsRequest
            answer = self._call(
                "query_send_details_with_options",
                request(
                    phone_number=mainland(to),
                    send_date=day.strftime("%Y%m%d"),
                    page_size=50,
                    current_page=1,
                ),
            ).body
            if answer.code != "OK":
                raise SmsError(answer.code, answer.message or "", 200)
            found = answer.sms_send_detail_dtos
            for detail in (found.sms_send_detail_dto or []) if found else []:
                if detail.out_id == reference:
                    return f"out:{reference}"
        return None


def make(config: Mapping[str, Any], _http_client: Any) -> SmsBackend:
    return AliyunBackend(
        config["ALIYUN_ACCESS_KEY_ID"],
        config["ALIYUN_ACCESS_KEY_SECRET"],
        sign_name=config["ALIYUN_SMS_SIGN_NAME"],
        templates=config["ALIYUN_SMS_TEMPLATES"],
        endpoint=config.get("ALIYUN_SMS_ENDPOINT"),
    )
