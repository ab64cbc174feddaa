"""The audit log as a transparency log (DESIGN.md, section 10).

Writers append pending entries (`audit.record`) without any shared lock. The sequencer
integrates them in batches: it numbers them, hashes each into an RFC 6962 leaf, extends
the tree from its right edge and signs a checkpoint (origin, size, root, time) with an
Ed25519 key kept in the instance's key folder, never in the database. Each checkpoint is
stored and also appended to a witness file outside the database.

`verify` recomputes the tree from the entries alone and checks it against every signed
checkpoint it is given (the database's, the witness file's, one a supervisor saved), so a
database administrator who rewrites an entry and recomputes every hash is caught by any
checkpoint signed before the rewrite.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
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
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.audit import AuditCheckpoint, AuditEntry, AuditTree, canonical_json
from core.errors import N_
from trust import merkle

log = logging.getLogger(__name__)

KEY_PREFIX = "audit-checkpoint"
ENTRY_COLUMNS = (
    AuditEntry.id,
    AuditEntry.seq,
    AuditEntry.at,
    AuditEntry.actor_id,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.data,
    AuditEntry.leaf_hash,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)
LEGACY_GENESIS = "0" * 64


def leaf_data(row: Any, seq: int) -> bytes:
    return canonical_json(
        seq=seq,
        at=row.at,
        actor_id=row.actor_id,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        data=row.data,
    )


# --- signed checkpoints ----------------------------------------------------------------


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


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Checkpoints saved in a file: one JSON object, a JSON list, or one object a line."""
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
                    raise ValueError(f"{path}, line {number}: not JSON ({exc.msg})") from exc
    return [Checkpoint.from_json(item) for item in items]


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


# --- the sequencer ---------------------------------------------------------------------


@dataclass(frozen=True)
class Integration:
    checkpoint: Checkpoint
    entries: int
    oldest_at: datetime  # the earliest `at` among the integrated entries


BATCH = 5000  # entries integrated under one signed checkpoint, at most


def _tree(session: Session) -> AuditTree | None:
    """The tree row, locked; None while another sequencer holds it (PostgreSQL)."""
    tree = session.scalars(
        select(AuditTree).where(AuditTree.id == 1).with_for_update(skip_locked=True)
    ).one_or_none()
    if tree is None and session.get(AuditTree, 1) is None:
        tree = AuditTree(id=1, size=0, root_hash=merkle.EMPTY_ROOT.hex(), frontier=[])
        session.add(tree)
    return tree


def _pending(session: Session, size: int, limit: int) -> list[Any]:
    """Up to `limit` entries to integrate after a tree of `size` leaves, in tree order."""
    # Entries of the hash chain that came before the tree keep their numbers and go first.
    rows = session.execute(
        select(*ENTRY_COLUMNS).where(AuditEntry.seq > size).order_by(AuditEntry.seq).limit(limit)
    ).all()
    if len(rows) < limit:
        rows += session.execute(
            select(*ENTRY_COLUMNS)
            .where(AuditEntry.seq.is_(None))
            .order_by(AuditEntry.id)
            .limit(limit - len(rows))
        ).all()
    return rows


def integrate(
    session: Session,
    keys: CheckpointKeys,
    origin: str,
    now: datetime,
    *,
    witness: Path | None = None,
    limit: int = BATCH,
    reads: Session | None = None,
) -> Integration | None:
    """Integrate up to `limit` pending entries and sign a checkpoint of the grown tree.
    Commits. None when there was nothing to do or another sequencer is at work.

    With `reads` (a read-only session) the batch is read, hashed and signed before the
    tree is locked, and `session` only checks that the tree has not grown meanwhile and
    writes: on SQLite every scan waits while the database's write lock is held."""
    reads = reads or session
    if reads is session:
        tree = _tree(session)
        if tree is None:
            session.rollback()
            return None
        size, nodes = tree.size, list(tree.frontier)
    else:  # (no row yet: the write below creates it)
        seen = reads.get(AuditTree, 1)
        size, nodes = (seen.size, list(seen.frontier)) if seen is not None else (0, [])
    rows = _pending(reads, size, limit)
    if reads is not session:
        reads.rollback()  # a read-only snapshot: nothing to keep
    if not rows:
        session.rollback()
        return None
    frontier = merkle.Frontier(size, [bytes.fromhex(h) for h in nodes])
    changes = []
    for row in rows:
        seq = frontier.size + 1
        if row.seq is not None and row.seq != seq:
            raise RuntimeError(f"audit entry {row.id} is numbered {row.seq}, expected {seq}")
        leaf = merkle.leaf_hash(leaf_data(row, seq))
        frontier.append(leaf)
        changes.append({"id": row.id, "seq": seq, "leaf_hash": leaf.hex()})
    root_hash = frontier.root().hex()
    checkpoint = keys.sign(origin, frontier.size, root_hash, now)
    if reads is not session:
        tree = _tree(session)  # now locked; the batch holds only if nobody integrated since
        if tree is None or tree.size != size:
            session.rollback()
            return None
    session.execute(update(AuditEntry), changes)
    tree.size, tree.root_hash = frontier.size, root_hash
    tree.frontier = [node.hex() for node in frontier.nodes]
    session.add(
        AuditCheckpoint(
            size=checkpoint.size,
            root_hash=root_hash,
            at=now,
            kid=checkpoint.kid,
            signature=checkpoint.signature,
        )
    )
    session.commit()
    if witness is not None:  # after the commit: the file never holds a tree that is not
        witness.parent.mkdir(parents=True, exist_ok=True)
        with witness.open("a", encoding="utf-8") as out:
            out.write(json.dumps(checkpoint.to_json()) + "\n")
    return Integration(checkpoint, len(rows), min(row.at for row in rows))


