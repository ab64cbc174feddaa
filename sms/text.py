"""SMS bodies, per language. Kept out of the gettext catalog because messages are built by
workers and services outside any request; the pass number comes before the link because
some networks drop messages with URLs. Every template fits two segments at most and the
approval one (tests/unit/test_sms_rules.py counts them as carriers do)."""

from __future__ import annotations

from sms.domain import is_gsm7


class SmsText(str):
    """A message's text, and the template it was made from (`kind`) with the values as
    filled in (`params`): what a provider of registered templates (Alibaba Cloud) sends
    in its place. The outbox keeps both."""

    kind: str = ""
    params: dict[str, str]


def _made(made_from: str, template: str, /, **values: object) -> SmsText:
    text = SmsText(template.format(**values))
    text.kind, text.params = made_from, {name: str(value) for name, value in values.items()}
    return text


# The sender's signature (SMS_SIGNATURE, e.g. 【平湖通行】) is added by the backend when a
# message is sent, as mainland providers add their registered signature: these bodies
# leave room for it. The approval carries the plate and the number before the short link.
APPROVAL = {
    "zh_CN": "{plate}通行证{number}已批准，出示：{url}",
    "en": "Pass {number} for {plate} approved. Show it at the gate: {url}",
}
REVOKED = {
    "zh_CN": "{plate}通行证{number}已被吊销，请勿出行。",
    "en": "Pass {number} for {plate} has been revoked. Do not travel.",
}
REJECTED = {
    "zh_CN": "{plate}通行证申请{number}未获批准：{reason}",
    "en": "Pass application {number} for {plate} was rejected: {reason}",
}
ENTERPRISE_STATUS = {
    "zh_CN": {
        "approved": "{name}已通过审核，可以登录申请通行证。",
        "suspended": "{name}的账户已被暂停，暂停期间不能申请，已批准的车辆不得进入辖区。",
        "rejected": "{name}的注册申请未通过：{reason}",
    },
    "en": {
        "approved": "{name} is approved: sign in to apply for passes.",
        "suspended": "{name} is suspended: no new passes, and its vehicles may not enter.",
        "rejected": "The sign-up of {name} was not approved: {reason}",
    },
}
ANOMALY = {
    "zh_CN": "{plate}（通行证{number}）出现异常：{kind}，请及时处理。",
    "en": "Freight pass {number} ({plate}): anomaly {kind}. Please follow up.",
}
# A reason or a name is cut so that the message, with a signature of up to this many
# characters, stays within two segments (306 GSM-7 characters, or 134 UCS-2).
SIGNATURE_ROOM = 16

# English messages stay GSM-7 (160 characters a segment, not 70): the plate's province
# character is written in pinyin.
PROVINCE_PINYIN = dict(
    zip(
        "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼挂",
        [
            "Jing",
            "Jin",
            "Hu",
            "Yu",
            "Ji",
            "Yu",
            "Yun",
            "Liao",
            "Hei",
            "Xiang",
            "Wan",
            "Lu",
            "Xin",
            "Su",
            "Zhe",
            "Gan",
            "E",
            "Gui",
            "Gan",
            "Jin",
            "Meng",
            "Shaan",
            "Ji",
            "Min",
            "Gui",
            "Yue",
            "Qing",
            "Zang",
            "Chuan",
            "Ning",
            "Qiong",
            "gua",
        ],
        strict=True,
    )
)


def latin_plate(plate: str) -> str:
    """浙F12345 -> Zhe F12345; 浙F1234挂 -> Zhe F1234 gua."""
    head = PROVINCE_PINYIN.get(plate[:1], plate[:1])
    rest = "".join(f" {PROVINCE_PINYIN[ch]}" if ch in PROVINCE_PINYIN else ch for ch in plate[1:])
    return f"{head} {rest}"


def _plate(locale: str, plate: str) -> str:
    return plate if locale == "zh_CN" else latin_plate(plate)


