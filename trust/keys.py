"""Signing keys: created on first use, rotated on demand, public halves published as JWK.

Private keys are PEM files in the instance folder (`keys/kid-N.pem`, mode 0600) and never
leave it; the database holds only the public half and its lifetime.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.audit import AuditTree
from core.errors import N_, DomainError
from trust.models import SigningKey
from trust.tokens import Keyring, TrustedKey

# Each federated peer's pass-signing keys by its area code, and its name (given by the
# federation).
PeerKeys = Callable[
    [Session, datetime], tuple[Mapping[str, Mapping[int, TrustedKey]], Mapping[str, str]]
]

MAX_KID = 255  # one byte in the token


@dataclass(frozen=True)
class Signer:
    kid: int
    private_key: ec.EllipticCurvePrivateKey


def _b64url(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(32, "big")).decode().rstrip("=")


def _int(b64: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)), "big")


def _key_file(key_dir: Path, kid: int) -> Path:
    return key_dir / f"kid-{kid}.pem"


def _create(session: Session, key_dir: Path, now: datetime, actor_id: int | None) -> Signer:
    last = session.scalar(select(func.max(SigningKey.kid))) or 0
    if last >= MAX_KID:
        raise RuntimeError("no key ids left; retire the token version before rotating again")
    kid = last + 1
    private_key = ec.generate_private_key(ec.SECP256R1())
    numbers = private_key.public_key().public_numbers()
    key_dir.mkdir(parents=True, exist_ok=True)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Created readable by its owner only (not written first and narrowed after).
    fd = os.open(_key_file(key_dir, kid), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    session.add(
        SigningKey(
            kid=kid, public_x=_b64url(numbers.x), public_y=_b64url(numbers.y), not_before=now
        )
    )
    audit.record(
        session,
        actor_id=actor_id,
        action=audit.Action.KEY_CREATE,
        object_type="signing_key",
        object_id=kid,
        now=now,
    )
    session.flush()
    return Signer(kid, private_key)


class SigningKeyMissing(DomainError):
    """The current key's private half is not in this server's key folder: a second app
    node started without a copy of the first one's keys. Making its own key instead would
    leave every node minting keys in turn."""

    status = 503
    title = N_("This server cannot sign passes")

    def __init__(self) -> None:
        super().__init__(
            N_("Its key folder lacks the current signing key; the administrator copies it.")
        )


def current_signer(session: Session, key_dir: Path, now: datetime) -> Signer:
    """The newest active key, loaded from this server's key folder; created on first use
    (when no key is active). SigningKeyMissing when this server lacks its file."""
    newest = (
        select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.kid.desc())
    )
    key = session.scalars(newest).first()
    if key is None:
        # Creating one: hold the audit tree's row (seeded by the migration; only the
        # sequencer takes it otherwise) so two first approvals cannot both create key 1.
        session.execute(select(AuditTree).where(AuditTree.id == 1).with_for_update())
        key = session.scalars(newest).first()
        if key is None:
            return _create(session, key_dir, now, actor_id=None)
    if not _key_file(key_dir, key.kid).exists():
        raise SigningKeyMissing()
    return load_signer(key_dir, key.kid)


def load_signer(key_dir: Path, kid: int) -> Signer:
    """Key `kid`'s private half from `key_dir` (OSError when this server lacks it)."""
    private_key = serialization.load_pem_private_key(
        _key_file(key_dir, kid).read_bytes(), password=None
    )
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise RuntimeError(f"{_key_file(key_dir, kid)} is not an EC private key")
    return Signer(kid, private_key)


def rotate(
    session: Session,
    key_dir: Path,
    now: datetime,
    actor_id: int | None,
    *,
    signed_until: Callable[[int], datetime | None],
) -> Signer:
    """A new signing key; the old ones stop signing but stay published while their passes
    live. `signed_until(kid)` is when the last pass that key signed expires (None: none)."""
    for key in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        key.retired_at = now
        key.not_after = signed_until(key.kid) or now
    signer = _create(session, key_dir, now, actor_id)
    audit.record(
        session,
        actor_id=actor_id,
        action=audit.Action.KEY_ROTATE,
        object_type="signing_key",
        object_id=signer.kid,
        now=now,
    )
    session.commit()
    return signer


def published(session: Session, now: datetime) -> list[SigningKey]:
    """Keys a verifier must trust: active ones, and retired ones until their passes expire."""
    return list(
        session.scalars(
            select(SigningKey)
            .where((SigningKey.not_after.is_(None)) | (SigningKey.not_after > now))
            .order_by(SigningKey.kid)
        )
    )


def public_key(x: str, y: str) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from a JWK's base64url coordinates."""
    return ec.EllipticCurvePublicNumbers(_int(x), _int(y), ec.SECP256R1()).public_key()


def trusted_keys(session: Session, now: datetime) -> dict[int, TrustedKey]:
    return {
        key.kid: TrustedKey(key.kid, public_key(key.public_x, key.public_y), key.not_before)
        for key in published(session, now)
    }


class TrustCache:
    """The published keys, reloaded at most every `ttl` seconds per process, so the scan
    path does not rebuild public keys on every request. A key id the cache does not know
    (a key created since) reloads it, but at most once every `miss_interval` seconds: codes
    naming made-up key ids must not turn into a database read each."""

    def __init__(
        self,
        ttl: float = 10.0,
        miss_interval: float = 2.0,
        *,
        here: str | None = None,
        here_name: str = "",
        peers: PeerKeys | None = None,
    ):
        self.ttl, self.miss_interval = ttl, miss_interval
        self.here, self.here_name, self._peers = here, here_name, peers
        self.loaded_at: datetime | None = None
        self.keys: dict[int, TrustedKey] = {}
        self.peers: Mapping[str, Mapping[int, TrustedKey]] = {}
        self.names: Mapping[str, str] = {}
        self.reloads = 0

    def _age(self, now: datetime) -> float | None:
        return None if self.loaded_at is None else (now - self.loaded_at).total_seconds()

    def _load(self, session: Session, now: datetime) -> dict[int, TrustedKey]:
        self.keys, self.loaded_at = trusted_keys(session, now), now
        self.peers, names = self._peers(session, now) if self._peers else ({}, {})
        self.names = {**names, **({self.here: self.here_name} if self.here else {})}
        self.reloads += 1
        return self.keys

    def view(self, session: Session, now: datetime) -> dict[int, TrustedKey]:
        age = self._age(now)
        if age is None or not 0 <= age <= self.ttl:
            self._load(session, now)

        def reload() -> dict[int, TrustedKey]:
            age = self._age(now)
            if age is not None and 0 <= age < self.miss_interval:
                return self.keys
            return self._load(session, now)

        return _ReloadOnMiss(self.keys, reload, here=self.here, peers=self.peers, names=self.names)


class _ReloadOnMiss(Keyring):
    def __init__(
        self,
        keys: dict[int, TrustedKey],
        reload: Any,
        *,
        here: str | None,
        peers: Mapping[str, Mapping[int, TrustedKey]],
        names: Mapping[str, str],
    ):
        super().__init__(keys, here=here, peers=peers, names=names)
        self._reload = reload
        self._tried = False

    def get(self, kid: int, default: Any = None) -> Any:  # type: ignore[override]
        if kid not in self and not self._tried:
            self._tried = True
            self.update(self._reload())
        return super().get(kid, default)


def jwk(key: SigningKey) -> dict[str, Any]:
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": key.public_x,
        "y": key.public_y,
        "kid": str(key.kid),
        "alg": "ES256",
        "use": "sig",
    }
