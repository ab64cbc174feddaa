"""Faults of the scan path: a retry answered before any work, a clash at commit answered
without a 500, and junk key ids that cannot make every scan read the database."""

import uuid
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from checkpoints import scan_store
from checkpoints.models import Anomaly, Scan, Trip
from tests.support import Statements, api_token
from trust import tokens


@pytest.fixture
def gate(client, make):
    p = make.pass_(status="approved", max_trips=2)
    checkpoint = make.checkpoint("gate")
    headers = api_token(client, make.officer(checkpoint).username)

    def scan(code, scan_id=None, status=200):
        body = {
            "scan_id": scan_id or str(uuid.uuid4()),
            "checkpoint_id": checkpoint.id,
            "code": code,
        }
        response = client.post("/api/v1/scans", json=body, headers=headers)
        assert response.status_code == status, response.get_json()
        return response.get_json()

    return p, scan


def test_a_retry_is_answered_from_the_stored_scan_before_any_work(app, gate):
    p, scan = gate
    scan_id = str(uuid.uuid4())
    first = scan(p.code, scan_id)
    with Statements(app.extensions["engine"]) as seen:
        again = scan(p.code, scan_id)
    assert again == first
    writes = [s for s in seen if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    writes = [s for s in writes if "API_TOKEN" not in s]  # the bearer token's last use
    assert writes == []
    assert not [s for s in seen if "FROM PASS" in s or "FOR UPDATE" in s]


def test_a_clash_at_commit_is_a_clear_conflict_and_writes_nothing(app, gate, db, monkeypatch):
    p, scan = gate

    def clash(*_args, **_kwargs):
        raise IntegrityError("INSERT ...", {}, Exception("a constraint"))

    monkeypatch.setattr(scan_store.audit, "append", clash)
    body = scan(p.code, status=409)
    assert body["detail"]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Scan)) == 0
    assert db.scalar(select(func.count()).select_from(Trip)) == 0
    assert db.scalar(select(func.count()).select_from(Anomaly)) == 0


def test_codes_naming_made_up_key_ids_do_not_reload_the_keys_each_time(app, gate):
    p, scan = gate
    scan(p.code)  # the process has its keys
    claims, _, _ = tokens.parse(tokens.token_from_text(p.code))
    stranger = ec.generate_private_key(ec.SECP256R1())
    with Statements(app.extensions["engine"]) as seen:
        for kid in range(100, 130):
            junk = tokens.qr_text(
                "https://pass.example.cn", tokens.sign(replace(claims, kid=kid), stranger)
            )
            assert scan(junk)["reasons"] == ["unknown_key"]
    key_reads = [s for s in seen if "FROM SIGNING_KEY" in s]
    assert len(key_reads) <= 1, len(key_reads)
