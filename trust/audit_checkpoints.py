"""The audit log's signed checkpoints (tree heads: origin, size, root, time), the Ed25519
keys that sign them (kept in the instance's key folder, never in the database), the
witness file they are appended to, and the log's settings. See trust/auditlog.py."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from core.audit import AuditCheckpoint

KEY_PREFIX = "audit-checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: str  # hex
    time: datetime
    kid: str
    signature: str  # base64 of the Ed25519 signature over `body()`

    def body(self) -> bytes:
        """The signed text, one field per line in the manner of a signed note."""
        root_b64 = base64.b64encode(bytes.fromhex(self.root_hash)).decode()
        stamp = self.time.astimezone(UTC).isoformat(timespec="microseconds")
        return f"{self.origin}\n{self.size}\n{root_b64}\n{stamp}\n".encode()

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "size": self.size,
            "root_hash": self.root_hash,
            "time": self.time.astimezone(UTC).isoformat(timespec="microseconds"),
            "kid": self.kid,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, raw: Any) -> Checkpoint:
        """Raises ValueError on anything that is not a checkpoint."""
        if not isinstance(raw, dict):
            raise ValueError("a checkpoint is a JSON object")
        try:
            size, root_hash = raw["size"], raw["root_hash"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ValueError("size must be a whole number")
            if len(bytes.fromhex(root_hash)) != 32:
                raise ValueError("root_hash must be 64 hex digits")
            time = datetime.fromisoformat(raw["time"])
            if time.tzinfo is None:
                raise ValueError("time must carry its offset")
            return cls(
                origin=str(raw["origin"]),
                size=size,
                root_hash=root_hash.lower(),
                time=time.astimezone(UTC),
                kid=str(raw["kid"]),
                signature=str(raw["signature"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a checkpoint: {exc}") from exc

    @classmethod
    def from_row(cls, origin: str, row: AuditCheckpoint) -> Checkpoint:
        return cls(origin, row.size, row.root_hash, row.at, row.kid, row.signature)


def read_checkpoints(path: Path, *, skip_bad: bool = False) -> list[Checkpoint]:
    """Checkpoints saved in a file: one JSON object, a JSON list, or one object a line.
    With `skip_bad` (the witness file, where a crash can leave half a line) a line that
    is not a checkpoint is passed over instead of refusing the file."""
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        return []
    try:
        raw = json.loads(text)
        items = raw if isinstance(raw, list) else [raw]
    except json.JSONDecodeError:
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    if skip_bad:
                        continue
                    raise ValueError(f"{path}, line {number}: not JSON ({exc.msg})") from exc
    found = []
    for item in items:
        try:
            found.append(Checkpoint.from_json(item))
        except ValueError:
            if not skip_bad:
                raise
    return found


def _kid(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:8]


class CheckpointKeys:
    """Ed25519 keys in the key folder. `audit-checkpoint.pem` signs; it and any retired
    `audit-checkpoint-<kid>.pem` (or public `.pub`) verify."""

    def __init__(self, key_dir: Path):
        self.key_dir = key_dir
        self._signer: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()

    def signer(self) -> Ed25519PrivateKey:
        with self._lock:
            if self._signer is None:
                path = self.key_dir / f"{KEY_PREFIX}.pem"
                if not path.exists():
                    self._create(path)
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
                if not isinstance(key, Ed25519PrivateKey):
                    raise RuntimeError(f"{path} is not an Ed25519 private key")
                self._signer = key
            return self._signer

    def _create(self, path: Path) -> None:
        self.key_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:  # another process may create it at the same moment: the first one wins
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as out:
            out.write(pem)

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        found: dict[str, Ed25519PublicKey] = {}
        for path in sorted(self.key_dir.glob(f"{KEY_PREFIX}*")):
            data = path.read_bytes()
            if path.suffix == ".pem":
                private = serialization.load_pem_private_key(data, password=None)
                if isinstance(private, Ed25519PrivateKey):
                    found[_kid(private.public_key())] = private.public_key()
            elif path.suffix == ".pub":
                public = serialization.load_pem_public_key(data)
                if isinstance(public, Ed25519PublicKey):
                    found[_kid(public)] = public
        return found

    def public_key_pem(self, kid: str) -> str | None:
        """The PEM of the key `kid`, if this server holds it (never creates one)."""
        key = self.public_keys().get(kid)
        if key is None:
            return None
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode()

    def sign(self, origin: str, size: int, root_hash: str, time: datetime) -> Checkpoint:
        key = self.signer()
        unsigned = Checkpoint(origin, size, root_hash, time, _kid(key.public_key()), "")
        signature = base64.b64encode(key.sign(unsigned.body())).decode()
        return Checkpoint(origin, size, root_hash, time, unsigned.kid, signature)

    def check(self, checkpoint: Checkpoint, keys: dict[str, Ed25519PublicKey]) -> bool:
        key = keys.get(checkpoint.kid)
        if key is None:
            return False
        try:
            key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.body())
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class AuditLog:
    """Where the log's key and witness file live, and how often the sequencer runs."""

    keys: CheckpointKeys
    origin: str
    witness: Path
    interval: float

    @classmethod
    def from_config(cls, instance_path: Path, config: Mapping[str, Any]) -> AuditLog:
        witness = config.get("AUDIT_WITNESS_FILE") or instance_path / "audit" / "checkpoints.jsonl"
        return cls(
            keys=CheckpointKeys(instance_path / "keys"),
            origin=f"trafficpass/{config['AREA_CODE']}/audit",
            witness=Path(witness),
            interval=float(config["AUDIT_INTERVAL_SECONDS"]),
        )
