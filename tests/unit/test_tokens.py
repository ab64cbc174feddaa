"""Pass tokens: exact layout, round trip, every rejection reason, every bit flip."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from trust import qr, tokens
from trust.tokens import Claims, TokenRejected, TrustedKey

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())
KEYS = {1: TrustedKey(1, KEY.public_key(), NOW - timedelta(days=1))}
CLAIMS = Claims(1, 123456, NOW, NOW + timedelta(days=3), "浙F12345")


def raw(token):
    return base64.b32decode(token + "=" * (-len(token) % 8))


def b32(data):
    return base64.b32encode(data).decode().rstrip("=")


def test_round_trip():
    token = tokens.sign(CLAIMS, KEY)
    assert tokens.verify(token, KEYS, NOW) == CLAIMS
    assert tokens.verify(token.lower(), KEYS, NOW) == CLAIMS


def test_layout_matches_the_design():
    data = raw(tokens.sign(CLAIMS, KEY))
    plate = "浙F12345".encode()
    assert data[0] == 1  # version
    assert data[1] == 1  # kid
    assert int.from_bytes(data[2:10], "big") == 123456
    assert int.from_bytes(data[10:14], "big") == int(NOW.timestamp() // 60)
    assert data[18] == len(plate)
    assert data[19 : 19 + len(plate)] == plate
    assert len(data) == 19 + len(plate) + 64


def test_signature_is_raw_p256_over_the_domain_tag_and_body():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    data = raw(tokens.sign(CLAIMS, KEY))
    body, sig = data[:-64], data[-64:]
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    KEY.public_key().verify(der, b"TP1" + body, ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("token", ["", "!!!!", "A" * 20, "AB=CD", "Ä" * 150, "A" * 2000])
def test_malformed(token):
    with pytest.raises(TokenRejected) as exc:
        tokens.verify(token, KEYS, NOW)
    assert exc.value.reason == "malformed"


def test_a_second_spelling_of_a_token_is_malformed():
    """Base32 leaves bits unused in the last character; set, they decode to the same bytes."""
    import base64

    token = tokens.sign(CLAIMS, KEY)
    unused = 5 * len(token) % 8
    assert unused  # the token's length leaves spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    twin = token[:-1] + alphabet[alphabet.index(token[-1]) | 1]
    padded = twin + "=" * (-len(twin) % 8)
    assert base64.b32decode(padded) == raw(token)
    assert tokens.verify(token, KEYS, NOW) == CLAIMS
    with pytest.raises(TokenRejected) as exc:
        tokens.verify(twin, KEYS, NOW)
    assert exc.value.reason == "malformed"


def test_unknown_key():
    claims = Claims(7, 1, NOW, NOW + timedelta(days=1), "浙F12345")
    with pytest.raises(TokenRejected) as exc:
        tokens.verify(tokens.sign(claims, KEY), KEYS, NOW)
    assert exc.value.reason == "unknown_key"


def test_key_not_yet_in_force_is_unknown():
    keys = {1: TrustedKey(1, KEY.public_key(), NOW + timedelta(hours=1))}
    with pytest.raises(TokenRejected) as exc:
        tokens.verify(tokens.sign(CLAIMS, KEY), keys, NOW)
    assert exc.value.reason == "unknown_key"


def test_signed_by_another_key_is_a_bad_signature():
    with pytest.raises(TokenRejected) as exc:
        tokens.verify(tokens.sign(CLAIMS, OTHER), KEYS, NOW)
    assert exc.value.reason == "bad_signature"


def test_every_single_bit_flip_is_rejected():
    data = raw(tokens.sign(CLAIMS, KEY))
    flips = 0
    for i in range(len(data) * 8):
        mutated = bytearray(data)
        mutated[i // 8] ^= 1 << (i % 8)
        with pytest.raises(TokenRejected):
            tokens.verify(b32(bytes(mutated)), KEYS, NOW)
        flips += 1
    assert flips == len(data) * 8


def test_every_character_change_of_the_text_is_rejected():
    token = tokens.sign(CLAIMS, KEY)
    for i in range(len(token)):
        replacement = "A" if token[i] != "A" else "B"
        with pytest.raises(TokenRejected):
            tokens.verify(token[:i] + replacement + token[i + 1 :], KEYS, NOW)


def test_every_truncation_is_rejected():
    token = tokens.sign(CLAIMS, KEY)
    for n in range(len(token)):
        with pytest.raises(TokenRejected):
            tokens.verify(token[:n], KEYS, NOW)


def test_qr_text_is_upper_case_and_yields_the_token_back():
    token = tokens.sign(CLAIMS, KEY)
    text = tokens.qr_text("http://127.0.0.1:5000", token)
    assert text == text.upper()
    assert text.startswith("HTTP://127.0.0.1:5000/P/")
    assert tokens.token_from_text(text) == token
    assert tokens.token_from_text(text.lower()) == token.lower()
    assert tokens.token_from_text("not a pass") is None


def test_qr_stays_small_for_a_ten_character_plate():
    claims = Claims(1, 10**9, NOW, NOW + timedelta(days=14), "浙FD12345挂"[:9] + "X")
    text = tokens.qr_text("https://pass.pinghu.gov.cn", tokens.sign(claims, KEY))
    assert qr.version(text) <= 8


def test_every_signature_is_low_s_and_its_high_s_twin_is_rejected():
    """Plain ECDSA accepts (r, s) and (r, n - s); one code per pass means low-S only."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    for pass_id in range(40):  # about half of raw ECDSA signatures are high-S
        token = tokens.sign(Claims(1, pass_id, NOW, NOW + timedelta(days=1), "浙F1"), KEY)
        data = raw(token)
        r, s = int.from_bytes(data[-64:-32], "big"), int.from_bytes(data[-32:], "big")
        assert s <= tokens.HALF_ORDER
        twin_s = tokens.CURVE_ORDER - s
        twin = b32(data[:-32] + twin_s.to_bytes(32, "big"))
        # The twin is a valid ECDSA signature...
        KEY.public_key().verify(
            encode_dss_signature(r, twin_s), b"TP1" + data[:-64], ec.ECDSA(hashes.SHA256())
        )
        # ...which the token check refuses.
        with pytest.raises(TokenRejected) as refused:
            tokens.verify(twin, KEYS, NOW)
        assert refused.value.reason == "bad_signature"