def has_pending(session: Session) -> bool:
    tree_size = session.scalar(select(AuditTree.size).where(AuditTree.id == 1)) or 0
    pending = select(AuditEntry.id).where((AuditEntry.seq.is_(None)) | (AuditEntry.seq > tree_size))
    return session.scalar(pending.limit(1)) is not None


class Sequencer:
    """Integrates pending entries every `interval` seconds, so an entry is in a signed
    checkpoint at most `interval` plus one batch's work after it was committed."""

    def __init__(
        self,
        sessions: sessionmaker,
        read_sessions: sessionmaker,
        keys: CheckpointKeys,
        origin: str,
        *,
        witness: Path | None,
        interval: float,
        clock: Callable[[], datetime],
    ):
        self.sessions, self.read_sessions = sessions, read_sessions
        self.keys, self.origin, self.witness = keys, origin, witness
        self.interval, self.clock = interval, clock
        self.stopping = threading.Event()

    def tick(self) -> list[Integration]:
        """Integrate what is pending now, batch after batch while batches come full.
        Entries written meanwhile wait for the next tick: under steady load a tick that
        chased them would sign a checkpoint for every few entries, and a batch's fixed
        work (the tree row, a signature, a commit) would cost more than its entries."""
        done = []
        with self.read_sessions() as reader:
            if not has_pending(reader):
                return done
        while True:
            with self.sessions() as session, self.read_sessions() as reader:
                result = integrate(
                    session,
                    self.keys,
                    self.origin,
                    self.clock(),
                    witness=self.witness,
                    limit=BATCH,
                    reads=reader,
                )
            if result is None:
                return done
            done.append(result)
            if result.entries < BATCH:
                return done

    def run(self, wait: Callable[[float], bool] | None = None) -> None:
        """Tick until stopped; `wait(seconds)` returns True to stop (tests pass a clock's)."""
        wait = wait or self.stopping.wait
        while True:
            try:
                self.tick()
            except Exception:  # a database that went away: try again next time
                log.exception("the audit sequencer could not integrate; retrying")
            if wait(self.interval):
                return

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="audit-sequencer", daemon=True)
        thread.start()
        return thread


# --- verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int  # integrated entries checked
    first_bad_id: int | None
    pending: int = 0
    checkpoints: int = 0  # signed checkpoints checked
    size: int = 0
    root_hash: str = merkle.EMPTY_ROOT.hex()
    problem: str | None = None  # what broke, in words for an operator


