"""The journey goes home: every scan of a peer's pass becomes an event owed to its issuer,
written with the scan, sent signed by the next sync, kept once by its id, in order per
pass, and nothing lost while the issuer is down; and peers witness each other's audit
logs, a fork caught and told."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from federation import documents
from federation import services as federation_services
from federation.models import FederationEvent, FederationPeer, FederationReport
from passes.models import Pass
from supervision.models import Notification
from tests.federation_world import jinshan as _jinshan
from tests.federation_world import network as _network
from tests.federation_world import pin, scan, sync
from tests.integration.test_backup_retention import fresh_database as _fresh_database
from tests.support import Factory, api_token, login, now
from tests.web.test_audit_api import write
from trust.context import sequencer

fresh_database, jinshan, network = _fresh_database, _jinshan, _network  # the fixtures


def journey(app, make, p):
    client = app.test_client()
    reader = make.user("supervisor", username=f"reader-{uuid.uuid4().hex[:8]}")
    headers = api_token(client, reader.username)
    answer = client.get(f"/api/v1/passes/{p.id}/journey", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["items"]


def bound_for_jinshan(make, consignee):
    p = make.pass_(status="approved")
    with make.session() as session:
        row = session.get(Pass, p.id)
        row.destination_credit_code, row.destination_name = consignee.credit_code, consignee.name
        row.destination_area_code = "310116"
        session.commit()
    return p


def test_the_loop_at_jinshan_reaches_pinghus_journey_in_order(app, make, jinshan, network):
    pin(app, jinshan)
    pin(jinshan, app)
    theirs = Factory(jinshan)
    consignee = theirs.enterprise()
    site, gate = theirs.checkpoint("site", consignee), theirs.checkpoint("gate")
    officer, receiver = theirs.officer(gate), theirs.enterprise_user(consignee)
    p = bound_for_jinshan(make, consignee)
    sync(jinshan)
    for user, place, event in ((officer, gate, "entry"), (receiver, site, "arrival")):
        assert scan(jinshan, user, place, code=p.code)["event"] == event
    assert scan(jinshan, officer, gate, code=p.code)["event"] == "exit"
    with theirs.session() as session:  # owed with the scans, before any sync
        owed = session.scalars(select(FederationEvent).order_by(FederationEvent.id)).all()
        assert [(e.peer_area_code, e.status) for e in owed] == [("330482", "pending")] * 3
    assert journey(app, make, p) == []

    assert "peer 330482: 0 passes, 3 events" in sync(jinshan)
    steps = journey(app, make, p)
    assert [(s["jurisdiction"], s["event"], s["decision"]) for s in steps] == [
        ("金山区", "entry", "allow"),
        ("金山区", "arrival", "allow"),
        ("金山区", "exit", "allow"),
    ]
    assert {s["area_code"] for s in steps} == {"310116"}
    assert steps[0]["checkpoint_code"] == gate.code
    assert steps[0]["reported_at"]
    with make.session() as session:  # each points at the one before it about this pass
        chain = session.scalars(select(FederationReport).order_by(FederationReport.id)).all()
        assert chain[0].previous_event_id is None
        assert [r.previous_event_id for r in chain[1:]] == [r.event_id for r in chain[:-1]]
    # The pass's page at the issuer shows the journey.
    client = app.test_client()
    make.user("supervisor", username="page-reader")
    login(client, "page-reader")
    page = client.get(f"/passes/{p.id}").get_data(as_text=True)
    assert 'id="journey"' in page
    assert "金山区" in page
    assert gate.name in page


def test_the_issuer_down_for_a_while_loses_no_event_and_sending_twice_keeps_one(
    app, make, jinshan, network
):
    pin(app, jinshan)
    pin(jinshan, app)
    theirs = Factory(jinshan)
    gate = theirs.checkpoint("gate")
    officer = theirs.officer(gate)
    p = make.pass_(status="approved")
    sync(jinshan)
    network.down.add("330482")
    assert scan(jinshan, officer, gate, code=p.code)["event"] == "entry"
    assert scan(jinshan, officer, gate, code=p.code)["event"] == "exit"
    for _ in range(2):
        assert "peer 330482: failed" in sync(jinshan)
    with theirs.session() as session:
        owed = session.scalars(select(FederationEvent)).all()
        assert {(e.status, e.attempts) for e in owed} == {("pending", 0)}  # never reached
    network.down.clear()
    assert "2 events" in sync(jinshan)
    assert [s["event"] for s in journey(app, make, p)] == ["entry", "exit"]
    # Sent again (an answer lost on the way back): the issuer keeps each event once.
    with theirs.session() as session:
        for event in session.scalars(select(FederationEvent)):
            event.status = "pending"
        session.commit()
    sync(jinshan)
    with make.session() as session:
        assert session.scalar(select(func.count()).select_from(FederationReport)) == 2


def test_only_a_pinned_peers_signed_report_about_our_own_pass_is_kept(app, make, jinshan, network):
    pin(app, jinshan)
    pin(jinshan, app)
    p = make.pass_(status="approved")
    from federation import context

    with jinshan.app_context():
        key = context.key()

    def event(pass_id, number):
        return {
            "event_id": uuid.uuid4().hex,
            "pass": {"id": pass_id, "number": number},
            "checkpoint": {"code": "JS-G1", "name": "金山卡口"},
            "event": "entry",
            "decision": "allow",
            "reasons": [],
            "at": now().isoformat(),
        }

    def post(events, signer=key, audience="330482"):
        body = {"iss": "310116", "aud": audience, "iat": 0, "events": events}
        token = documents.sign(body, signer.key(), signer.kid(), typ=documents.EVENTS_TYPE)
        return app.test_client().post(
            "/api/v1/federation/events", data=token, content_type="application/jose"
        )

    answer = post([event(p.id, p.number), event(p.id, "330482999999"), event(999, p.number)])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (body["accepted"], body["duplicates"]) == (1, 0)
    assert [r["reason"] for r in body["refused"]] == ["not_ours", "not_ours"]
    assert post([event(p.id, p.number)], audience="320500").status_code == 401
    assert post("not a list").status_code == 422
    from federation.keys import FederationKey

    impostor = FederationKey(__import__("pathlib").Path(jinshan.instance_path) / "impostor")
    assert post([event(p.id, p.number)], signer=impostor).status_code == 401
    unsigned = app.test_client().post("/api/v1/federation/events", data=b"{}")
    assert unsigned.status_code == 401
    with make.session() as session:
        assert session.scalar(select(func.count()).select_from(FederationReport)) == 1


def test_peers_witness_each_others_audit_logs_and_a_fork_is_caught(
    app, make, jinshan, network, monkeypatch
):
    pin(app, jinshan)
    pin(jinshan, app)
    make.user("admin", username="jinshan-admin-unused")  # Pinghu's own; Jinshan's below
    Factory(jinshan).user("supervisor", username="js-watch")
    write(app, ["a", "b", "c"])
    sequencer(app).tick()
    sync(jinshan)
    with jinshan.extensions["read_sessions"]() as session:
        first = session.get(FederationPeer, "330482")
        assert first.witness_state == "ok"
        size = first.witnessed["size"]
    write(app, ["d", "e"])
    sequencer(app).tick()
    sync(jinshan)  # grown: a consistency proof from Pinghu shows it extends what was kept
    with jinshan.extensions["read_sessions"]() as session:
        grown = session.get(FederationPeer, "330482")
        assert (grown.witness_state, grown.witness_error) == ("ok", None)
        assert grown.witnessed["size"] > size
        witnessed = grown.witnessed
    with make.session() as session:  # and Pinghu hears who holds its log
        held = session.get(FederationPeer, "310116").holds_ours
        assert (held["size"], held["root_hash"], held["agrees"]) == (
            witnessed["size"],
            witnessed["root_hash"],
            True,
        )
    watcher = make.user("supervisor", username="audit-watcher")
    pages = app.test_client()
    login(pages, watcher.username)
    audit_page = pages.get("/audit").get_data(as_text=True)
    assert f"金山区 亦持有本日志（前 {witnessed['size']} 条）" in audit_page

    # Pinghu now shows another history at the same size: a fork.
    real = federation_services.configuration

    def forked(*args, **kwargs):
        config = real(*args, **kwargs)
        config["audit_checkpoint"] = {**config["audit_checkpoint"], "root_hash": "ab" * 32}
        return config

    monkeypatch.setattr(federation_services, "configuration", forked)
    assert "witness" not in sync(jinshan)  # passes are still read; the peer is marked
    with jinshan.extensions["read_sessions"]() as session:
        peer = session.get(FederationPeer, "330482")
        assert peer.witness_state == "forked"
        assert "two roots" in peer.witness_error
        assert peer.witnessed == witnessed  # the last good checkpoint, kept as evidence
        told = session.scalars(select(Notification).where(Notification.kind == "peer_forked"))
        assert [n.data["area_code"] for n in told] == ["330482"]
        from core.audit import AuditEntry

        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "peer.fork"))


def test_peers_sync_age_events_owed_and_witness_state_are_measured(app, make, jinshan, network):
    from datetime import timedelta

    from tests.web.test_operations import TOKEN, figure, scrape

    pin(app, jinshan)
    pin(jinshan, app)
    jinshan.config["METRICS_TOKEN"] = TOKEN
    client = jinshan.test_client()
    assert client.get("/api/v1/ready").get_json()["checks"]["federation"] == "ok"
    theirs = Factory(jinshan)
    gate = theirs.checkpoint("gate")
    officer = theirs.officer(gate)
    p = make.pass_(status="approved")
    sync(jinshan)
    network.down.add("330482")
    scan(jinshan, officer, gate, code=p.code)
    with theirs.session() as session:
        peer = session.get(FederationPeer, "330482")
        peer.last_sync_at = now() - timedelta(hours=1)
        session.commit()
    body = scrape(client).get_data(as_text=True)
    assert figure(body, "trafficpass_federation_events", area_code="330482", state="pending") == 1
    age = figure(body, "trafficpass_federation_sync_age_seconds", area_code="330482")
    assert 3500 < age < 3700
    assert figure(body, "trafficpass_federation_peer_forked", area_code="330482") == 0
    ready = client.get("/api/v1/ready")  # a neighbour's outage shown, our gates still served
    assert ready.get_json()["checks"]["federation"] == "stale"
    assert ready.status_code == 200
