"""Sweeps, anomalies, trip search and timelines, checkpoint administration."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from checkpoints.models import Anomaly
from sms.models import SmsMessage
from tests.support import api_token, audit_log_verifies, login, now, post_form


@pytest.fixture
def inside(client, make):
    """A truck that entered at a gate."""
    destination = make.enterprise()
    p = make.pass_(status="approved", destination_enterprise_id=destination.id)
    gate = make.checkpoint("gate")
    officer = make.officer(gate)
    headers = api_token(client, officer.username)
    body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
    entry = client.post("/api/v1/scans", json=body, headers=headers).get_json()
    return {"pass": p, "gate": gate, "trip": entry["trip"]["id"], "officer": officer}


def sweep(app, runner, hours):
    app.config["SMS_DELIVER_INLINE"] = False
    from checkpoints import services
    from checkpoints.domain import SweepPolicy

    with app.extensions["sessions"]() as session:
        return services.sweep(session, now=now() + timedelta(hours=hours), policy=SweepPolicy())


def test_sweep_raises_each_anomaly_once_and_notifies_the_enterprise(app, runner, inside, db):
    assert sweep(app, runner, 1) == []
    late = sweep(app, runner, 7)
    assert [a.kind for a in late] == ["no_arrival_yet"]
    assert sweep(app, runner, 7) == []  # idempotent
    later = sweep(app, runner, 25)
    assert sorted(a.kind for a in later) == ["overstay"]
    expired = sweep(app, runner, 24 * 4)
    assert [a.kind for a in expired] == ["expired_open"]
    db.rollback()
    messages = db.scalars(select(SmsMessage).where(SmsMessage.dedupe_key.like("anomaly:%"))).all()
    assert len(messages) == 3
    assert inside["pass"].vehicle.plate in messages[0].body
    assert messages[0].to == inside["pass"].enterprise.contact_phone
    assert audit_log_verifies(app).ok


def test_loop_sweep_command(runner, inside):
    result = runner.invoke(args=["loop", "sweep"])
    assert result.exit_code == 0
    assert "0 new anomalies" in result.output


def test_supervisor_resolves_an_anomaly_with_a_note(app, client, runner, make, inside, db):
    [anomaly] = sweep(app, runner, 7)
    supervisor = api_token(client, make.user("supervisor").username)
    listed = client.get("/api/v1/anomalies?open=true", headers=supervisor).get_json()
    assert [a["id"] for a in listed["items"]] == [anomaly.id]
    assert (
        client.post(
            f"/api/v1/anomalies/{anomaly.id}/resolve", json={"note": ""}, headers=supervisor
        ).status_code
        == 422
    )
    done = client.post(
        f"/api/v1/anomalies/{anomaly.id}/resolve",
        json={"note": "已电话联系司机"},
        headers=supervisor,
    )
    assert done.get_json()["resolved_at"]
    assert client.get("/api/v1/anomalies?open=true", headers=supervisor).get_json()["total"] == 0
    assert (
        client.post(
            f"/api/v1/anomalies/{anomaly.id}/resolve", json={"note": "再次"}, headers=supervisor
        ).status_code
        == 409
    )
    reviewer = api_token(client, make.user("reviewer").username)
    assert (
        client.post(
            f"/api/v1/anomalies/{anomaly.id}/resolve", json={"note": "试试"}, headers=reviewer
        ).status_code
        == 403
    )


def test_anomaly_page_resolve(app, client, runner, make, inside):
    sweep(app, runner, 7)
    login(client, make.user("supervisor").username)
    page = client.get("/anomalies").get_data(as_text=True)
    assert "进入辖区后长时间未到达" in page
    with app.extensions["sessions"]() as session:
        anomaly_id = session.scalar(select(Anomaly.id))
    post_form(client, f"/anomalies/{anomaly_id}/resolve", {"note": "已到达，补录"})
    assert "没有符合条件的异常" in client.get("/anomalies").get_data(as_text=True)


def test_trip_search_filters_and_timeline(client, make, inside):
    supervisor = api_token(client, make.user("supervisor").username)
    p = inside["pass"]
    plate = p.vehicle.plate

    def total(query):
        return client.get(f"/api/v1/trips?{query}", headers=supervisor).get_json()["total"]

    assert total(f"plate={plate[:3]}") == 1
    assert total(f"number={p.number}") == 1
    assert total("state=entered") == 1
    assert total("state=exited") == 0
    assert total(f"enterprise_id={p.enterprise_id}") == 1
    stamp = (now() - timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert total(f"from={stamp}") == 1
    assert (
        client.get("/api/v1/trips?from=2026-01-01T00:00:00", headers=supervisor).status_code == 422
    )
    assert client.get("/api/v1/trips?state=flying", headers=supervisor).status_code == 422
    detail = client.get(f"/api/v1/trips/{inside['trip']}", headers=supervisor).get_json()
    assert [e["event"] for e in detail["events"]] == ["entry"]
    login(client, make.user("supervisor").username)
    page = client.get(f"/trips/{inside['trip']}").get_data(as_text=True)
    assert "进入" in page
    assert inside["gate"].name in page


def test_trips_are_scoped_to_their_enterprise(client, make, inside):
    owner = api_token(client, make.enterprise_user(inside["pass"].enterprise).username)
    assert client.get("/api/v1/trips", headers=owner).get_json()["total"] == 1
    stranger = api_token(client, make.enterprise_user(make.enterprise()).username)
    assert client.get("/api/v1/trips", headers=stranger).get_json()["total"] == 0
    assert client.get(f"/api/v1/trips/{inside['trip']}", headers=stranger).status_code == 404


def test_checkpoint_administration(client, make, db):
    admin = api_token(client, make.user("admin").username)
    created = client.post(
        "/api/v1/checkpoints",
        headers=admin,
        json={"code": "g-ph-01", "name": "平湖收费站", "kind": "gate"},
    )
    assert created.status_code == 201
    assert created.get_json()["code"] == "G-PH-01"
    duplicate = client.post(
        "/api/v1/checkpoints",
        headers=admin,
        json={"code": "G-PH-01", "name": "重复", "kind": "gate"},
    )
    assert duplicate.status_code == 422
    site = client.post(
        "/api/v1/checkpoints", headers=admin, json={"code": "S-1", "name": "站点", "kind": "site"}
    )
    assert "enterprise_id" in site.get_json()["errors"]
    gate_id = created.get_json()["id"]
    officer = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "gate1",
            "password": "gate-pass-1",
            "role": "officer",
            "checkpoint_ids": [gate_id],
        },
    )
    assert officer.status_code == 201
    bad = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "gate2",
            "password": "gate-pass-1",
            "role": "officer",
            "checkpoint_ids": [424242],
        },
    )
    assert "checkpoint_ids" in bad.get_json()["errors"]
    closed = client.post(
        f"/api/v1/checkpoints/{gate_id}/active", headers=admin, json={"active": False}
    )
    assert closed.get_json()["active"] is False


def test_enterprise_requests_its_site_once(client, make):
    headers = api_token(client, make.enterprise_user(make.enterprise()).username)
    first = client.post("/api/v1/checkpoints/site", headers=headers).get_json()
    second = client.post("/api/v1/checkpoints/site", headers=headers).get_json()
    assert first["id"] == second["id"]
    assert first["kind"] == "site"


def test_admin_assigns_gates_to_an_officer_on_the_users_page(app, client, make, db):
    gate = make.checkpoint("gate")
    officer = make.officer()
    login(client, make.user("admin").username)
    assert gate.code in client.get("/admin/users?role=officer").get_data(as_text=True)
    post_form(client, f"/admin/users/{officer.id}/checkpoints", {"checkpoint_ids": gate.id})
    from checkpoints.models import officer_checkpoint

    db.rollback()
    assert db.execute(select(func.count()).select_from(officer_checkpoint)).scalar() == 1


def test_only_the_scanner_page_may_compile_webassembly(client, make):
    login(client, make.officer(make.checkpoint("gate")).username)
    scanner = client.get("/scan").headers["Content-Security-Policy"]
    assert "'wasm-unsafe-eval'" in scanner
    assert "unsafe-inline" not in scanner
    assert "wasm-unsafe-eval" not in client.get("/").headers["Content-Security-Policy"]
    wasm = client.get("/static/vendor/zxing-wasm-3.1.4/zxing_reader.wasm")
    assert wasm.mimetype == "application/wasm"
    wasm.close()


def test_the_supervisor_resolves_ticked_anomalies_with_one_note(client, make):
    app_ = client.application
    app_.config["REPEAT_SCAN_SECONDS"] = 0
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    passes = [make.pass_(status="approved") for _ in range(3)]
    for p in passes:  # in and out without arriving: an anomaly each
        for _ in range(2):
            body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code}
            client.post("/api/v1/scans", json=body, headers=officer)
    with make.session() as session:
        anomalies = session.scalars(select(Anomaly).order_by(Anomaly.id)).all()
    ticked = [str(a.id) for a in anomalies[:2]]
    login(client, make.user("supervisor").username)
    page = client.get("/anomalies").get_data(as_text=True)
    assert 'id="bulk-resolve"' in page
    assert f'value="{ticked[0]}" form="bulk-resolve"' in page
    none = post_form(client, "/anomalies/resolve", {"ids": ticked, "note": ""})
    assert none.status_code == 302
    done = post_form(client, "/anomalies/resolve", {"ids": ticked, "note": "已电话核实"})
    assert "已处理 2 条异常。" in client.get(done.headers["Location"]).get_data(as_text=True)
    with make.session() as session:
        resolved = {a.id: a.note for a in session.scalars(select(Anomaly))}
    assert [resolved[int(i)] for i in ticked] == ["已电话核实", "已电话核实"]
    assert resolved[anomalies[2].id] is None  # not ticked
    assert audit_log_verifies(client.application)
