"""SMS bodies, per language. Kept out of the gettext catalog because messages are built by
workers and services outside any request; the pass number comes before the link because
some networks drop messages with URLs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

APPROVAL = {
    "zh_CN": "【货运通行码】{plate}通行证已批准，编号{number}，有效期{start}至{end}。查看：{url}",
    "en": "Freight pass {number} for {plate} approved, valid {start} to {end}. View: {url}",
}
ANOMALY = {
    "zh_CN": "【货运通行码】{plate}（通行证{number}）出现异常：{kind}，请及时处理。",
    "en": "Freight pass {number} ({plate}): anomaly {kind}. Please follow up.",
}


def _short(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


def approval_text(
    locale: str,
    *,
    number: str,
    plate: str,
    valid_from: datetime,
    valid_until: datetime,
    url: str,
    tz: str,
) -> str:
    template = APPROVAL.get(locale, APPROVAL["zh_CN"])
    return template.format(
        plate=plate,
        number=number,
        start=_short(valid_from, tz),
        end=_short(valid_until, tz),
        url=url,
    )