def _fill(made_from: str, template: str, field: str, value: str, /, **others: str) -> SmsText:
    """`template` with `value` in `field`, cut (with an ellipsis) to fit two segments."""
    value = " ".join(value.split())
    rest = template.format(**{field: ""}, **others)
    gsm = is_gsm7(rest + value)
    budget = (306 if gsm else 134) - SIGNATURE_ROOM - len(rest)
    if len(value) > budget:
        value = value[: budget - 3] + "..." if gsm else value[: budget - 1] + "…"
    return _made(made_from, template, **{field: value}, **others)


def _template(table: dict[str, str], locale: str) -> str:
    return table.get(locale, table["zh_CN"])


def approval_text(locale: str, *, number: str, plate: str, url: str) -> SmsText:
    return _made(
        "approval", _template(APPROVAL, locale), plate=_plate(locale, plate), number=number, url=url
    )


def revoked_text(locale: str, *, number: str, plate: str) -> SmsText:
    return _made("revoked", _template(REVOKED, locale), plate=_plate(locale, plate), number=number)


def rejected_text(locale: str, *, number: str, plate: str, reason: str) -> SmsText:
    template = _template(REJECTED, locale)
    return _fill("rejected", template, "reason", reason, plate=_plate(locale, plate), number=number)


def enterprise_status_text(locale: str, *, name: str, status: str, reason: str = "") -> SmsText:
    table = ENTERPRISE_STATUS.get(locale, ENTERPRISE_STATUS["zh_CN"])
    kind = f"enterprise_{status}"
    if "{reason}" in table[status]:
        return _fill(kind, table[status], "reason", reason, name=name)
    return _fill(kind, table[status], "name", name)


def signed(body: str, signature: str) -> str:
    """The text as delivered: the sender's signature first, as carriers require."""
    return f"{signature}{body}" if signature else body


ANOMALY_NAMES = {
    "zh_CN": {
        "no_entry": "未经卡口进入辖区",
        "no_arrival": "未到达目的地即离开",
        "no_exit": "未登记离开",
        "overstay": "滞留超时",
        "no_arrival_yet": "进入辖区后长时间未到达",
        "offline_conflict": "离线扫码与记录冲突",
        "expired_open": "通行证过期仍未离开",
    },
    "en": {
        "no_entry": "arrived without entry scan",
        "no_arrival": "left without arriving",
        "no_exit": "no exit recorded",
        "overstay": "stayed too long",
        "no_arrival_yet": "not arrived yet",
        "offline_conflict": "offline scan conflict",
        "expired_open": "pass expired inside",
    },
}


def anomaly_text(locale: str, *, number: str, plate: str, kind: str) -> SmsText:
    names = ANOMALY_NAMES.get(locale, ANOMALY_NAMES["zh_CN"])
    template = ANOMALY.get(locale, ANOMALY["zh_CN"])
    shown = names.get(kind, kind)
    return _made("anomaly", template, number=number, plate=_plate(locale, plate), kind=shown)


ALERT = {
    "zh_CN": "监管提醒：{plate}（通行证{number}）{kind}。",
    "en": "Alert: {plate} (pass {number}): {kind}.",
}
# Scans denied again and again: codes no pass stands behind at one checkpoint, or one
# pass refused repeatedly (supervision.alerts.scan_denied).
FORGED_ALERT = {
    "zh_CN": "监管提醒：{checkpoint}卡口{minutes}分钟内{count}次扫到伪造或无效的通行码。",
    "en": "Alert: {count} forged or invalid codes at checkpoint {checkpoint} in {minutes} min.",
}
DENIED_ALERT = {
    "zh_CN": "监管提醒：{plate}（通行证{number}）{minutes}分钟内被拒绝放行{count}次。",
    "en": "Alert: {plate} (pass {number}) denied {count} times in {minutes} min.",
}


def forged_alert_text(locale: str, *, checkpoint: str, count: int, minutes: int) -> SmsText:
    template = FORGED_ALERT.get(locale, FORGED_ALERT["zh_CN"])
    return _made("forged_alert", template, checkpoint=checkpoint, count=count, minutes=minutes)