def _entries(session: Session, batch: int, size: int) -> Iterator[Any]:
    last = 0
    while True:
        rows = session.execute(
            select(*ENTRY_COLUMNS)
            .where(AuditEntry.seq > last, AuditEntry.seq <= size)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _legacy_hash(prev: str, data: bytes) -> str:
    return hashlib.sha256(prev.encode() + data).hexdigest()


def verify(
    session: Session,
    keys: CheckpointKeys,
    origin: str,
    saved: Iterable[Checkpoint] = (),
    batch: int = 5000,
) -> Verification:
    """Recompute the tree from the entries and check it against every stored checkpoint
    and every `saved` one (the witness file's, one kept by a supervisor)."""
    public = keys.public_keys()
    # The tree's size first: what the sequencer integrates meanwhile is left for next time,
    # so the check needs no snapshot (integration commits entries and size together).
    integrated = tree_size(session)
    stored = [
        Checkpoint.from_row(origin, row)
        for row in session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.size <= integrated)
            .order_by(AuditCheckpoint.size)
        )
    ]
    checkpoints = sorted({*stored, *saved}, key=lambda c: c.size)
    pending = session.scalar(select(func.count()).where(AuditEntry.seq.is_(None))) or 0

    def broken(problem: str, bad_id: int | None = None) -> Verification:
        return Verification(False, count, bad_id, pending, checked, frontier.size, "", problem)

    count, checked = 0, 0
    frontier = merkle.Frontier()
    for checkpoint in checkpoints:
        if checkpoint.origin != origin or not keys.check(checkpoint, public):
            return broken(f"checkpoint of size {checkpoint.size} has a bad signature")
    waiting = iter(checkpoints)
    due = next(waiting, None)
    while due is not None and due.size == 0:  # the empty tree
        if due.root_hash != merkle.EMPTY_ROOT.hex():
            return broken("checkpoint of size 0 names a root")
        checked, due = checked + 1, next(waiting, None)
    chain: str | None = LEGACY_GENESIS
    for row in _entries(session, batch, integrated):
        count += 1
        if row.seq != count:
            return broken(f"entry {count} is missing", row.id)
        data = leaf_data(row, row.seq)
        leaf = merkle.leaf_hash(data)
        if row.leaf_hash is not None and row.leaf_hash != leaf.hex():
            return broken(f"entry {count} was altered", row.id)
        if row.hash is not None:  # the hash chain that came before the tree
            if chain is None or row.prev_hash != chain or row.hash != _legacy_hash(chain, data):
                return broken(f"entry {count} breaks the earlier hash chain", row.id)
            chain = row.hash
        else:
            chain = None
        frontier.append(leaf)
        while due is not None and due.size == frontier.size:
            if due.root_hash != frontier.root().hex():
                signed = due.time.isoformat(timespec="seconds")
                return broken(
                    f"the first {due.size} entries differ from the checkpoint signed {signed}"
                )
            checked, due = checked + 1, next(waiting, None)
    if due is not None:
        return broken(f"the log has {count} entries but a checkpoint was signed at {due.size}")
    if integrated != count:
        return broken(f"the sequencer integrated {integrated} entries, {count} remain")
    return Verification(True, count, None, pending, checked, count, frontier.root().hex())


# --- proofs ----------------------------------------------------------------------------


class ProofRequestError(ValueError):
    """A proof asked for a size or entry the log does not have."""


def tree_size(session: Session) -> int:
    return session.scalar(select(AuditTree.size).where(AuditTree.id == 1)) or 0


def _leaves(session: Session, size: int) -> list[bytes]:
    hashes = session.scalars(
        select(AuditEntry.leaf_hash).where(AuditEntry.seq <= size).order_by(AuditEntry.seq)
    ).all()
    if len(hashes) != size or any(h is None for h in hashes):
        raise ProofRequestError(N_("The log does not hold that many integrated entries."))
    return [bytes.fromhex(h) for h in hashes]


def inclusion(session: Session, entry_id: int, size: int | None = None) -> dict[str, Any]:
    """RFC 6962 audit path of an entry in the tree of `size` leaves (default: the latest)."""
    size = tree_size(session) if size is None else size
    seq = session.scalar(select(AuditEntry.seq).where(AuditEntry.id == entry_id))
    if seq is None:
        raise ProofRequestError(N_("No such entry, or it is not in the tree yet."))
    if not seq <= size <= tree_size(session):
        raise ProofRequestError(N_("The size must cover the entry and not exceed the tree."))
    leaves = _leaves(session, size)
    return {
        "entry": entry_id,
        "leaf_index": seq - 1,
        "tree_size": size,
        "leaf_hash": leaves[seq - 1].hex(),
        "root_hash": merkle.root(leaves).hex(),
        "audit_path": [h.hex() for h in merkle.inclusion_proof(seq - 1, leaves)],
    }


def consistency(session: Session, first: int, second: int) -> dict[str, Any]:
    """RFC 6962 consistency proof that the tree of `first` leaves is a prefix of `second`."""
    if not 0 < first <= second <= tree_size(session):
        raise ProofRequestError(N_("Sizes must satisfy 0 < from ≤ to ≤ the tree's size."))
    leaves = _leaves(session, second)
    return {
        "first": first,
        "second": second,
        "first_root": merkle.root(leaves[:first]).hex(),
        "second_root": merkle.root(leaves).hex(),
        "consistency": [h.hex() for h in merkle.consistency_proof(first, leaves)],
    }
