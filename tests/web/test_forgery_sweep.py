"""Forgery sweep through POST /api/v1/scans: every single-bit flip and every truncation of a
real pass token, tokens signed by an unknown or a foreign key, a revoked and an expired
pass. Each is denied with the right reason and nothing is recorded as allowed."""

import base64
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from checkpoints.models import Scan, Trip
from tests.support import api_token, now
from trust import tokens

FORGED = {"malformed", "unknown_key", "bad_signature", "unknown_issuer"}  # a flipped issuer


@pytest.fixture
def gate(client, make):
    p = make.pass_(status="approved")
    checkpoint = make.checkpoint("gate")
    headers = api_token(client, make.officer(checkpoint).username)

    def scan(code):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": code}
        response = client.post("/api/v1/scans", json=body, headers=headers)
        assert response.status_code == 200, (code, response.get_json())
        return response.get_json()

    return p, scan


def qr(token):
    return tokens.qr_text("https://pass.example.cn", token)


def b32(data):
    return base64.b32encode(data).decode().rstrip("=")


def assert_nothing_allowed(db):
    db.rollback()
    assert db.scalar(select(func.count()).where(Scan.decision == "allow")) == 0
    assert db.scalar(select(func.count()).select_from(Trip)) == 0


def test_every_bit_flip_and_truncation_is_denied(gate, db):
    p, scan = gate
    token = tokens.token_from_text(p.code)
    raw = base64.b32decode(token + "=" * (-len(token) % 8))
    tried = 0
    for i in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[i // 8] ^= 0x80 >> (i % 8)
        result = scan(qr(b32(bytes(flipped))))
        assert result["decision"] == "deny", i
        assert result["reasons"][0] in FORGED, (i, result["reasons"])
        assert result["pass"] is None, "a forged code shows no pass details"
        tried += 1
    for cut in range(len(token)):
        result = scan(qr(token[:cut]))
        assert result["decision"] == "deny", cut
        assert result["reasons"][0] in FORGED | {"not_found"}, (cut, result["reasons"])
        tried += 1
    assert tried == len(raw) * 8 + len(token)
    assert_nothing_allowed(db)


def test_unknown_and_foreign_keys_are_denied(gate, db):
    p, scan = gate
    claims, _, _ = tokens.parse(tokens.token_from_text(p.code))
    stranger = ec.generate_private_key(ec.SECP256R1())
    unknown = tokens.sign(replace(claims, kid=99), stranger)
    assert scan(qr(unknown))["reasons"] == ["unknown_key"]
    impostor = tokens.sign(claims, stranger)  # the real key id, someone else's key
    assert scan(qr(impostor))["reasons"] == ["bad_signature"]
    assert_nothing_allowed(db)


def test_revoked_and_expired_passes_are_denied(app, client, make, db):
    revoked = make.pass_(status="revoked")
    expired = make.pass_(status="approved")
    checkpoint = make.checkpoint("gate")
    officer = make.officer(checkpoint).username
    headers = api_token(client, officer)

    def scan(p):
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": checkpoint.id, "code": p.code}
        return client.post("/api/v1/scans", json=body, headers=headers).get_json()

    result = scan(revoked)
    assert result["decision"] == "deny"
    assert result["reasons"] == ["revoked"]
    app.extensions["clock"] = lambda: expired.valid_until + timedelta(hours=1)
    headers.update(api_token(client, officer))
    result = scan(expired)
    assert result["decision"] == "deny"
    assert result["reasons"] == ["expired"]
    assert now() < expired.valid_until
    assert_nothing_allowed(db)


def test_the_high_s_twin_of_a_real_signature_is_denied(gate, db):
    """(r, n - s) verifies under plain ECDSA: it would be a second text for the same pass."""
    p, scan = gate
    token = tokens.token_from_text(p.code)
    raw = base64.b32decode(token + "=" * (-len(token) % 8))
    body, r, s = raw[:-64], raw[-64:-32], int.from_bytes(raw[-32:], "big")
    assert s <= tokens.HALF_ORDER, "issued codes are low-S"
    twin = body + r + (tokens.CURVE_ORDER - s).to_bytes(32, "big")
    result = scan(qr(b32(twin)))
    assert (result["decision"], result["reasons"]) == ("deny", ["bad_signature"])
    assert_nothing_allowed(db)