def denied_alert_text(locale: str, *, number: str, plate: str, count: int, minutes: int) -> SmsText:
    template = DENIED_ALERT.get(locale, DENIED_ALERT["zh_CN"])
    shown = _plate(locale, plate)
    return _made("denied_alert", template, number=number, plate=shown, count=count, minutes=minutes)


AUDIT_HALTED = {
    "zh_CN": "监管提醒：审计日志已停止签名，数据库中的记录与上次签名的检查点不一致，请立即核查。",
    "en": "Alert: the audit log stopped signing: the database no longer matches its last "
    "signed checkpoint. Check it now.",
}


def audit_halted_text(locale: str) -> SmsText:
    return _made("audit_halted", AUDIT_HALTED.get(locale, AUDIT_HALTED["zh_CN"]))


DAILY = {
    "zh_CN": (
        "{day}日报：进入辖区{opened}车次，闭环率{loop}，新增异常{anomalies}起，待审批申请{pending}件。"
    ),
    "en": (
        "Daily summary {day}: {opened} trips, closed loop {loop}, {anomalies} new anomalies, "
        "{pending} applications waiting."
    ),
}


def alert_text(locale: str, *, number: str, plate: str, kind: str) -> SmsText:
    names = ANOMALY_NAMES.get(locale, ANOMALY_NAMES["zh_CN"])
    template = ALERT.get(locale, ALERT["zh_CN"])
    shown = names.get(kind, kind)
    return _made("alert", template, number=number, plate=_plate(locale, plate), kind=shown)


def daily_text(
    locale: str, *, day: str, opened: int, loop_rate: float | None, anomalies: int, pending: int
) -> SmsText:
    template = DAILY.get(locale, DAILY["zh_CN"])
    loop = "-" if loop_rate is None else f"{loop_rate:.0%}"
    figures = {"opened": opened, "loop": loop, "anomalies": anomalies, "pending": pending}
    return _made("daily", template, day=day, **figures)


# The consignee's contact, when its truck enters (supervision/consignees.py): one segment,
# so the gate's name is cut to fit. In English the gate is named by its code (GSM-7).
TRUCK_ENTERED = {
    "zh_CN": "{plate}已于{time}从{gate}进入辖区，请安排人员接车。",
    "en": "{plate} entered at gate {gate} at {time}. Please send someone to receive it.",
}


def truck_entered_text(locale: str, *, plate: str, gate: str, code: str, time: str) -> SmsText:
    template = _template(TRUCK_ENTERED, locale)
    named = gate if locale == "zh_CN" else code
    rest = template.format(plate=_plate(locale, plate), gate="", time=time)
    budget = (160 if is_gsm7(rest + named) else 70) - SIGNATURE_ROOM - len(rest)
    if len(named) > budget:
        named = named[: budget - 1] + "…"
    return _made("truck_entered", template, plate=_plate(locale, plate), gate=named, time=time)


def registered_templates() -> dict[str, str]:
    """Each message's Chinese template as Alibaba Cloud registers it (`${name}` for each
    value): what docs/deploy.md lists for an administrator to register."""
    zh = {
        "approval": APPROVAL["zh_CN"],
        "revoked": REVOKED["zh_CN"],
        "rejected": REJECTED["zh_CN"],
        **{f"enterprise_{s}": t for s, t in ENTERPRISE_STATUS["zh_CN"].items()},
        "anomaly": ANOMALY["zh_CN"],
        "alert": ALERT["zh_CN"],
        "forged_alert": FORGED_ALERT["zh_CN"],
        "denied_alert": DENIED_ALERT["zh_CN"],
        "audit_halted": AUDIT_HALTED["zh_CN"],
        "daily": DAILY["zh_CN"],
        "truck_entered": TRUCK_ENTERED["zh_CN"],
    }
    return {kind: text.replace("{", "${") for kind, text in zh.items()}
