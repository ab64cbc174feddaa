"""Alerts: subscriptions to anomaly kinds, in-app notifications, SMS through the outbox,
and the daily summary."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sms.models import SmsMessage
from supervision.models import AlertSettings, Notification
from tests.support import api_token, audit_log_verifies, login, now, post_form

# Notices that are not the anomalies' or the summary's: a consignee's truck, an admin's
# sign-up waiting (the factory's enterprises sign up).
ELSEWHERE = ("truck_entered", "sign_up_waiting")

PHONE = "+8613900001111"


@pytest.fixture
def gate_world(client, make):
    """An approved pass, a gate and its officer."""
    destination = make.enterprise()
    p = make.pass_(status="approved", destination_enterprise_id=destination.id)
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    return {"pass": p, "gate": gate, "officer": officer}


def scan(client, world):
    body = {
        "scan_id": str(uuid.uuid4()),
        "checkpoint_id": world["gate"].id,
        "code": world["pass"].code,
    }
    response = client.post("/api/v1/scans", json=body, headers=world["officer"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def leave_without_arriving(client, world):
    scan(client, world)  # entry
    return scan(client, world)  # exit: raises no_arrival


def sms_to(db, phone):
    db.rollback()
    return db.scalars(select(SmsMessage).where(SmsMessage.to == phone)).all()


def test_subscriber_hears_of_a_new_anomaly_in_the_app_and_by_sms(app, client, make, gate_world, db):
    app.config["SMS_DELIVER_INLINE"] = False
    watcher = make.user("supervisor")
    other = make.user("supervisor")
    headers = api_token(client, watcher.username)
    other_headers = api_token(client, other.username)
    saved = client.put(
        "/api/v1/alerts",
        json={"kinds": ["no_arrival"], "sms": True, "phone": "13900001111"},
        headers=headers,
    )
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json() == {
        "kinds": ["no_arrival"],
        "sms": True,
        "phone": PHONE,
        "daily_summary": False,
    }
    client.put("/api/v1/alerts", json={"kinds": ["overstay"]}, headers=other_headers)

    exit_ = leave_without_arriving(client, gate_world)
    assert exit_["event"] == "exit"

    inbox = client.get("/api/v1/notifications", headers=headers).get_json()
    assert inbox["total"] == 1
    [item] = inbox["items"]
    assert item["kind"] == "no_arrival"
    assert item["trip_id"] == exit_["trip"]["id"]
    assert item["data"] == {
        "plate": gate_world["pass"].vehicle.plate,
        "number": gate_world["pass"].number,
    }
    assert item["read_at"] is None
    assert client.get("/api/v1/notifications", headers=other_headers).get_json()["total"] == 0

    [message] = sms_to(db, PHONE)
    assert gate_world["pass"].vehicle.plate in message.body
    assert "未到达目的地即离开" in message.body
    assert message.enterprise_id is None
    assert message.pass_id is None
    assert audit_log_verifies(app).ok


def test_in_app_only_sends_no_sms_and_inactive_users_hear_nothing(
    app, client, make, gate_world, db
):
    quiet = make.user("supervisor")
    gone = make.user("supervisor")
    client.put(
        "/api/v1/alerts", json={"kinds": ["no_arrival"]}, headers=api_token(client, quiet.username)
    )
    client.put(
        "/api/v1/alerts",
        json={"kinds": ["no_arrival"], "sms": True, "phone": "13900002222"},
        headers=api_token(client, gone.username),
    )
    with app.extensions["sessions"]() as session:
        from accounts.models import User

        session.get(User, gone.id).active = False
        session.commit()
    leave_without_arriving(client, gate_world)
    db.rollback()
    told = select(Notification.user_id).where(Notification.kind.not_in(ELSEWHERE))
    assert db.scalars(told).all() == [quiet.id]
    assert sms_to(db, "+8613900002222") == []


def test_sweeping_twice_notifies_once(app, client, make, gate_world, db):
    app.config["SMS_DELIVER_INLINE"] = False
    watcher = make.user("supervisor")
    client.put(
        "/api/v1/alerts",
        json={"kinds": ["no_arrival_yet"], "sms": True, "phone": PHONE},
        headers=api_token(client, watcher.username),
    )
    scan(client, gate_world)  # entry, then nothing
    from checkpoints import services
    from checkpoints.domain import SweepPolicy

    for _ in range(2):
        with app.extensions["sessions"]() as session:
            services.sweep(session, now=now() + timedelta(hours=7), policy=SweepPolicy())
    db.rollback()
    mine = select(func.count()).where(Notification.user_id == watcher.id)
    assert db.scalar(mine.select_from(Notification)) == 1
    assert len(sms_to(db, PHONE)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kinds": ["no_arrival"], "sms": True}, "phone"),
        ({"kinds": [], "daily_summary": True}, "phone"),
        ({"kinds": ["no_arrival"], "sms": True, "phone": "12345"}, "phone"),
        ({"kinds": ["teleported"]}, "kinds.0"),
        ({"kinds": "no_arrival"}, "kinds"),
        ({"kinds": [], "surprise": 1}, "surprise"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(client, make, db, body, field):
    user = make.user("supervisor")
    response = client.put("/api/v1/alerts", json=body, headers=api_token(client, user.username))
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    db.rollback()
    assert db.get(AlertSettings, user.id) is None


def test_settings_page_saves_shows_errors_and_the_inbox_marks_read(
    app, client, make, gate_world, db
):
    watcher = make.user("supervisor")
    login(client, watcher.username)
    page = client.get("/alerts").get_data(as_text=True)
    assert "未到达目的地即离开" in page
    assert 'name="kinds"' in page

    refused = post_form(client, "/alerts", {"kinds": ["no_arrival"], "sms": "on"})
    assert refused.status_code == 200
    assert "请输入接收短信的手机号码" in refused.get_data(as_text=True)
    db.rollback()
    assert db.get(AlertSettings, watcher.id) is None

    saved = post_form(
        client, "/alerts", {"kinds": ["no_arrival", "overstay"], "phone": "13900001111"}
    )
    assert saved.status_code == 302
    db.rollback()
    settings = db.get(AlertSettings, watcher.id)
    assert settings.kinds == ["no_arrival", "overstay"]
    assert not settings.sms

    empty = client.get("/notifications").get_data(as_text=True)
    assert "暂无通知" in empty
    leave_without_arriving(client, gate_world)
    home = client.get("/notifications").get_data(as_text=True)
    assert 'class="nav-count"' in home
    assert 'id="menu-unread"' in home.split('class="nav-toggle"')[1].split("</button>")[0]
    assert gate_world["pass"].vehicle.plate in home
    assert 'class="unread"' in home
    post_form(client, "/notifications/read")
    after = client.get("/notifications").get_data(as_text=True)
    assert 'class="nav-count"' not in after
    assert 'class="unread"' not in after


def test_marking_read_by_id_touches_only_ones_own(client, make, gate_world, db):
    a, b = make.user("supervisor"), make.user("reviewer")
    ha, hb = api_token(client, a.username), api_token(client, b.username)
    for h in (ha, hb):
        client.put("/api/v1/alerts", json={"kinds": ["no_arrival"]}, headers=h)
    leave_without_arriving(client, gate_world)
    [mine] = client.get("/api/v1/notifications", headers=ha).get_json()["items"]
    [theirs] = client.get("/api/v1/notifications", headers=hb).get_json()["items"]
    marked = client.post(
        "/api/v1/notifications/read", json={"ids": [mine["id"], theirs["id"]]}, headers=ha
    )
    assert marked.get_json() == {"marked": 1}
    assert client.get("/api/v1/notifications?unread=true", headers=ha).get_json()["total"] == 0
    assert client.get("/api/v1/notifications?unread=true", headers=hb).get_json()["total"] == 1


def test_daily_summary_once_per_day(app, client, make, runner, gate_world, db):
    app.config["SMS_DELIVER_INLINE"] = False
    watcher = make.user("supervisor")
    client.put(
        "/api/v1/alerts",
        json={"kinds": [], "daily_summary": True, "phone": PHONE},
        headers=api_token(client, watcher.username),
    )
    leave_without_arriving(client, gate_world)  # one trip, not a closed loop, one anomaly
    make.pass_()  # one application waiting
    from zoneinfo import ZoneInfo

    today = now().astimezone(ZoneInfo(app.config["TIMEZONE"])).date().isoformat()
    first = runner.invoke(args=["alerts", "daily-summary", "--day", today])
    assert first.exit_code == 0, first.output
    assert f"1 daily summaries for {today}" in first.output
    again = runner.invoke(args=["alerts", "daily-summary", "--day", today])
    assert f"0 daily summaries for {today}" in again.output
    [message] = sms_to(db, PHONE)
    assert "进入辖区1车次" in message.body
    assert "闭环率0%" in message.body
    assert "新增异常1起" in message.body
    assert "待审批申请1件" in message.body
    [note] = db.scalars(select(Notification).where(Notification.kind.not_in(ELSEWHERE))).all()
    assert note.kind == "daily_summary"
    assert note.data["opened"] == 1


def test_daily_summary_defaults_to_yesterday(runner):
    result = runner.invoke(args=["alerts", "daily-summary"])
    assert result.exit_code == 0
    assert "0 daily summaries for" in result.output


def scan_code(client, world, code):
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": world["gate"].id, "code": code}
    response = client.post("/api/v1/scans", json=body, headers=world["officer"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_repeated_forged_codes_at_a_gate_and_a_pass_denied_repeatedly_raise_alerts(
    app, client, make, gate_world, db
):
    """Forged and foreign codes raised nothing and the dashboard did not show them."""
    from trust import tokens

    app.config["SMS_DELIVER_INLINE"] = False
    from app import register_receivers

    app.config.update(ALERT_FORGED_PER_CHECKPOINT=3, ALERT_DENIALS_PER_PASS=2)
    register_receivers(app)  # the receivers take their limits when they are connected
    watcher = make.user("supervisor")
    headers = api_token(client, watcher.username)
    saved = client.put(
        "/api/v1/alerts",
        json={"kinds": ["forged_codes", "repeated_denials"], "sms": True, "phone": "13900001111"},
        headers=headers,
    )
    assert saved.status_code == 200, saved.get_json()
    real = gate_world["pass"].code
    token = tokens.token_from_text(real)
    forged = real.replace(token, token[:60] + ("A" if token[60] != "A" else "B") + token[61:])
    for _ in range(2):
        assert scan_code(client, gate_world, forged)["reasons"] == ["bad_signature"]
    assert client.get("/api/v1/notifications", headers=headers).get_json()["total"] == 0
    for _ in range(3):  # the third reaches the threshold; the fourth and fifth add nothing
        scan_code(client, gate_world, forged)
    inbox = client.get("/api/v1/notifications", headers=headers).get_json()
    assert [i["kind"] for i in inbox["items"]] == ["forged_codes"]
    assert inbox["items"][0]["data"]["checkpoint"] == gate_world["gate"].code
    # one pass refused again and again (revoked)
    reviewer = api_token(client, make.user("reviewer").username)
    revoked = client.post(
        f"/api/v1/passes/{gate_world['pass'].id}/revoke",
        json={"reason": "测试吊销"},
        headers=reviewer,
    )
    assert revoked.status_code == 200, revoked.get_json()
    for _ in range(3):
        assert scan_code(client, gate_world, real)["decision"] == "deny"
    inbox = client.get("/api/v1/notifications", headers=headers).get_json()
    assert sorted(i["kind"] for i in inbox["items"]) == ["forged_codes", "repeated_denials"]
    denied = next(i for i in inbox["items"] if i["kind"] == "repeated_denials")
    assert denied["data"]["number"] == gate_world["pass"].number
    bodies = sorted(m.body for m in sms_to(db, PHONE))
    assert len(bodies) == 2
    assert any("伪造或无效" in b for b in bodies)
    assert any("被拒绝放行" in b for b in bodies)
    # the dashboard shows today's denials by reason
    login(client, watcher.username)
    figures = client.get("/api/v1/dashboard", headers=headers).get_json()
    assert figures["denied_today"] == {"bad_signature": 5, "revoked": 3}
    page = client.get("/dashboard").get_data(as_text=True)
    assert "今日拒绝放行（按原因）" in page
    assert "伪造或被篡改的通行码" in page or "签名不符" in page
    assert audit_log_verifies(app).ok


def test_the_applicants_users_are_told_of_a_rejection_and_a_revocation(client, make):
    enterprise = make.enterprise()
    clerk = make.enterprise_user(enterprise)
    rejected, revoked = make.pass_(enterprise=enterprise), make.pass_(enterprise=enterprise)
    reviewer = api_token(client, make.user("reviewer").username)
    client.post(f"/api/v1/passes/{revoked.id}/approve", headers=reviewer)
    for path, p in (("reject", rejected), ("revoke", revoked)):
        answer = client.post(
            f"/api/v1/passes/{p.id}/{path}", json={"reason": "资料不全"}, headers=reviewer
        )
        assert answer.status_code == 200, answer.get_json()
    with make.session() as session:
        told = session.scalars(select(Notification).where(Notification.user_id == clerk.id)).all()
    assert sorted(n.kind for n in told) == ["pass_rejected", "pass_revoked"]
    assert all("资料不全" not in str(n.data) for n in told)  # the reason stays on the pass
    login(client, clerk.username)
    page = client.get("/notifications").get_data(as_text=True)
    assert "申请未获批准" in page
    assert "通行证已被吊销" in page
    assert rejected.number in page
    assert 'id="menu-unread"' in page


def test_admins_hear_of_a_sign_up_waiting_for_them(client, make):
    from tests.support import credit_code

    admin = make.user("admin")
    body = {
        "name": "平湖新签约物流有限公司",
        "credit_code": credit_code(),
        "contact_name": "李",
        "contact_phone": "13700000000",
        "admin_username": "signs-up",
        "admin_password": "Correct-Horse-9",
    }
    answer = client.post("/api/v1/enterprises", json=body)
    assert answer.status_code == 201, answer.get_json()
    with make.session() as session:
        told = session.scalars(select(Notification).where(Notification.user_id == admin.id)).all()
    assert [n.kind for n in told] == ["sign_up_waiting"]
    login(client, admin.username)
    page = client.get("/notifications").get_data(as_text=True)
    assert "平湖新签约物流有限公司" in page
    assert 'href="/admin/enterprises?status=pending"' in page
    enterprise_id = told[0].data["enterprise_id"]
    path = f"/admin/enterprises/{enterprise_id}/status"
    approved = post_form(client, path, {"status": "approved"})
    assert approved.status_code == 302
    with make.session() as session:
        [settled] = session.scalars(select(Notification).where(Notification.user_id == admin.id))
    assert settled.read_at is not None  # decided: no longer news


def test_reviewers_hear_of_applications_waiting_too_long_once_per_oldest(app, make, runner):
    """`alerts queue-waiting` tells each active reviewer when an application has waited
    over REVIEW_WAIT_ALERT_MINUTES, once; when the oldest is decided and another waits too
    long, a new notice replaces the old one."""
    from passes.models import Pass
    from passes.services import approve_pass

    reviewer = make.user("reviewer")
    idle = make.user("reviewer")
    with make.session() as session:
        session.get(type(idle), idle.id).active = False
        session.commit()
    old, young = make.pass_(), make.pass_()
    with make.session() as session:
        session.get(Pass, old.id).created_at = now() - timedelta(minutes=90)
        session.get(Pass, young.id).created_at = now() - timedelta(minutes=70)
        session.commit()

    def notices():
        with make.session() as session:
            return [
                (n.data["number"], n.data["count"], n.read_at is None)
                for n in session.scalars(
                    select(Notification)
                    .where(Notification.kind == "queue_waiting")
                    .order_by(Notification.id)
                )
            ], {n.user_id for n in session.scalars(select(Notification))}

    app.config["REVIEW_WAIT_ALERT_MINUTES"] = 120
    assert "0 reviewers" in runner.invoke(args=["alerts", "queue-waiting"]).output
    app.config["REVIEW_WAIT_ALERT_MINUTES"] = 60
    for _ in range(2):
        assert runner.invoke(args=["alerts", "queue-waiting"]).exit_code == 0
    told, users = notices()
    assert told == [(old.number, 2, True)]
    assert idle.id not in users
    assert reviewer.id in users

    with make.session() as session:
        approve_pass(session, old.id, make.user("reviewer"), now=now(), issuer=make.issuer())
    runner.invoke(args=["alerts", "queue-waiting"])
    told, _ = notices()
    assert told[0] == (old.number, 2, False)
    assert told[-1] == (young.number, 1, True)

    from tests.support import login

    client = app.test_client()
    login(client, reviewer.username)
    page = client.get("/notifications").get_data(as_text=True)
    assert young.number in page
    assert 'href="/review"' in page
    app.config["REVIEW_WAIT_ALERT_MINUTES"] = 0
    assert "off" in runner.invoke(args=["alerts", "queue-waiting"]).output
