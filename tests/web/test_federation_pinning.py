"""Federation, first step: this jurisdiction publishes its configuration as a JWS signed
by its federation key; an administrator pins a peer by URL and a fingerprint learnt out
of band, and a wrong fingerprint stores nothing."""

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import select

from core.audit import AuditEntry
from federation import client as federation_client
from federation import documents
from federation.keys import FederationKey
from federation.models import FederationPeer
from tests.federation_world import jinshan as _jinshan
from tests.integration.test_backup_retention import fresh_database as _fresh_database
from tests.support import api_token

fresh_database = _fresh_database  # the fixtures, under their names here
jinshan = _jinshan


def identity(app):
    done = app.test_cli_runner().invoke(args=["federation", "identity"])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def test_the_configuration_is_a_jws_signed_by_the_pinned_key(app, client, make):
    make.pass_(status="approved")  # a pass-signing key to publish
    me = identity(app)
    answer = client.get("/api/v1/federation")
    assert answer.status_code == 200
    assert answer.mimetype == "application/jose"
    token = answer.get_data(as_text=True)
    key = ECKey.import_key((Path(app.instance_path) / "keys" / "federation.pem").read_bytes())
    der = key.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert me["fingerprint"] == hashlib.sha256(der).hexdigest()
    public = ECKey.import_key(key.as_dict(private=False))
    payload = json.loads(jws.deserialize_compact(token, public, algorithms=["ES256"]).payload)
    assert payload["area_code"] == "330482"
    assert payload["name"] == "平湖市"
    assert {"federation_key", "pass_keys", "revocations_ctr", "audit_checkpoint"} <= set(payload)
    assert payload["pass_keys"][0]["kty"] == "EC"
    assert documents.verify_config(token, me["fingerprint"])[0] == payload


def test_a_peer_is_pinned_by_url_and_fingerprint_and_listed(
    app, client, make, runner, jinshan, monkeypatch
):
    peer_client = jinshan.test_client()
    fetched = []

    def fetch(base_url):
        fetched.append(base_url)
        return peer_client.get("/api/v1/federation").get_data(as_text=True)

    monkeypatch.setattr(federation_client, "fetch_configuration", fetch)
    theirs = identity(jinshan)
    wrong = "ab" * 32
    refused = runner.invoke(
        args=["federation", "peer", "add", "http://jinshan.example", "--fingerprint", wrong]
    )
    assert refused.exit_code == 1
    assert "nothing stored" in refused.output
    assert "does not have the fingerprint you entered" in refused.output
    assert theirs["fingerprint"] not in refused.output  # learnt by phone, never copied from here
    with app.extensions["read_sessions"]() as session:
        assert session.scalars(select(FederationPeer)).all() == []
    added = runner.invoke(
        args=[
            "federation",
            "peer",
            "add",
            "http://jinshan.example/",
            "--fingerprint",
            theirs["fingerprint"].upper(),
        ]
    )
    assert added.exit_code == 0, added.output
    assert fetched[-1] == "http://jinshan.example"
    supervisor = api_token(client, make.user("supervisor").username)
    listed = client.get("/api/v1/federation/peers", headers=supervisor).get_json()["items"]
    assert [(p["area_code"], p["name"], p["fingerprint"], p["status"]) for p in listed] == [
        ("310116", "金山区", theirs["fingerprint"], "active")
    ]
    enterprise = api_token(client, make.enterprise_user(make.enterprise()).username)
    assert client.get("/api/v1/federation/peers", headers=enterprise).status_code == 403

    removed = runner.invoke(args=["federation", "peer", "remove", "310116"])
    assert removed.exit_code == 0, removed.output
    assert client.get("/api/v1/federation/peers", headers=supervisor).get_json()["items"] == []
    with app.extensions["read_sessions"]() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_type == "peer")
        ).all()
    assert sorted(actions) == ["peer.add", "peer.remove"]
    assert runner.invoke(args=["federation", "peer", "remove", "310116"]).exit_code == 1


