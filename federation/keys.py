"""This jurisdiction's federation key: ES256, in the instance's key folder beside the
pass-signing and audit keys (and backed up with them), never in the database. Peers pin
its fingerprint, the lowercase hex SHA-256 of the public key's DER SubjectPublicKeyInfo,
learnt out of band."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

KEY_FILE = "federation.pem"


def fingerprint_of(public: ec.EllipticCurvePublicKey) -> str:
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def fingerprint_of_jwk(jwk: dict[str, Any]) -> str:
    """The fingerprint of a public JWK; ValueError for anything but a P-256 EC key."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("a federation key is an EC P-256 key")
    public = ECKey.import_key({k: jwk[k] for k in ("kty", "crv", "x", "y")}).public_key
    return fingerprint_of(public)


class FederationKey:
    """Created on first use (the first process to write it wins)."""

    def __init__(self, key_dir: Path):
        self.path = key_dir / KEY_FILE
        self._key: ECKey | None = None
        self._lock = threading.Lock()

    def key(self) -> ECKey:
        with self._lock:
            if self._key is None:
                if not self.path.exists():
                    self._create()
                self._key = ECKey.import_key(self.path.read_bytes())
            return self._key

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as out:
            out.write(pem)

    def public_jwk(self) -> dict[str, Any]:
        return {k: v for k, v in self.key().as_dict(private=False).items() if k in JWK_FIELDS}

    def fingerprint(self) -> str:
        return fingerprint_of(self.key().public_key)

    def kid(self) -> str:
        return self.fingerprint()[:16]


JWK_FIELDS = ("kty", "crv", "x", "y")
