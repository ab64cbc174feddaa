"""Alibaba Cloud SMS through its official SDK against a local stand-in: each message goes
as its registered template with the values it was made from; permanent and passing errors
as with Twilio; a send caught mid-way is found by its OutId, not sent twice; delivery
reports pushed with the shared token move messages forward only."""

import json
from datetime import timedelta

import pytest

from core.config import ConfigError, load
from sms import outbox
from sms.backends import make_backend
from sms.models import SmsMessage
from tests.aliyun_stub import AliyunStub
from tests.integration.test_sms import messages, run
from tests.support import now

TEMPLATES = {"approval": "SMS_400001", "revoked": "SMS_400002", "rejected": "SMS_400003"}


@pytest.fixture
def stub():
    with AliyunStub() as server:
        yield server


@pytest.fixture
def aliyun(stub):
    return make_backend(
        {
            "SMS_BACKEND": "aliyun",
            "ALIYUN_ACCESS_KEY_ID": "LTAI-test",
            "ALIYUN_ACCESS_KEY_SECRET": "secret-test",
            "ALIYUN_SMS_SIGN_NAME": "平湖通行",
            "ALIYUN_SMS_TEMPLATES": TEMPLATES,
            "ALIYUN_SMS_ENDPOINT": stub.url,
        }
    )


def test_an_approval_goes_as_its_registered_template_with_its_values(app, make, stub, aliyun):
    app.config["SMS_DELIVER_INLINE"] = False
    p = make.pass_(status="approved")
    [queued] = [m for m in messages(app) if m.pass_id == p.id]
    assert queued.template == "approval"
    assert queued.params["number"] == p.number
    run(app, aliyun)
    [sent] = [s for s in stub.sent if s["OutId"] == str(queued.id)]
    assert sent["TemplateCode"] == "SMS_400001"
    assert sent["SignName"] == "平湖通行"
    assert sent["PhoneNumbers"] == queued.to.removeprefix("+86")
    assert json.loads(sent["TemplateParam"]) == queued.params
    assert sent["OutId"] == str(queued.id)
    message = next(m for m in messages(app) if m.id == queued.id)
    assert (message.status, message.provider_id) == ("sent", sent["BizId"])


def queue(app, kind="revoked", to="+8613800000001"):
    from sms.text import anomaly_text, revoked_text

    body = (
        revoked_text("zh_CN", number="330482000001", plate="浙F12345")
        if kind == "revoked"
        else anomaly_text("zh_CN", number="330482000001", plate="浙F12345", kind="overstay")
    )
    with app.extensions["sessions"]() as session:
        outbox.enqueue(session, dedupe_key=f"t:{kind}", to=to, body=body, now=now())
        session.commit()


def test_a_refused_number_fails_for_good_and_a_held_back_send_is_retried(app, stub, aliyun):
    queue(app)
    stub.script.extend(["isv.BUSINESS_LIMIT_CONTROL"])
    run(app, aliyun)
    [message] = messages(app)
    assert (message.status, message.error_code) == ("pending", "isv.BUSINESS_LIMIT_CONTROL")
    stub.script.extend(["isv.MOBILE_NUMBER_ILLEGAL"])
    run(app, aliyun, at=now() + timedelta(hours=2))
    [message] = messages(app)
    assert (message.status, message.error_code) == ("failed", "isv.MOBILE_NUMBER_ILLEGAL")
    assert message.attempts == 2
    assert stub.sent == []


def test_a_message_without_a_registered_template_fails_without_a_call(app, stub, aliyun):
    queue(app, kind="anomaly")  # TEMPLATES names no anomaly template
    run(app, aliyun)
    [message] = messages(app)
    assert (message.status, message.error_code) == ("failed", "template_missing")
    assert stub.sent == []


def test_a_send_caught_mid_way_is_found_by_its_out_id_not_sent_twice(app, stub, aliyun):
    queue(app)
    with app.extensions["sessions"]() as session:
        [message_id] = outbox.claim(session, "dead-worker", now=now())
        message = session.get(SmsMessage, message_id)
        message.status, message.attempts, message.updated_at = "sending", 1, now()
        session.commit()
        aliyun.send(
            message.to,
            message.body,
            None,
            template=message.template,
            params=message.params,
            reference=str(message.id),
        )  # reached the provider, then the crash
    run(app, aliyun, at=now() + timedelta(minutes=5), owner="survivor")
    [message] = messages(app)
    assert message.status == "sent"
    assert (len(stub.sent), stub.lookups) == (1, 1)


def report(client, token, reports):
    return client.post(f"/sms/aliyun/report?token={token}", json=reports)


def test_delivery_reports_with_the_token_move_messages_forward_only(app, client, stub, aliyun):
    app.config["ALIYUN_SMS_REPORT_TOKEN"] = "report-token-0123456789"
    queue(app)
    run(app, aliyun)
    [message] = messages(app)
    pushed = {"out_id": str(message.id), "biz_id": message.provider_id, "success": True}
    assert report(client, "wrong-token", [pushed]).status_code == 403
    assert messages(app)[0].status == "sent"
    answered = report(client, "report-token-0123456789", [pushed])
    assert (answered.status_code, answered.get_json()["code"]) == (200, 0)
    assert messages(app)[0].status == "delivered"
    late = {**pushed, "success": False, "err_code": "MK:0001"}
    report(client, "report-token-0123456789", [late])
    assert messages(app)[0].status == "delivered"  # a report never moves one back
    assert report(client, "report-token-0123456789", {"not": "a list"}).status_code == 422
    app.config["ALIYUN_SMS_REPORT_TOKEN"] = None
    assert report(client, "report-token-0123456789", [pushed]).status_code == 404


def test_the_backend_needs_its_key_signature_and_templates(tmp_path):
    base = {"SMS_BACKEND": "aliyun", "SECRET_KEY": "x" * 40}
    with pytest.raises(ConfigError, match="ALIYUN_ACCESS_KEY_ID"):
        load(tmp_path, base)
    keyed = {
        **base,
        "ALIYUN_ACCESS_KEY_ID": "LTAI",
        "ALIYUN_ACCESS_KEY_SECRET": "s",
        "ALIYUN_SMS_SIGN_NAME": "平湖通行",
    }
    with pytest.raises(ConfigError, match="ALIYUN_SMS_TEMPLATES"):
        load(tmp_path, {**keyed, "ALIYUN_SMS_TEMPLATES": "[1, 2]"})
    loaded = load(tmp_path, {**keyed, "ALIYUN_SMS_TEMPLATES": json.dumps(TEMPLATES)})
    assert loaded["ALIYUN_SMS_TEMPLATES"] == TEMPLATES


def test_the_deployment_guide_lists_every_template_to_register():
    from pathlib import Path

    from sms.text import registered_templates

    guide = (Path(__file__).resolve().parents[2] / "docs/deploy.md").read_text(encoding="utf-8")
    for kind, text in registered_templates().items():
        assert f"| `{kind}` | {text} |" in guide, kind
