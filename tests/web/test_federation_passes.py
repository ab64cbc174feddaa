"""A peer's passes at our gates and sites: codes name their issuer inside the signed bytes;
a peer's pass feed, fetched by a signed request and signed itself, is kept here; its
passes enter, arrive at a consignee registered here by its credit code, and exit; its
revocation is refused here after a sync; a jurisdiction we do not federate with, or no
longer, is `unknown_issuer`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from federation import requests as signed_requests
from federation.models import FederationPeer
from passes import services
from passes.models import Pass
from tests.federation_world import JINSHAN_URL, identity, pin, scan, sync
from tests.federation_world import jinshan as _jinshan
from tests.federation_world import network as _network
from tests.integration.test_backup_retention import fresh_database as _fresh_database
from tests.support import Factory, now
from trust import tokens

fresh_database, jinshan, network = _fresh_database, _jinshan, _network  # the fixtures


def linked(app, jinshan):
    pin(app, jinshan)
    pin(jinshan, app)


def test_new_codes_name_their_issuer_inside_the_signed_bytes(app, make):
    p = make.pass_(status="approved")
    token = tokens.token_from_text(p.code)
    claims, body, _ = tokens.parse(token)
    assert body[0] == 2
    assert claims.issuer == "330482"
    assert claims.pass_id == p.id
    from trust import keys

    with make.session() as session:
        here = tokens.Keyring(keys.trusted_keys(session, now()), here="330482")
    assert tokens.verify(token, here, now()) == claims
    # The same bytes read as another jurisdiction's would not verify under its keys, and
    # a code naming a jurisdiction we do not know is unknown_issuer, whatever its key id.
    stranger = ec.generate_private_key(ec.SECP256R1())
    foreign = tokens.sign(
        tokens.Claims(claims.kid, 9, claims.valid_from, claims.valid_until, "苏E12345", "320500"),
        stranger,
    )
    with pytest.raises(tokens.TokenRejected, match="unknown_issuer"):
        tokens.verify(foreign, here, now())


def test_a_code_issued_before_federation_still_works(app, make):
    p = make.pass_(status="approved")
    gate = make.checkpoint("gate")
    officer = make.officer(gate)
    with make.session() as session:
        signer_kid = session.get(Pass, p.id).key_id
    from trust import keys

    with make.session() as session:
        signer = keys.current_signer(session, make.issuer().key_dir, now())
        assert signer.kid == signer_kid
    old = tokens.sign(
        tokens.Claims(signer.kid, p.id, p.valid_from, p.valid_until, p.vehicle.plate),
        signer.private_key,
    )
    assert tokens.parse(old)[1][0] == 1  # version 1: no issuer
    answer = scan(app, officer, gate, code=tokens.qr_text(app.config["PUBLIC_BASE_URL"], old))
    assert (answer["decision"], answer["event"]) == ("allow", "entry")
    assert answer["pass"]["issuer"] == {"area_code": "330482", "name": "平湖市"}


def test_a_peers_pass_enters_arrives_and_exits_here_and_its_revocation_follows(
    app, make, jinshan, network
):
    linked(app, jinshan)
    theirs = Factory(jinshan)
    consignee = theirs.enterprise()
    site = theirs.checkpoint("site", consignee)
    gate = theirs.checkpoint("gate")
    officer = theirs.officer(gate)
    receiver = theirs.enterprise_user(consignee)
    # A Pinghu pass bound for the Jinshan consignee, by its unified social credit code.
    p = make.pass_(status="approved")
    with make.session() as session:
        row = session.get(Pass, p.id)
        row.destination_credit_code, row.destination_name = consignee.credit_code, consignee.name
        row.destination_area_code = "310116"
        session.commit()
    assert "peer 330482: 1 passes" in sync(jinshan)
    with theirs.session() as session:
        kept = session.scalars(select(Pass).where(Pass.issuer_ref == f"330482/{p.id}")).one()
        assert kept.number == p.number
        assert kept.destination_enterprise_id == consignee.id
        assert kept.code is None
        assert kept.driver.phone == ""

    entered = scan(jinshan, officer, gate, code=p.code)
    assert (entered["decision"], entered["event"]) == ("allow", "entry")
    assert entered["pass"]["issuer"] == {"area_code": "330482", "name": "平湖市"}
    assert entered["pass"]["number"] == p.number
    arrived = scan(jinshan, receiver, site, code=p.code)
    assert (arrived["decision"], arrived["event"]) == ("allow", "arrival")
    left = scan(jinshan, officer, gate, code=p.code)
    assert (left["decision"], left["event"], left["trip"]["state"]) == ("allow", "exit", "exited")

    # Revoked at Pinghu: refused at Jinshan after one sync.
    reviewer = make.user("reviewer")
    from passes import services

    with make.session() as session:
        services.revoke_pass(session, p.id, reviewer, "测试吊销", now=now())
    assert "peer 330482: 1 passes" in sync(jinshan)
    again = scan(jinshan, officer, gate, code=p.code, direction="entry")
    assert (again["decision"], again["reasons"]) == ("deny", ["revoked"])


def test_a_pass_bound_elsewhere_passes_through_but_no_site_here_receives_it(
    app, make, jinshan, network
):
    linked(app, jinshan)
    theirs = Factory(jinshan)
    gate = theirs.checkpoint("gate")
    officer = theirs.officer(gate)
    rival = theirs.enterprise()
    site = theirs.checkpoint("site", rival)
    p = make.pass_(status="approved")  # bound for a Pinghu consignee: transit at Jinshan
    sync(jinshan)
    assert scan(jinshan, officer, gate, code=p.code)["event"] == "entry"
    refused = scan(jinshan, theirs.enterprise_user(rival), site, code=p.code)
    assert (refused["decision"], refused["reasons"]) == ("deny", ["wrong_destination"])
    assert scan(jinshan, officer, gate, code=p.code)["event"] == "exit"


def test_unknown_and_removed_issuers_are_named_so(app, make, jinshan, network):
    linked(app, jinshan)
    theirs = Factory(jinshan)
    gate = theirs.checkpoint("gate")
    officer = theirs.officer(gate)
    p = make.pass_(status="approved")
    sync(jinshan)
    stranger = ec.generate_private_key(ec.SECP256R1())
    start = now()
    third = tokens.sign(
        tokens.Claims(1, 77, start, start + timedelta(days=1), "苏E12345", "320500"), stranger
    )
    answer = scan(jinshan, officer, gate, code=tokens.qr_text("http://suzhou.example", third))
    assert (answer["decision"], answer["reasons"]) == ("deny", ["unknown_issuer"])
    done = jinshan.test_cli_runner().invoke(args=["federation", "peer", "remove", "330482"])
    assert done.exit_code == 0, done.output
    jinshan.extensions["trust_cache"].loaded_at = None
    for body in ({"code": p.code}, {"number": p.number, "plate": p.vehicle.plate}):
        answer = scan(jinshan, officer, gate, **body)
        assert (answer["decision"], answer["reasons"]) == ("deny", ["unknown_issuer"]), body


def test_the_pass_feed_answers_only_a_pinned_peers_signed_request(app, make, jinshan, network):
    make.pass_(status="approved")
    client = app.test_client()
    assert client.get("/api/v1/federation/passes").status_code == 401
    linked(app, jinshan)
    from federation import context

    with jinshan.app_context():
        key = context.key()

    def ask(audience="330482", target="/federation/passes?since=0", path=None):
        auth = signed_requests.authorization(
            key, issuer="310116", audience=audience, method="GET", target=target, now=now()
        )
        return client.get(path or f"/api/v1{target}", headers={"Authorization": auth})

    assert ask().status_code == 200
    assert ask(audience="320500").status_code == 401
    assert ask(path="/api/v1/federation/passes?since=5").status_code == 401  # other target
    assert ask(target="/federation/passes?since=x").status_code == 422
    # A stranger's key under Jinshan's name is not Jinshan.
    from federation.keys import FederationKey

    impostor = FederationKey(
        app.instance_path and __import__("pathlib").Path(jinshan.instance_path) / "x"
    )
    forged = signed_requests.authorization(
        impostor,
        issuer="310116",
        audience="330482",
        method="GET",
        target="/federation/passes?since=0",
        now=now(),
    )
    assert (
        client.get(
            "/api/v1/federation/passes?since=0", headers={"Authorization": forged}
        ).status_code
        == 401
    )


def test_a_peer_down_keeps_what_we_had_and_says_why(app, make, jinshan, network):
    linked(app, jinshan)
    p = make.pass_(status="approved")
    sync(jinshan)
    network.down.add("330482")
    output = sync(jinshan)
    assert "peer 330482: failed" in output
    assert "cannot be reached" in output
    with jinshan.extensions["read_sessions"]() as session:
        peer = session.get(FederationPeer, "330482")
        assert "cannot be reached" in peer.last_error
        assert session.scalars(
            select(Pass.number).where(Pass.issuer_area_code == "330482")
        ).all() == [p.number]
    network.down.clear()
    assert "peer 330482: 0 passes" in sync(jinshan)
    with jinshan.extensions["read_sessions"]() as session:
        assert session.get(FederationPeer, "330482").last_error is None
    assert identity(jinshan)["area_code"] == "310116"
    assert JINSHAN_URL in network.apps


def test_a_peers_number_typed_at_our_gate_asks_its_issuer(app, make, jinshan, network):
    linked(app, jinshan)
    theirs = Factory(jinshan)
    gate = theirs.checkpoint("gate")
    officer = theirs.officer(gate)
    synced = make.pass_(status="approved")
    sync(jinshan)
    fresh = make.pass_(status="approved")  # approved since Jinshan's last sync

    def typed(p, plate=None, **extra):
        typed_plate = plate or p.vehicle.plate
        return scan(jinshan, officer, gate, number=p.number, plate=typed_plate, **extra)

    answer = typed(fresh)
    assert (answer["decision"], answer["event"], answer["asked_issuer"]) == (
        "allow",
        "entry",
        "answered",
    )
    assert answer["pass"]["issuer"]["area_code"] == "330482"
    # Revoked at Pinghu a moment ago, before any sync: the typed number is refused.
    with make.session() as session:
        services.revoke_pass(session, fresh.id, make.user("reviewer"), "测试吊销", now=now())
    refused = typed(fresh, direction="entry")
    assert (refused["decision"], refused["reasons"], refused["asked_issuer"]) == (
        "deny",
        ["revoked"],
        "answered",
    )
    wrong = typed(synced, plate="浙A99999")
    assert (wrong["decision"], wrong["asked_issuer"]) == ("deny", "not_found")
    network.down.add("330482")  # the kept copy decides, and the answer says so
    kept = typed(synced)
    assert (kept["decision"], kept["event"], kept["asked_issuer"]) == (
        "allow",
        "entry",
        "unreachable",
    )
    ours = scan(jinshan, officer, gate, number="310116999999", plate="沪A12345")
    assert "asked_issuer" not in ours  # not a peer's number: nobody is asked


def test_a_typed_number_of_a_jurisdiction_not_federated_is_unknown_issuer(app, make):
    gate = make.checkpoint("gate")
    officer = make.officer(gate)
    stranger = scan(app, officer, gate, number="320500000001", plate="苏E12345")
    assert (stranger["decision"], stranger["reasons"]) == ("deny", ["unknown_issuer"])
    typo = scan(app, officer, gate, number="330482999998", plate="浙F12345")
    assert typo["reasons"] == ["not_found"]  # our own number, no such pass: as before