def test_a_new_key_is_taken_only_when_the_old_key_signed_the_change(tmp_path):
    old, new = FederationKey(tmp_path / "old"), FederationKey(tmp_path / "new")
    config = {"area_code": "310116", "name": "金山区", "federation_key": new.public_jwk()}
    unsigned = documents.sign(config, new.key(), new.kid())
    with pytest.raises(documents.DocumentError, match="no change signed by the pinned key"):
        documents.verify_config(unsigned, old.fingerprint())
    statement = documents.key_change_statement(old.key(), old.kid(), "310116", new.fingerprint())
    changed = {**config, "key_change": {"old_key": old.public_jwk(), "statement": statement}}
    token = documents.sign(changed, new.key(), new.kid())
    payload, now_pinned = documents.verify_config(token, old.fingerprint())
    assert now_pinned == new.fingerprint()
    # A statement for another jurisdiction, or signed by another key, does not do.
    other = documents.key_change_statement(old.key(), old.kid(), "999999", new.fingerprint())
    forged = {**config, "key_change": {"old_key": old.public_jwk(), "statement": other}}
    with pytest.raises(documents.DocumentError):
        documents.verify_config(documents.sign(forged, new.key(), new.kid()), old.fingerprint())
    stranger = FederationKey(tmp_path / "stranger")
    by_stranger = documents.key_change_statement(
        stranger.key(), stranger.kid(), "310116", new.fingerprint()
    )
    forged = {**config, "key_change": {"old_key": old.public_jwk(), "statement": by_stranger}}
    with pytest.raises(documents.DocumentError):
        documents.verify_config(documents.sign(forged, new.key(), new.kid()), old.fingerprint())


def test_bad_documents_and_addresses_are_refused_in_words(app, runner, monkeypatch):
    monkeypatch.setattr(federation_client, "fetch_configuration", lambda _url: "not.a.jws")
    for url, fingerprint, words in (
        ("http://x.example", "12", "64 hexadecimal digits"),
        ("ftp://x.example", "ab" * 32, "peer's address"),
        ("http://x.example", "ab" * 32, "does not answer with a signed configuration"),
    ):
        done = runner.invoke(args=["federation", "peer", "add", url, "--fingerprint", fingerprint])
        assert done.exit_code == 1
        assert words in done.output, done.output
    with app.extensions["read_sessions"]() as session:
        assert session.scalars(select(FederationPeer)).all() == []


def test_the_peers_page_pins_refuses_lists_and_removes(app, make, jinshan, monkeypatch):
    from tests.support import login, post_form

    peer_client = jinshan.test_client()
    monkeypatch.setattr(
        federation_client,
        "fetch_configuration",
        lambda _url: peer_client.get("/api/v1/federation").get_data(as_text=True),
    )
    theirs = identity(jinshan)
    admin = app.test_client()
    login(admin, make.user("admin").username)
    page = admin.get("/admin/federation")
    html = page.get_data(as_text=True)
    assert identity(app)["fingerprint"] in html  # ours, to give the neighbour
    assert "还没有互认辖区" in html or "No peer yet" in html
    wrong = post_form(
        admin, "/admin/federation", {"url": "http://jinshan.example", "fingerprint": "ab" * 32}
    )
    assert wrong.status_code == 422
    assert "不是您输入的指纹" in wrong.get_data(as_text=True)
    assert identity(jinshan)["fingerprint"] not in wrong.get_data(as_text=True)
    with app.extensions["read_sessions"]() as session:
        assert session.scalars(select(FederationPeer)).all() == []
    pinned = post_form(
        admin,
        "/admin/federation",
        {"url": "http://jinshan.example", "fingerprint": theirs["fingerprint"]},
    )
    assert pinned.status_code == 302
    listed = admin.get("/admin/federation").get_data(as_text=True)
    assert 'id="peer-310116"' in listed
    assert "金山区" in listed
    supervisor = app.test_client()
    login(supervisor, make.user("supervisor").username)
    seen = supervisor.get("/admin/federation").get_data(as_text=True)
    assert 'id="peer-310116"' in seen
    assert 'id="add-peer"' not in seen  # supervisors look, administrators pin
    gone = post_form(admin, "/admin/federation/310116/remove")
    assert gone.status_code == 302
    assert 'id="peer-310116"' not in admin.get("/admin/federation").get_data(as_text=True)
