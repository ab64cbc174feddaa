"""GET /api/v1/revocations: the signed list of passes to refuse, its counter, deltas, and
entries leaving once their pass has expired; verifiable with the keys of /api/v1/trust."""

import base64
from datetime import timedelta

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.support import api_token, now
from trust import revocations


def verify(client, body):
    """Check `body` as a phone would: the key from /api/v1/trust, ES256 over the canonical
    JSON, raw r||s."""
    trust = client.get("/api/v1/trust").get_json()
    [jwk] = [k["jwk"] for k in trust["keys"] if k["kid"] == body["kid"]]

    def number(b64):
        return int.from_bytes(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)), "big")

    key = ec.EllipticCurvePublicNumbers(number(jwk["x"]), number(jwk["y"]), ec.SECP256R1())
    raw = base64.urlsafe_b64decode(body["signature"] + "=" * (-len(body["signature"]) % 4))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.public_key().verify(der, revocations.canonical(body), ec.ECDSA(hashes.SHA256()))


def listed(body):
    return [e["pass_id"] for e in body["revoked"]]


def test_revoking_lists_the_pass_and_moves_the_counter(client, make):
    before = client.get("/api/v1/trust").get_json()["revocations_ctr"]
    empty = client.get("/api/v1/revocations").get_json()
    verify(client, empty)
    assert listed(empty) == []
    revoked = make.pass_(status="revoked")
    make.pass_(status="approved")  # a valid pass is not on the list
    body = client.get("/api/v1/revocations").get_json()
    verify(client, body)
    assert listed(body) == [revoked.id]
    assert body["ctr"] == before + 1
    assert client.get("/api/v1/trust").get_json()["revocations_ctr"] == body["ctr"]


def test_since_answers_only_the_changes(client, make):
    first = make.pass_(status="revoked")
    ctr = client.get("/api/v1/revocations").get_json()["ctr"]
    second = make.pass_(status="revoked")
    delta = client.get(f"/api/v1/revocations?since={ctr}").get_json()
    verify(client, delta)
    assert listed(delta) == [second.id]
    assert delta["since"] == ctr
    assert first.id not in listed(delta)
    unchanged = client.get(f"/api/v1/revocations?since={delta['ctr']}").get_json()
    assert (listed(unchanged), unchanged["restored"]) == ([], [])


def test_suspension_lists_an_enterprises_passes_and_lifting_it_restores_them(client, make):
    admin = api_token(client, make.user("admin").username)
    p = make.pass_(status="approved")
    ctr = client.get("/api/v1/revocations").get_json()["ctr"]
    client.post(f"/api/v1/enterprises/{p.enterprise_id}/suspend", headers=admin)
    assert p.id in listed(client.get("/api/v1/revocations").get_json())
    mid = client.get("/api/v1/revocations").get_json()["ctr"]
    client.post(f"/api/v1/enterprises/{p.enterprise_id}/approve", headers=admin)
    full = client.get("/api/v1/revocations").get_json()
    assert p.id not in listed(full)
    delta = client.get(f"/api/v1/revocations?since={mid}").get_json()
    assert delta["restored"] == [p.id]
    assert client.get(f"/api/v1/revocations?since={ctr}").get_json()["restored"] == [p.id]


def test_entries_drop_out_once_their_pass_has_expired(app, client, make):
    p = make.pass_(status="revoked")
    assert listed(client.get("/api/v1/revocations").get_json()) == [p.id]
    app.extensions["clock"] = lambda: p.valid_until + timedelta(minutes=1)
    assert listed(client.get("/api/v1/revocations").get_json()) == []
    app.extensions["clock"] = now


def test_a_tampered_list_does_not_verify(client, make):
    make.pass_(status="revoked")
    body = client.get("/api/v1/revocations").get_json()
    body["revoked"] = []
    with pytest.raises(InvalidSignature):
        verify(client, body)


@pytest.mark.parametrize("since", ["-1", "abc", "1.5", str(2**40)])
def test_a_bad_since_is_a_422(client, since):
    response = client.get(f"/api/v1/revocations?since={since}")
    assert response.status_code == 422
    assert "since" in response.get_json()["errors"]
