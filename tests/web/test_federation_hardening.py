"""What a peer sends, honest or not, never stops the sync of the others, never breaks our
trust list or scan path, never takes over another peer's name, and never writes a journey
step about a pass we did not issue."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from federation import documents, mirror, peer_keys
from federation.models import FederationPeer, FederationReport
from fleet.models import Driver
from passes.models import Pass
from tests.federation_world import jinshan as _jinshan
from tests.federation_world import network as _network
from tests.federation_world import pin, scan, sync
from tests.integration.test_backup_retention import fresh_database as _fresh_database
from tests.support import Factory, now

fresh_database, jinshan, network = _fresh_database, _jinshan, _network  # the fixtures


def feed_item(pass_id, number, **extra):
    start = now()
    return {
        "pass_id": pass_id,
        "number": number,
        "status": "approved",
        "suspended": False,
        "kid": 1,
        "plate": "浙F12345",
        "vehicle_type": "heavy_truck",
        "driver": {"name": "张三", "id_number_masked": "330482********0053"},
        "co_driver": None,
        "destination": {"credit_code": "X", "name": "某公司", "area_code": "330482"},
        "origin": "平湖",
        "cargo": "蔬菜",
        "category": "daily_necessities",
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=1)).isoformat(),
        "max_trips": 1,
        **extra,
    }


def test_two_people_sharing_a_masked_number_are_two_crew_rows(app, jinshan, network):
    pin(jinshan, app)
    with jinshan.extensions["sessions"]() as session:
        peer = session.get(FederationPeer, "330482")
        items = [
            feed_item(1, "330482000001"),
            feed_item(
                2, "330482000002", driver={"name": "李四", "id_number_masked": "330482********0053"}
            ),
        ]
        mirror.apply(session, peer, items, here="310116", now=now())
        session.commit()
        kept = session.scalars(select(Pass).where(Pass.issuer_area_code == "330482")).all()
        drivers = {p.driver.name: p.driver.id_number_masked for p in kept}
        assert drivers == {"张三": "330482********0053", "李四": "330482********0053"}
        assert session.scalar(select(Driver.phone).where(Driver.name == "李四")) == ""


def test_what_one_peer_sends_wrong_is_its_own_failure(app, make, jinshan, network, monkeypatch):
    pin(app, jinshan)
    pin(jinshan, app)
    from passes import feed

    real = feed.read
    for bad in (
        {"pass_id": 2**40},
        {"kid": -1},
        {"valid_until": (now() + timedelta(days=3650)).isoformat()},
    ):

        def read(*args, bad=bad, **kwargs):
            page = real(*args, **kwargs)
            page["items"] = [feed_item(1, "330482000001", **bad)]
            return page

        monkeypatch.setattr(feed, "read", read)
        assert "peer 330482: failed" in sync(jinshan), bad
    # The same number under two of its ids: the database refuses it; the sync says so.
    monkeypatch.setattr(
        feed,
        "read",
        lambda *a, **k: {
            **real(*a, **k),
            "items": [feed_item(1, "330482000001"), feed_item(2, "330482000001")],
        },
    )
    assert "peer 330482: failed" in sync(jinshan)
    with jinshan.extensions["read_sessions"]() as session:
        assert session.get(FederationPeer, "330482").last_error


def test_a_peers_unusable_keys_are_left_out_and_the_trust_list_still_answers(
    app, make, jinshan, network
):
    pin(app, jinshan)
    pin(jinshan, app)
    p = make.pass_(status="approved")
    sync(jinshan)
    with jinshan.extensions["sessions"]() as session:
        peer = session.get(FederationPeer, "330482")
        good = peer.config["pass_keys"]
        peer.config = {
            **peer.config,
            "pass_keys": [
                "not a key",
                {**good[0], "kid": "01"},
                {**good[0], "kid": "2", "kty": "RSA"},
                {**good[0], "kid": "3", "x": "!!"},
                {"kid": "4"},
                *good,
            ],
        }
        session.commit()
        assert [k.kid for k in peer_keys.usable_keys(peer, now())] == [int(good[0]["kid"])]
    jinshan.extensions["trust_cache"].loaded_at = None
    listed = jinshan.test_client().get("/api/v1/trust")
    assert listed.status_code == 200
    assert [len(p["keys"]) for p in listed.get_json()["peers"]] == [1]
    theirs = Factory(jinshan)
    gate = theirs.checkpoint("gate")
    answer = scan(jinshan, theirs.officer(gate), gate, code=p.code)
    assert answer["decision"] == "allow", answer["reasons"]


def test_another_address_cannot_take_over_a_pinned_peers_area_code(app, jinshan, network):
    from tests.federation_world import identity

    pin(jinshan, app)
    network.apps["http://impostor.example"] = app  # Pinghu's answer, at another address
    done = jinshan.test_cli_runner().invoke(
        args=[
            "federation",
            "peer",
            "add",
            "http://impostor.example",
            "--fingerprint",
            identity(app)["fingerprint"],
        ]
    )
    assert done.exit_code == 1
    assert "already pinned" in done.output
    with jinshan.extensions["read_sessions"]() as session:
        assert session.get(FederationPeer, "330482").base_url == app.config["PUBLIC_BASE_URL"]


def test_reports_about_passes_not_issued_or_out_of_time_are_refused(app, make, jinshan, network):
    pin(app, jinshan)
    pin(jinshan, app)
    waiting = make.pass_(status="submitted")
    live = make.pass_(status="approved")
    from federation import context

    with jinshan.app_context():
        key = context.key()

    def event(p, at):
        return {
            "event_id": uuid.uuid4().hex,
            "pass": {"id": p.id, "number": p.number},
            "checkpoint": {"code": "JS-G1", "name": "金山卡口"},
            "event": "entry",
            "decision": "allow",
            "reasons": [],
            "at": at.isoformat(),
        }

    body = {
        "iss": "310116",
        "aud": "330482",
        "iat": 0,
        "events": [
            event(waiting, now()),
            event(live, now() + timedelta(days=30)),
            event(live, now()),
        ],
    }
    token = documents.sign(body, key.key(), key.kid(), typ=documents.EVENTS_TYPE)
    answer = app.test_client().post("/api/v1/federation/events", data=token)
    assert answer.status_code == 200
    assert [r["reason"] for r in answer.get_json()["refused"]] == ["not_ours", "malformed"]
    with make.session() as session:
        assert session.scalars(select(FederationReport.pass_id)).all() == [live.id]


def test_deeply_nested_documents_are_refused_not_a_500(app):
    nested = "[" * 5000 + "]" * 5000
    import base64

    b64 = base64.urlsafe_b64encode(nested.encode()).rstrip(b"=").decode()
    token = f"eyJhbGciOiJFUzI1NiJ9.{b64}.c2ln"
    answer = app.test_client().post("/api/v1/federation/events", data=token)
    assert answer.status_code == 401


def test_a_replayed_older_configuration_a_new_name_or_a_vanished_log_are_not_taken(
    app, jinshan, network, monkeypatch
):
    from federation import services as federation_services
    from tests.web.test_audit_api import write
    from trust.context import sequencer

    pin(app, jinshan)
    pin(jinshan, app)
    write(app, ["a", "b"])
    sequencer(app).tick()
    sync(jinshan)
    real = federation_services.configuration

    def shown(**changes):
        def configuration(*args, **kwargs):
            return {**real(*args, **kwargs), **changes}

        monkeypatch.setattr(federation_services, "configuration", configuration)

    shown(issued_at=(now() - timedelta(days=2)).isoformat())
    assert "older than the one kept" in sync(jinshan)
    shown(name="金山区")  # renaming itself as another jurisdiction: its pinned name stays
    sync(jinshan)
    with jinshan.extensions["read_sessions"]() as session:
        peer = session.get(FederationPeer, "330482")
        assert (peer.name, peer.witness_state) == ("平湖市", "ok")
    shown(audit_checkpoint=None)  # a log that was witnessed does not vanish
    sync(jinshan)
    with jinshan.extensions["read_sessions"]() as session:
        peer = session.get(FederationPeer, "330482")
        assert peer.witness_state == "forked"
        assert "no longer publishes" in peer.witness_error
