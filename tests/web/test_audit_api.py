"""The audit log's API: the public signed checkpoint, RFC 6962 proofs a client checks on
its own, the entries list and verification."""

import base64
from datetime import datetime

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import text

from core import audit
from tests.support import api_token, now
from trust import audit_checkpoints, merkle
from trust.context import sequencer

# Entries named by a letter each, written as real actions
NAMES = ["pass.submit", "pass.approve", "pass.revoked", "scan.allow", "scan.deny", "scan.annul"]
ACTIONS = dict(zip("abcdefg", [*NAMES, "pass.rejected"], strict=True))


def write(app, letters):
    with app.extensions["sessions"]() as session:
        for i, letter in enumerate(letters):
            action = ACTIONS[letter]
            audit.record(
                session, actor_id=None, action=action, object_type="pass", object_id=i, now=now()
            )
        session.commit()


@pytest.fixture
def supervisor(client, make):
    make.user("supervisor", username="watcher")
    return api_token(client, "watcher")


def test_the_checkpoint_is_public_and_its_signature_checks_with_its_key(app, client):
    response = client.get("/api/v1/audit/checkpoint")
    assert response.status_code == 404
    assert response.get_json()["detail"]
    write(app, ["a", "b", "c"])
    sequencer(app).tick()

    body = client.get("/api/v1/audit/checkpoint").get_json()
    assert body["size"] == 3
    checkpoint = audit_checkpoints.Checkpoint.from_json(body)
    key = load_pem_public_key(body["public_key"].encode())
    key.verify(base64.b64decode(body["signature"]), checkpoint.body())  # raises if forged


def test_inclusion_and_consistency_proofs_check_against_signed_roots(app, client, supervisor):
    write(app, ["a", "b", "c"])
    sequencer(app).tick()
    first = client.get("/api/v1/audit/checkpoint").get_json()
    write(app, ["d", "e", "f", "g"])
    sequencer(app).tick()
    second = client.get("/api/v1/audit/checkpoint").get_json()
    m, n = first["size"], second["size"]  # the supervisor's creation is an entry too
    assert n == m + 4

    entries = client.get("/api/v1/audit/entries?per_page=100", headers=supervisor).get_json()
    entry = next(e for e in entries["items"] if e["action"] == ACTIONS["b"])
    proof = client.get(
        f"/api/v1/audit/proof?entry={entry['id']}&size={n}", headers=supervisor
    ).get_json()
    # The client rebuilds the leaf from the entry it was shown, not from the server's hash.
    leaf = merkle.leaf_hash(
        audit.canonical_json(
            seq=entry["seq"],
            at=datetime.fromisoformat(entry["at"]),
            actor_id=entry["actor_id"],
            action=entry["action"],
            object_type=entry["object_type"],
            object_id=entry["object_id"],
            data=entry["data"],
        )
    )
    merkle.verify_inclusion(
        proof["leaf_index"],
        proof["tree_size"],
        leaf,
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(second["root_hash"]),
    )
    consistency = client.get(f"/api/v1/audit/proof?from={m}&to={n}", headers=supervisor).get_json()
    merkle.verify_consistency(
        m,
        n,
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(h) for h in consistency["consistency"]],
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?entry=abc",
        "?entry=99999",
        "?from=5&to=2",
        "?from=1&to=50",
        "?from=1",
        "?entry=1&size=0",
    ],
)
def test_bad_proof_requests_are_clear_errors(app, client, supervisor, query):
    write(app, ["a", "b"])
    sequencer(app).tick()
    response = client.get(f"/api/v1/audit/proof{query}", headers=supervisor)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"]


def test_an_entry_not_yet_in_the_tree_has_no_proof_yet(app, client, supervisor):
    write(app, ["a"])
    entry = client.get("/api/v1/audit/entries", headers=supervisor).get_json()["items"][0]
    assert entry["seq"] is None
    assert entry["leaf_hash"] is None
    response = client.get(f"/api/v1/audit/proof?entry={entry['id']}", headers=supervisor)
    assert response.status_code == 422


def test_entries_filter_by_actor_action_object_and_time(app, client, make, supervisor):
    reviewer = make.user("reviewer", username="rev1")
    with app.extensions["sessions"]() as session:
        audit.record(
            session,
            actor_id=reviewer.id,
            action="pass.approve",
            object_type="pass",
            object_id=7,
            now=now(),
        )
        audit.record(
            session,
            actor_id=None,
            action="pass.revoked",
            object_type="pass",
            object_id=8,
            now=now(),
        )
        session.commit()

    def actions(query):
        body = client.get(f"/api/v1/audit/entries{query}", headers=supervisor).get_json()
        return [e["action"] for e in body["items"] if e["action"].startswith("pass.")]

    assert actions("?actor=rev1") == ["pass.approve"]
    assert actions(f"?actor={reviewer.id}") == ["pass.approve"]
    assert actions("?action=pass.revoked") == ["pass.revoked"]
    assert actions("?object_type=pass&object_id=7") == ["pass.approve"]
    assert actions("?from=2001-01-01") == ["pass.revoked", "pass.approve"]
    assert actions("?to=2002-01-01") == []
    bad = client.get("/api/v1/audit/entries?from=yesterday", headers=supervisor)
    assert bad.status_code == 422
    first = client.get("/api/v1/audit/entries?actor=rev1", headers=supervisor).get_json()
    assert first["items"][0]["actor"] == "rev1"


def test_verification_over_the_api_reports_a_rewrite(app, client, supervisor):
    write(app, ["a", "b", "c"])
    sequencer(app).tick()
    body = client.get("/api/v1/audit/verify", headers=supervisor).get_json()
    assert (body["ok"], body["checkpoints"], body["pending"]) == (True, 1, 0)
    assert body["entries"] == body["size"] >= 3
    with app.extensions["engine"].begin() as conn:
        conn.execute(text("UPDATE audit_entry SET action = 'z' WHERE seq = 2"))
    body = client.get("/api/v1/audit/verify", headers=supervisor).get_json()
    assert body["ok"] is False
    assert body["first_bad_id"] is not None
    assert body["problem"]