def test_the_migration_turns_stored_high_s_codes_into_the_valid_twin():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "migrations/versions/0007_low_s_codes.py"
    spec = importlib.util.spec_from_file_location("low_s_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    token = tokens.sign(CLAIMS, KEY)
    data = raw(token)
    high = b32(
        data[:-32] + (tokens.CURVE_ORDER - int.from_bytes(data[-32:], "big")).to_bytes(32, "big")
    )
    stored = tokens.qr_text("https://pass.example.cn", high)
    fixed = migration.low_s(stored)
    assert fixed == tokens.qr_text("https://pass.example.cn", token)
    assert tokens.verify(tokens.token_from_text(fixed), KEYS, NOW) == CLAIMS
    assert migration.low_s(fixed) == fixed


ISSUED = Claims(1, 123456, NOW, NOW + timedelta(days=3), "浙F12345", "330482")
HERE = tokens.Keyring(KEYS, here="330482")


def test_version_2_names_its_issuer_inside_the_signed_bytes():
    data = raw(tokens.sign(ISSUED, KEY))
    assert data[0] == 2
    assert int.from_bytes(data[1:4], "big") == 330482  # the issuer's area code
    assert data[4] == 1  # kid
    assert int.from_bytes(data[5:9], "big") == 123456
    assert int.from_bytes(data[9:13], "big") == int(NOW.timestamp() // 60)
    assert data[17] == len("浙F12345".encode())
    assert len(data) == 18 + data[17] + 64
    # a byte shorter than version 1, for the same pass
    assert len(data) == len(raw(tokens.sign(CLAIMS, KEY))) - 1
    assert tokens.verify(tokens.sign(ISSUED, KEY), HERE, NOW) == ISSUED


def test_the_issuer_cannot_be_changed_and_a_strange_one_is_unknown():
    data = bytearray(raw(tokens.sign(ISSUED, KEY)))
    data[3] ^= 1  # 330483: the signature no longer covers it
    neighbour = tokens.Keyring(KEYS, here="330482", peers={"330483": KEYS})
    with pytest.raises(TokenRejected, match="bad_signature"):
        tokens.verify(b32(bytes(data)), neighbour, NOW)
    with pytest.raises(TokenRejected, match="unknown_issuer"):
        tokens.verify(b32(bytes(data)), HERE, NOW)
    # a peer's code is checked with the peer's keys only, never with ours
    theirs = Claims(1, 5, NOW, NOW + timedelta(days=1), "沪A12345", "310116")
    peers = tokens.Keyring(KEYS, here="330482", peers={"310116": {}})
    with pytest.raises(TokenRejected, match="unknown_key"):
        tokens.verify(tokens.sign(theirs, KEY), peers, NOW)
    with pytest.raises(ValueError, match="6-digit"):
        tokens.sign(Claims(1, 5, NOW, NOW, "沪A12345", "31011"), KEY)
    with pytest.raises(ValueError, match="below 2"):
        tokens.sign(Claims(1, 1 << 32, NOW, NOW, "沪A12345", "310116"), KEY)
