"""Signed pass tokens (docs/architecture.md, Trust) and the QR text that carries them.

TOKEN = base32 (no padding) of
  version 2: 2 | issuer(3) | kid(1) | pass_id(4) | from(4) | until(4) | plate(1+n) | sig(64)
  version 1: 1 |             kid(1) | pass_id(8) | from(4) | until(4) | plate(1+n) | sig(64)
from and until are the validity in minutes since the epoch; issuer is the issuing
jurisdiction's 6-digit area code as a 3-byte number; sig is ECDSA P-256/SHA-256, raw r||s,
over b"TP2" (b"TP1") and every byte before it. Version 2 binds the issuer inside the
signed bytes, so a federated peer's key id can never be read as one of ours; version 1
codes (issued before federation) name no issuer and are ours. Version 2 gives the pass id
4 bytes (4 billion passes per jurisdiction), so with the issuer's 3 it is a byte shorter
than version 1 and a typical code stays at QR version 7 (scripts/measure_qr.py). `verify`
is pure: keys and `now` come in as arguments.
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

VERSION = 2
DOMAINS = {1: b"TP1", 2: b"TP2"}
HEADER = struct.Struct(">BBQII")  # version 1: version, kid, pass_id, valid_from, valid_until
ISSUED = struct.Struct(">BHBBIII")  # version 2: version, issuer (3 bytes: 2 + 1), kid, ...
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
    issuer: str | None = None  # the issuing area code; None in a version 1 code (ours)


@dataclass(frozen=True)
class TrustedKey:
    kid: int
    public_key: ec.EllipticCurvePublicKey
    not_before: datetime


class Keyring(dict[int, TrustedKey]):
    """What a verifier trusts: our keys by key id (the mapping itself), the area code they
    sign for (`here`), each federated peer's keys by its area code (`peers`), and the
    jurisdictions' names by area code (`names`, for answers that name the issuer). A plain
    mapping of key ids is our keys alone, with no area code to tell ours from a peer's."""

    def __init__(
        self,
        own: Mapping[int, TrustedKey] | None = None,
        *,
        here: str | None = None,
        peers: Mapping[str, Mapping[int, TrustedKey]] | None = None,
        names: Mapping[str, str] | None = None,
    ):
        super().__init__(own or {})
        self.here = here
        self.peers: Mapping[str, Mapping[int, TrustedKey]] = peers or {}
        self.names: Mapping[str, str] = names or {}  # each jurisdiction's name, ours too


def _minutes(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def _moment(minutes: int) -> datetime:
    return datetime.fromtimestamp(minutes * 60, UTC)


def payload(claims: Claims) -> bytes:
    """The signed bytes: version 2 when the claims name their issuer, else version 1."""
    plate = claims.plate.encode()
    if len(plate) > 255:
        raise ValueError("plate too long for a token")
    times = (claims.pass_id, _minutes(claims.valid_from), _minutes(claims.valid_until))
    if claims.issuer is None:
        header = HEADER.pack(1, claims.kid, *times)
    else:
        if not (len(claims.issuer) == 6 and claims.issuer.isdigit()):
            raise ValueError("the issuer is a 6-digit area code")
        if claims.pass_id >= 1 << 32:
            raise ValueError("a version 2 code holds a pass id below 2**32")
        area = int(claims.issuer)
        header = ISSUED.pack(VERSION, area >> 8, area & 0xFF, claims.kid, *times)
    return header + bytes([len(plate)]) + plate


def sign(claims: Claims, private_key: ec.EllipticCurvePrivateKey) -> str:
    body = payload(claims)
    r, s = decode_dss_signature(private_key.sign(DOMAINS[body[0]] + body, ALGORITHM))
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
    version = data[0] if data else 0
    header = ISSUED if version == 2 else HEADER
    if version not in DOMAINS or len(data) < header.size + 1 + SIGNATURE_BYTES:
        raise TokenRejected("malformed")
    issuer = None
    if version == 2:
        _, high, low, kid, pass_id, valid_from, valid_until = ISSUED.unpack_from(data)
        area = high << 8 | low
        if area > 999_999:  # 3 bytes hold more than six digits: not an area code
            raise TokenRejected("malformed")
        issuer = f"{area:06d}"
    else:
        _, kid, pass_id, valid_from, valid_until = HEADER.unpack_from(data)
    plate_len = data[header.size]
    body_len = header.size + 1 + plate_len
    if len(data) != body_len + SIGNATURE_BYTES or valid_until < valid_from:
        raise TokenRejected("malformed")
    try:
        plate = data[header.size + 1 : body_len].decode()
    except UnicodeDecodeError:
        raise TokenRejected("malformed") from None
    claims = Claims(kid, pass_id, _moment(valid_from), _moment(valid_until), plate, issuer)
    return claims, data[:body_len], data[body_len:]


def issued_elsewhere(claims: Claims, keys: Mapping[int, TrustedKey]) -> bool:
    """Whether the claims name a jurisdiction other than the one `keys` sign for."""
    here = getattr(keys, "here", None)
    return claims.issuer is not None and here is not None and claims.issuer != here


def keys_for(claims: Claims, keys: Mapping[int, TrustedKey]) -> Mapping[int, TrustedKey]:
    """The keys that may have signed these claims: ours for a version 1 code or one naming
    our area code, the peer's for one naming a peer; `unknown_issuer` for anyone else."""
    if not issued_elsewhere(claims, keys):
        return keys
    peer = getattr(keys, "peers", {}).get(claims.issuer)
    if peer is None:
        raise TokenRejected("unknown_issuer")
    return peer


def verify(token: str, keys: Mapping[int, TrustedKey], now: datetime) -> Claims:
    """The token's claims when its signature checks out under a published key of the
    jurisdiction it names (see `Keyring`)."""
    claims, body, signature = parse(token)
    key = keys_for(claims, keys).get(claims.kid)
    if key is None or key.not_before > now:
        raise TokenRejected("unknown_key")
    r = int.from_bytes(signature[:CURVE_ORDER_BYTES], "big")
    s = int.from_bytes(signature[CURVE_ORDER_BYTES:], "big")
    if s > HALF_ORDER:  # the high-S twin of a valid signature: one code per pass
        raise TokenRejected("bad_signature")
    try:
        key.public_key.verify(encode_dss_signature(r, s), DOMAINS[body[0]] + body, ALGORITHM)
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
