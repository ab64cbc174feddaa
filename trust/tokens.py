"""Signed pass tokens (docs/architecture.md, Trust) and the QR text that carries them.

TOKEN = base32 (no padding) of
  version(1) | kid(1) | pass_id(8) | valid_from(4) | valid_until(4) | plate(1+n) | sig(64)
times in minutes since the epoch; sig is ECDSA P-256/SHA-256, raw r||s, over b"TP1" and
every byte before it. `verify` is pure: keys and `now` come in as arguments.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

VERSION = 1
DOMAIN = b"TP1"
HEADER = struct.Struct(">BBQII")  # version, kid, pass_id, valid_from, valid_until
SIGNATURE_BYTES = 64
CURVE_ORDER_BYTES = 32
ALGORITHM = ec.ECDSA(hashes.SHA256())
# The order n of P-256. ECDSA accepts (r, s) and (r, n - s) alike; tokens carry only the
# "low-S" one (s <= n/2), so each pass has exactly one valid text.
CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
HALF_ORDER = CURVE_ORDER // 2


class TokenRejected(Exception):
    """A token that cannot be trusted; `reason` is an API reason code."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    kid: int
    pass_id: int
    valid_from: datetime
    valid_until: datetime
    plate: str


@dataclass(frozen=True)
class TrustedKey:
    kid: int
    public_key: ec.EllipticCurvePublicKey
    not_before: datetime


def _minutes(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def _moment(minutes: int) -> datetime:
    return datetime.fromtimestamp(minutes * 60, UTC)


def payload(claims: Claims) -> bytes:
    plate = claims.plate.encode()
    if len(plate) > 255:
        raise ValueError("plate too long for a token")
    header = HEADER.pack(
        VERSION,
        claims.kid,
        claims.pass_id,
        _minutes(claims.valid_from),
        _minutes(claims.valid_until),
    )
    return header + bytes([len(plate)]) + plate


def sign(claims: Claims, private_key: ec.EllipticCurvePrivateKey) -> str:
    body = payload(claims)
    r, s = decode_dss_signature(private_key.sign(DOMAIN + body, ALGORITHM))
    if s > HALF_ORDER:  # (r, n - s) verifies as well: always give the low one
        s = CURVE_ORDER - s
    raw = r.to_bytes(CURVE_ORDER_BYTES, "big") + s.to_bytes(CURVE_ORDER_BYTES, "big")
    return base64.b32encode(body + raw).decode().rstrip("=")


def _decode(token: str) -> bytes:
    text = token.strip().upper()
    if not text or len(text) > 1024 or not text.isascii():
        raise TokenRejected("malformed")
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise TokenRejected("malformed") from None
    # Only the canonical spelling: the last character's bits past the data (5 per
    # character, 8 per byte) must be zero, or one token would have several valid texts.
    unused = 5 * len(text) % 8
    if unused and _B32_VALUE[text[-1]] & ((1 << unused) - 1):
        raise TokenRejected("malformed")
    return data


_B32_VALUE = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}


def parse(token: str) -> tuple[Claims, bytes, bytes]:
    """Claims, signed bytes and signature; TokenRejected('malformed') when not a token."""
    data = _decode(token)
    if len(data) < HEADER.size + 1 + SIGNATURE_BYTES:
        raise TokenRejected("malformed")
    version, kid, pass_id, valid_from, valid_until = HEADER.unpack_from(data)
    plate_len = data[HEADER.size]
    body_len = HEADER.size + 1 + plate_len
    if version != VERSION or len(data) != body_len + SIGNATURE_BYTES or valid_until < valid_from:
        raise TokenRejected("malformed")
    try:
        plate = data[HEADER.size + 1 : body_len].decode()
    except UnicodeDecodeError:
        raise TokenRejected("malformed") from None
    claims = Claims(kid, pass_id, _moment(valid_from), _moment(valid_until), plate)
    return claims, data[:body_len], data[body_len:]


def verify(token: str, keys: Mapping[int, TrustedKey], now: datetime) -> Claims:
    """The token's claims when its signature checks out under a published key."""
    claims, body, signature = parse(token)
    key = keys.get(claims.kid)
    if key is None or key.not_before > now:
        raise TokenRejected("unknown_key")
    r = int.from_bytes(signature[:CURVE_ORDER_BYTES], "big")
    s = int.from_bytes(signature[CURVE_ORDER_BYTES:], "big")
    if s > HALF_ORDER:  # the high-S twin of a valid signature: one code per pass
        raise TokenRejected("bad_signature")
    try:
        key.public_key.verify(encode_dss_signature(r, s), DOMAIN + body, ALGORITHM)
    except (InvalidSignature, ValueError):
        raise TokenRejected("bad_signature") from None
    return claims


def qr_text(public_base_url: str, token: str) -> str:
    """The exact QR content: upper case throughout so the code stays in alphanumeric mode."""
    return f"{public_base_url}/P/{token}".upper()


def token_from_text(text: str) -> str | None:
    """The token inside scanned QR text or a pasted status URL (any case), else None."""
    cleaned = text.strip()
    marker = cleaned.upper().rfind("/P/")
    return cleaned[marker + 3 :].split("?")[0].split("#")[0] if marker >= 0 else None
