"""SMS through the real twilio library against a local stub: success, retries, permanent
errors, delivery reports with good and bad signatures, and the outbox's guarantees."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from sms import outbox
from sms.backends import TwilioBackend, make_backend
from sms.models import SmsMessage
from tests.support import now
from tests.twilio_stub import LocalTwilioHttpClient, TwilioStub

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SID = "AC" + "0" * 32


@pytest.fixture
def stub():
    with TwilioStub() as server:
        yield server


@pytest.fixture
def twilio(stub):
    return TwilioBackend(
        SID,
        AUTH_TOKEN,
        messaging_service_sid="MG" + "1" * 32,
        http_client=LocalTwilioHttpClient(stub.url, timeout=2),
    )


def queue(app, n=1, to="+8613800000001"):
    with app.extensions["sessions"]() as session:
        for i in range(n):
            outbox.enqueue(session, dedupe_key=f"test:{i}", to=to, body=f"测试短信 {i}", now=now())
        session.commit()


def run(app, backend, at=None, owner="w1"):
    with app.extensions["sessions"]() as session:
        return outbox.work_once(session, backend, owner, now=lambda: at or now(), limit=100)


def messages(app):
    with app.extensions["sessions"]() as session:
        return session.scalars(select(SmsMessage).order_by(SmsMessage.id)).all()


def test_twilio_api_base_sends_the_librarys_requests_elsewhere(stub):
    # How separate worker processes reach a stand-in (scripts/cluster.sh) or a proxy.
    backend = make_backend(
        {
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": "+15005550006",
            "TWILIO_API_BASE": stub.url,
        }
    )
    sid = backend.send("+8613800000009", "测试", None)
    assert [m["sid"] for m in stub.sent] == [sid]


def test_success_records_the_provider_id(app, stub, twilio):
    queue(app)
    run(app, twilio)
    [message] = messages(app)
    assert message.status == "sent"
    assert message.provider_id == stub.sent[0]["sid"]
    assert stub.sent[0]["to"] == "+8613800000001"
    assert stub.sent[0]["messaging_service_sid"] == "MG" + "1" * 32


def test_429_is_retried_with_backoff_then_succeeds(app, stub, twilio):
    stub.script.extend(["429"])
    queue(app)
    run(app, twilio)
    [message] = messages(app)
    assert message.status == "pending"
    assert message.attempts == 1
    assert message.next_attempt_at > now() + timedelta(seconds=10)
    assert run(app, twilio) == 0  # not due yet
    run(app, twilio, at=now() + timedelta(minutes=2))
    [message] = messages(app)
    assert message.status == "sent"
    assert message.attempts == 2
    assert len(stub.sent) == 1


def test_a_server_error_is_retried_and_a_timeout_is_looked_up_not_resent(app, stub, twilio):
    stub.hang = 2.5  # longer than the client waits
    stub.script.extend(["500", "timeout"])
    queue(app)
    run(app, twilio)
    [message] = messages(app)
    assert message.status == "pending"  # refused: safe to send again
    run(app, twilio, at=now() + timedelta(minutes=2))
    [message] = messages(app)
    assert message.status == "sending"  # no answer: it may have gone out
    assert message.attempts == 2
    run(app, twilio, at=now() + timedelta(minutes=10))
    assert messages(app)[0].status == "sent"
    assert len(stub.sent) == 1  # found at the provider, not sent a second time


def test_invalid_number_is_permanent_and_explained(app, stub, twilio):
    stub.script.append("21211")
    queue(app)
    run(app, twilio)
    [message] = messages(app)
    assert message.status == "failed"
    assert message.error_code == "21211"
    run(app, twilio, at=now() + timedelta(hours=2))
    assert messages(app)[0].attempts == 1  # never retried


def test_gives_up_after_max_attempts(app, stub, twilio):
    stub.script.extend(["500"] * 20)
    queue(app)
    at = now()
    for _ in range(10):
        at += timedelta(hours=2)
        run(app, twilio, at=at)
    [message] = messages(app)
    assert message.status == "failed"
    assert message.attempts == 8


def test_dedupe_key_adds_a_message_once(app):
    queue(app)
    queue(app)
    assert len(messages(app)) == 1


def callback(client, app, form, token=AUTH_TOKEN, signature=None):
    url = app.config["PUBLIC_BASE_URL"] + "/sms/status"
    signature = signature or RequestValidator(token).compute_signature(url, form)
    return client.post("/sms/status", data=form, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def twilio_app(app):
    app.config.update(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL="https://pass.example.cn")
    return app


def test_status_callback_with_a_good_signature_moves_status_forward(
    twilio_app, client, stub, twilio
):
    queue(twilio_app)
    run(twilio_app, twilio)
    sid = messages(twilio_app)[0].provider_id
    response = callback(client, twilio_app, {"MessageSid": sid, "MessageStatus": "delivered"})
    assert response.status_code == 204
    assert messages(twilio_app)[0].status == "delivered"
    # A late "sent" report does not move it back.
    callback(client, twilio_app, {"MessageSid": sid, "MessageStatus": "sent"})
    assert messages(twilio_app)[0].status == "delivered"


def test_status_callback_with_a_bad_signature_is_refused(twilio_app, client, stub, twilio):
    queue(twilio_app)
    run(twilio_app, twilio)
    sid = messages(twilio_app)[0].provider_id
    form = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "30005"}
    assert callback(client, twilio_app, form, token="wrong-token").status_code == 403
    assert callback(client, twilio_app, form, signature="forged").status_code == 403
    assert messages(twilio_app)[0].status == "sent"


def test_undelivered_report_keeps_the_error_code(twilio_app, client, stub, twilio):
    queue(twilio_app)
    run(twilio_app, twilio)
    sid = messages(twilio_app)[0].provider_id
    callback(
        client,
        twilio_app,
        {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )
    message = messages(twilio_app)[0]
    assert (message.status, message.error_code) == ("undelivered", "30003")


def test_a_message_caught_mid_send_is_reconciled_not_resent(app, stub, twilio):
    """The worker died after Twilio accepted the message but before recording it."""
    queue(app)
    with app.extensions["sessions"]() as session:
        [message_id] = outbox.claim(session, "dead-worker", now=now())
        message = session.get(SmsMessage, message_id)
        message.status, message.attempts, message.updated_at = "sending", 1, now()
        session.commit()
        twilio.send(message.to, message.body, None)  # reached the provider, then the crash
    run(app, twilio, at=now() + timedelta(minutes=5), owner="survivor")
    [message] = messages(app)
    assert message.status == "sent"
    assert message.provider_id == stub.sent[0]["sid"]
    assert len(stub.sent) == 1


def test_a_pass_sms_that_fails_for_good_is_told_to_the_applicants_clerks(app, stub, twilio, make):
    from supervision.models import Notification

    clerk_enterprise = make.enterprise()
    clerk = make.enterprise_user(clerk_enterprise)
    p = make.pass_(enterprise=clerk_enterprise, status="approved")  # its code's SMS queued
    stub.script.extend(["21211"] * 5)  # a number that cannot receive
    run(app, twilio)
    with app.extensions["sessions"]() as session:
        failed = session.scalars(
            select(SmsMessage).where(SmsMessage.pass_id == p.id, SmsMessage.status == "failed")
        ).all()
        told = session.scalars(select(Notification).where(Notification.user_id == clerk.id)).all()
    assert failed
    assert {n.kind for n in told} == {"sms_failed"}
    assert all(n.data["number"] == p.number for n in told)
    assert all("+86" not in str(n.data) for n in told)  # no phone number in the notice
