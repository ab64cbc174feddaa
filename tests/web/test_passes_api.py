"""The pass workflow through the JSON API: apply, review, transitions, numbers, SMS."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from passes.models import Pass
from sms.models import SmsMessage
from tests.support import api_token, application, audit_log_verifies, now


@pytest.fixture
def shipper(client, make):
    enterprise = make.enterprise()
    user = make.enterprise_user(enterprise)
    vehicle, driver = make.vehicle(user), make.driver(user)
    return {
        "enterprise": enterprise,
        "user": user,
        "vehicle": vehicle,
        "driver": driver,
        "headers": api_token(client, user.username),
    }


@pytest.fixture
def reviewer(client, make):
    return api_token(client, make.user("reviewer").username)


def apply(client, shipper, **kw):
    # These tests file several passes for one truck on purpose.
    body = {**application(shipper["vehicle"].id, shipper["driver"].id), "file_anyway": True, **kw}
    return client.post("/api/v1/passes", json=body, headers=shipper["headers"])


def test_application_gets_a_twelve_digit_number_and_waits(client, shipper):
    first, second = apply(client, shipper), apply(client, shipper)
    assert first.status_code == 201
    body = first.get_json()
    assert re.fullmatch(r"330482\d{6}", body["number"])
    assert int(second.get_json()["number"]) == int(body["number"]) + 1
    assert body["status"] == "submitted"
    assert body["code"] is None
    assert body["vehicle"]["plate"] == shipper["vehicle"].plate
    assert body["driver"]["id_number_masked"].count("*") == 8
    assert body["destination_enterprise_id"] == shipper["enterprise"].id  # default: own


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"valid_from": "2026-11-22T08:00:00"}, "valid_from"),  # naive time
        ({"category": "weapons"}, "category"),
        ({"max_trips": 0}, "max_trips"),
        ({"origin": ""}, "origin"),
        ({"vehicle_id": 999999}, "vehicle_id"),
        ({"destination_enterprise_id": 999999}, "destination_enterprise_id"),
        ({"route_checkpoint_ids": [1]}, "route_checkpoint_ids"),
    ],
)
def test_bad_applications_are_422_and_write_nothing(client, shipper, db, change, field):
    response = apply(client, shipper, **change)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert db.scalars(select(Pass)).all() == []


def test_validity_rules(client, shipper):
    start = now()
    late = apply(client, shipper, valid_until=(start + timedelta(days=15)).isoformat())
    assert "valid_until" in late.get_json()["errors"]
    backwards = apply(client, shipper, valid_until=(start - timedelta(hours=1)).isoformat())
    assert "valid_until" in backwards.get_json()["errors"]


def test_another_enterprises_vehicle_cannot_be_used(client, shipper, make):
    other = make.enterprise_user(make.enterprise())
    foreign = make.vehicle(other)
    response = apply(client, shipper, vehicle_id=foreign.id)  # overrides the own vehicle
    assert "vehicle_id" in response.get_json()["errors"]


def test_archived_driver_cannot_be_used(client, shipper):
    client.post(
        f"/api/v1/drivers/{shipper['driver'].id}/archive",
        json={"archived": True},
        headers=shipper["headers"],
    )
    assert "driver_id" in apply(client, shipper).get_json()["errors"]


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_pending_or_suspended_enterprise_cannot_file(client, make, status):
    enterprise = make.enterprise(status=status)
    user = make.enterprise_user(enterprise)
    vehicle, driver = make.vehicle(user), make.driver(user)
    response = client.post(
        "/api/v1/passes",
        json=application(vehicle.id, driver.id),
        headers=api_token(client, user.username),
    )
    assert response.status_code == 403
    assert response.get_json()["detail"]


def test_approval_signs_issues_the_code_and_queues_the_sms(client, shipper, reviewer, db):
    pass_id = apply(client, shipper).get_json()["id"]
    response = client.post(f"/api/v1/passes/{pass_id}/approve", headers=reviewer)
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "approved"
    assert body["code"].startswith("HTTP://127.0.0.1:5000/P/")
    assert body["code"] == body["code"].upper()
    assert body["auto_approved"] is False
    [message] = db.scalars(select(SmsMessage).where(SmsMessage.pass_id == pass_id)).all()
    assert message.to == shipper["driver"].phone
    assert body["number"] in message.body
    assert shipper["vehicle"].plate in message.body
    key = db.get(Pass, pass_id).driver_key
    assert message.body.endswith(f"http://127.0.0.1:5000/d/{key}")  # the short link
    assert body["driver_url"] == f"http://127.0.0.1:5000/d/{key}"
    assert "/P/" not in message.body
    listed = client.get(f"/api/v1/passes/{pass_id}/messages", headers=shipper["headers"])
    assert listed.get_json()["items"][0]["status"] == "sent"  # console, delivered inline


def test_approval_and_sms_are_one_transaction(app, client, shipper, reviewer, db, monkeypatch):
    from sms import outbox

    pass_id = apply(client, shipper).get_json()["id"]

    def broken(*_args, **_kw):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(outbox, "enqueue", broken)
    assert client.post(f"/api/v1/passes/{pass_id}/approve", headers=reviewer).status_code == 500
    db.rollback()
    p = db.get(Pass, pass_id)
    assert p.status == "submitted"
    assert p.code is None


def test_whitelisted_enterprise_is_approved_automatically(client, make, db):
    enterprise = make.enterprise()
    admin = api_token(client, make.user("admin").username)
    client.post(
        f"/api/v1/enterprises/{enterprise.id}/whitelist", json={"whitelisted": True}, headers=admin
    )
    user = make.enterprise_user(enterprise)
    vehicle, driver = make.vehicle(user), make.driver(user)
    body = client.post(
        "/api/v1/passes",
        json=application(vehicle.id, driver.id),
        headers=api_token(client, user.username),
    ).get_json()
    assert body["status"] == "approved"
    assert body["auto_approved"] is True
    assert body["code"]
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "pass.approve")).one()
    assert entry.data["auto"] is True
    assert entry.actor_id is None


def test_transitions_and_forbidden_ones(client, shipper, reviewer):
    pass_id = apply(client, shipper).get_json()["id"]
    no_reason = client.post(f"/api/v1/passes/{pass_id}/reject", json={}, headers=reviewer)
    assert no_reason.status_code == 422
    assert (
        client.post(
            f"/api/v1/passes/{pass_id}/revoke", json={"reason": "不需要"}, headers=reviewer
        ).status_code
        == 409
    )
    approved = client.post(f"/api/v1/passes/{pass_id}/approve", headers=reviewer)
    assert approved.status_code == 200
    assert client.post(f"/api/v1/passes/{pass_id}/approve", headers=reviewer).status_code == 409
    assert (
        client.post(f"/api/v1/passes/{pass_id}/cancel", headers=shipper["headers"]).status_code
        == 409
    )
    revoked = client.post(
        f"/api/v1/passes/{pass_id}/revoke", json={"reason": "货物不符"}, headers=reviewer
    )
    assert revoked.get_json()["status"] == "revoked"
    assert revoked.get_json()["decision_reason"] == "货物不符"
    assert client.post(f"/api/v1/passes/{pass_id}/approve", headers=reviewer).status_code == 409


def test_enterprise_cancels_while_waiting(client, shipper, reviewer):
    pass_id = apply(client, shipper).get_json()["id"]
    response = client.post(f"/api/v1/passes/{pass_id}/cancel", headers=shipper["headers"])
    assert response.get_json()["status"] == "cancelled"
    assert client.post(f"/api/v1/passes/{pass_id}/approve", headers=reviewer).status_code == 409


def test_reject_records_the_reason(client, shipper, reviewer):
    pass_id = apply(client, shipper).get_json()["id"]
    body = client.post(
        f"/api/v1/passes/{pass_id}/reject", json={"reason": "资料不全"}, headers=reviewer
    ).get_json()
    assert (body["status"], body["decision_reason"]) == ("rejected", "资料不全")


def test_a_reason_may_span_lines_but_a_cargo_may_not(client, shipper, reviewer):
    reason = "资料不全：\r\n1. 缺少行驶证\n2. 缺少货单"
    pass_id = apply(client, shipper).get_json()["id"]
    body = client.post(
        f"/api/v1/passes/{pass_id}/reject", json={"reason": reason}, headers=reviewer
    ).get_json()
    assert body["decision_reason"] == reason
    for cargo in ["大米\n小麦", "大米\x01"]:
        refused = apply(client, shipper, cargo=cargo)
        assert refused.status_code == 422
        assert list(refused.get_json()["errors"]) == ["cargo"]


def test_bulk_approve_skips_what_is_not_waiting(client, shipper, reviewer):
    ids = [apply(client, shipper).get_json()["id"] for _ in range(3)]
    client.post(f"/api/v1/passes/{ids[0]}/cancel", headers=shipper["headers"])
    body = client.post(
        "/api/v1/passes/bulk-approve", json={"ids": [*ids, 424242]}, headers=reviewer
    ).get_json()
    assert body == {"approved": ids[1:], "skipped": [ids[0], 424242]}


def test_another_enterprise_sees_404_for_passes_and_their_images(client, shipper, reviewer, make):
    pass_id = apply(client, shipper).get_json()["id"]
    client.post(f"/api/v1/passes/{pass_id}/approve", headers=reviewer)
    other = api_token(client, make.enterprise_user(make.enterprise()).username)
    for path in ("", "/qr.png", "/qr.svg", "/messages"):
        assert client.get(f"/api/v1/passes/{pass_id}{path}", headers=other).status_code == 404
    assert client.post(f"/api/v1/passes/{pass_id}/cancel", headers=other).status_code == 404
    assert client.get("/api/v1/passes", headers=other).get_json()["total"] == 0


def test_list_filters(client, shipper, reviewer):
    first = apply(client, shipper).get_json()
    apply(client, shipper)
    client.post(f"/api/v1/passes/{first['id']}/approve", headers=reviewer)
    headers = shipper["headers"]
    assert client.get("/api/v1/passes?status=approved", headers=headers).get_json()["total"] == 1
    by_number = client.get(f"/api/v1/passes?number={first['number']}", headers=headers).get_json()
    assert [p["id"] for p in by_number["items"]] == [first["id"]]
    prefix = shipper["vehicle"].plate[:4]
    assert client.get(f"/api/v1/passes?plate={prefix}", headers=headers).get_json()["total"] == 2
    assert client.get("/api/v1/passes?status=lost", headers=headers).status_code == 422


def test_resend_queues_a_new_message_to_the_corrected_number(client, shipper, reviewer, db):
    pass_id = apply(client, shipper).get_json()["id"]
    client.post(f"/api/v1/passes/{pass_id}/approve", headers=reviewer)
    driver = shipper["driver"]
    client.put(
        f"/api/v1/drivers/{driver.id}",
        headers=shipper["headers"],
        json={"name": driver.name, "id_number": driver.id_number, "phone": "13999999999"},
    )
    response = client.post(f"/api/v1/passes/{pass_id}/messages", headers=shipper["headers"])
    assert response.status_code == 202
    db.rollback()
    messages = db.scalars(
        select(SmsMessage).where(SmsMessage.pass_id == pass_id).order_by(SmsMessage.id)
    ).all()
    assert [m.to for m in messages] == [driver.phone, "+8613999999999"]


def test_every_transition_is_in_the_audit_chain(app, client, shipper, reviewer, db):
    pass_id = apply(client, shipper).get_json()["id"]
    client.post(f"/api/v1/passes/{pass_id}/approve", headers=reviewer)
    client.post(f"/api/v1/passes/{pass_id}/revoke", json={"reason": "测试"}, headers=reviewer)
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "pass")).all()
    assert actions == ["pass.submit", "pass.approve", "pass.revoked"]
    assert audit_log_verifies(app).ok


def test_concurrent_applications_never_share_a_number(app, make):
    from passes import filing
    from passes.schemas import PassApplication

    enterprise = make.enterprise()
    owner = make.enterprise_user(enterprise)
    vehicle, driver = make.vehicle(owner), make.driver(owner)
    rules = filing.FilingRules(area_code="330482")
    numbers, errors = [], []

    def file_some():
        try:
            for _ in range(10):
                with app.extensions["sessions"]() as session:
                    p = filing.submit_pass(
                        session,
                        owner,
                        PassApplication.model_validate(
                            {**application(vehicle.id, driver.id), "file_anyway": True}
                        ),
                        now=now(),
                        rules=rules,
                        issuer=make.issuer(),
                    )
                    numbers.append(p.number)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=file_some) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(numbers) == 50
    assert sorted(int(n[6:]) for n in numbers) == list(range(1, 51))
