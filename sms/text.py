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


ANOMALY_NAMES = {
    "zh_CN": {
        "no_entry": "未经卡口入境",
        "no_arrival": "未到达目的地即离开",
        "no_exit": "未登记离开",
        "overstay": "滞留超时",
        "no_arrival_yet": "入境后长时间未到达",
        "expired_open": "通行证过期仍未离开",
    },
    "en": {
        "no_entry": "arrived without entry scan",
        "no_arrival": "left without arriving",
        "no_exit": "no exit recorded",
        "overstay": "stayed too long",
        "no_arrival_yet": "not arrived yet",
        "expired_open": "pass expired inside",
    },
}


def anomaly_text(locale: str, *, number: str, plate: str, kind: str) -> str:
    names = ANOMALY_NAMES.get(locale, ANOMALY_NAMES["zh_CN"])
    template = ANOMALY.get(locale, ANOMALY["zh_CN"])
    return template.format(number=number, plate=plate, kind=names.get(kind, kind))


ALERT = {
    "zh_CN": "【货运通行码】监管提醒：{plate}（通行证{number}）{kind}。",
    "en": "Alert: {plate} (pass {number}): {kind}.",
}
DAILY = {
    "zh_CN": (
        "【货运通行码】{day}日报：入境{opened}车次，闭环率{loop}，新增异常{anomalies}起，"
        "待审批申请{pending}件。"
    ),
    "en": (
        "Daily summary {day}: {opened} trips, closed loop {loop}, {anomalies} new anomalies, "
        "{pending} applications waiting."
    ),
}


def alert_text(locale: str, *, number: str, plate: str, kind: str) -> str:
    names = ANOMALY_NAMES.get(locale, ANOMALY_NAMES["zh_CN"])
    template = ALERT.get(locale, ALERT["zh_CN"])
    return template.format(number=number, plate=plate, kind=names.get(kind, kind))


def daily_text(
    locale: str, *, day: str, opened: int, loop_rate: float | None, anomalies: int, pending: int
) -> str:
    template = DAILY.get(locale, DAILY["zh_CN"])
    loop = "-" if loop_rate is None else f"{loop_rate:.0%}"
    return template.format(day=day, opened=opened, loop=loop, anomalies=anomalies, pending=pending)
