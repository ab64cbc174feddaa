"""The audit log as a transparency log (docs/architecture.md, "The audit log"): its leaves,
the sequencer that integrates pending entries, and verification. Signed checkpoints and
their keys are in trust/audit_checkpoints.py; inclusion and consistency proofs in
trust/audit_proofs.py.

Writers append pending entries (`audit.record`) without any shared lock. The sequencer
integrates them in batches: it numbers them, hashes each into an RFC 6962 leaf, extends
the tree from its right edge and signs a checkpoint (origin, size, root, time) with an
Ed25519 key kept in the instance's key folder, never in the database. Each checkpoint is
stored and also appended to a witness file outside the database.

`verify` recomputes the tree from the entries alone and checks it against every signed
checkpoint it is given (the database's, the witness file's, one a supervisor saved), so a
database administrator who rewrites an entry and recomputes every hash is caught by any
checkpoint signed before the rewrite.

Over 300 lines on purpose: the sequencer and verification build the same tree and are read
together.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core import heartbeat
from core.audit import (
    NODE_STRIDE,
    AuditCheckpoint,
    AuditEntry,
    AuditNode,
    AuditTree,
)
from trust import audit_witness, events, merkle
from trust.audit_checkpoints import Checkpoint, CheckpointKeys
from trust.audit_proofs import leaf_data, tree_size
from trust.audit_witness import ForkRefused

log = logging.getLogger(__name__)

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
    trusted: Checkpoint | None = None,
) -> Integration | None:
    """Integrate up to `limit` pending entries and sign a checkpoint of the grown tree.
    Commits. None when there was nothing to do or another sequencer is at work.

    With `trusted` (the latest checkpoint signed, as kept outside the database) the tree
    is signed only if it extends that one; otherwise ForkRefused and nothing is written.

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
    frontier = merkle.Frontier(size, [bytes.fromhex(h) for h in nodes])
    try:
        if rows and trusted is not None:
            audit_witness.check_extends(reads, trusted, size, frontier.root())
    finally:
        if reads is not session:
            reads.rollback()  # a read-only snapshot: nothing to keep
    if not rows:
        session.rollback()
        return None
    changes, stored = [], []
    for row in rows:
        seq = frontier.size + 1
        if row.seq is not None and row.seq != seq:
            raise RuntimeError(f"audit entry {row.id} is numbered {row.seq}, expected {seq}")
        leaf = merkle.leaf_hash(leaf_data(row, seq))
        for level, idx, node in frontier.append(leaf):
            if level % NODE_STRIDE == 0:
                stored.append({"level": level, "idx": idx, "hash": node.hex()})
        changes.append({"id": row.id, "seq": seq, "leaf_hash": leaf.hex()})
        if trusted is not None and frontier.size == trusted.size:
            audit_witness.check_reached(trusted, frontier.size, frontier.root())
    if trusted is not None:
        audit_witness.check_final(trusted, frontier.size)
    root_hash = frontier.root().hex()
    checkpoint = keys.sign(origin, frontier.size, root_hash, now)
    if reads is not session:
        tree = _tree(session)  # now locked; the batch holds only if nobody integrated since
        if tree is None or tree.size != size:
            session.rollback()
            return None
    session.execute(update(AuditEntry), changes)
    if stored:
        session.execute(insert(AuditNode), stored)
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
        audit_witness.append(witness, checkpoint)
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
        self.last: Checkpoint | None = None  # the latest this process signed
        self.halted: str | None = None  # why it refuses to sign, while it does
        self.unwritten: Checkpoint | None = None  # signed, not yet in the witness file
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    def trusted(self) -> Checkpoint | None:
        """The latest checkpoint signed, as known outside the database."""
        kept = audit_witness.latest(self.witness, self.keys, self.origin)
        return audit_witness.newest(self.last, kept)

    def check_history(self, kept: bytes | None = None) -> str | None:
        """Whether the database's tree extends the latest checkpoint known outside it (or
        the latest among the witness lines `kept`), as the next integration will check;
        None when it does. For a restore to say at once."""
        try:
            trusted = self.trusted() if kept is None else self._latest_of(kept)
            with self.read_sessions() as reader:
                tree = reader.get(AuditTree, 1)
                size, nodes = (tree.size, tree.frontier) if tree is not None else (0, [])
                if trusted is None:
                    return None
                if trusted.size > size:
                    signed = trusted.time.isoformat(timespec="seconds")
                    return (
                        f"the log has {size} entries in its tree; the witness file holds a "
                        f"checkpoint of {trusted.size} signed {signed}"
                    )
                root = merkle.Frontier(size, [bytes.fromhex(h) for h in nodes]).root()
                audit_witness.check_extends(reader, trusted, size, root)
        except (ForkRefused, ValueError) as refused:
            return str(refused)
        return None

    def _latest_of(self, lines: bytes) -> Checkpoint | None:
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "witness"
            path.write_bytes(lines)
            return audit_witness.latest(path, self.keys, self.origin)

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
            try:
                if self.unwritten is not None and self.witness is not None:
                    audit_witness.append(self.witness, self.unwritten)  # before signing more
                    self.unwritten = None
                with self.sessions() as session, self.read_sessions() as reader:
                    result = integrate(
                        session,
                        self.keys,
                        self.origin,
                        self.clock(),
                        witness=self.witness,
                        limit=BATCH,
                        reads=reader,
                        trusted=self.trusted(),
                    )
            except audit_witness.WitnessUnwritable as unwritten:
                self.last = audit_witness.newest(self.last, unwritten.checkpoint)
                self.unwritten = self.last
                self._halt(str(unwritten))
                raise
            except ForkRefused as refused:
                self._halt(str(refused))
                raise
            except (RuntimeError, ValueError, IntegrityError, merkle.ProofError) as broken:
                # Rows that cannot be what the sequencer wrote (an entry numbered out of
                # turn, a node that is not a hash, a node of a tree not yet built).
                self._halt(f"the audit log in the database is not whole: {broken}")
                raise ForkRefused(str(broken)) from broken
            if result is None:
                return done
            self.last = audit_witness.newest(self.last, result.checkpoint)
            if self.halted is not None:
                self._halt(None)
            done.append(result)
            if result.entries < BATCH:
                return done

    def _halt(self, problem: str | None) -> None:
        """Say, where every node's readiness and metrics look, that this sequencer stopped
        signing (or, with None, that it signs again); the first time, alert."""
        first = problem is not None and self.halted is None
        self.halted = problem
        if problem is not None:
            log.error("audit sequencer stopped signing: %s", problem)
        now = self.clock()
        with self.sessions() as session:
            data = {"halted": problem} if problem else {}
            heartbeat.beat(session, heartbeat.AUDIT_SEQUENCER, self.owner, now, data)
            if first:
                events.audit_halted.send(problem, session=session, now=now)
            session.commit()

    def run(self, wait: Callable[[float], bool] | None = None) -> None:
        """Tick until stopped; `wait(seconds)` returns True to stop (tests pass a clock's)."""
        wait = wait or self.stopping.wait
        while True:
            try:
                self.tick()
            except ForkRefused:
                pass  # said by _halt; it tries again, and signs nothing until the tree holds
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
    nodes: dict[tuple[int, int], str] = {}  # the stored levels' nodes, as recomputed
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
        for level, idx, node in frontier.append(leaf):
            if level % NODE_STRIDE == 0:
                nodes[(level, idx)] = node.hex()
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
    if (wrong := _stored_nodes_differ(session, nodes)) is not None:
        return broken(wrong)
    return Verification(True, count, None, pending, checked, count, frontier.root().hex())


def _stored_nodes_differ(session: Session, expected: dict[tuple[int, int], str]) -> str | None:
    """Proofs are computed from the stored nodes: each must be the one recomputed."""
    for level in sorted({level for level, _ in expected}):
        want = {idx: node for (lv, idx), node in expected.items() if lv == level}
        found = dict(
            session.execute(
                select(AuditNode.idx, AuditNode.hash).where(
                    AuditNode.level == level, AuditNode.idx <= max(want)
                )
            ).all()
        )
        for idx, node in want.items():
            if found.get(idx) != node:
                what = "is missing" if idx not in found else "differs"
                return f"the stored tree node at level {level}, index {idx} {what}"
    return None


HALT_SHOWN = timedelta(minutes=10)  # a halted sequencer beats every tick; a dead one fades


def halted(session: Session, now: datetime) -> list[str]:
    """Why each audit sequencer that stopped signing recently stopped (none: all well)."""
    beats = session.scalars(
        select(heartbeat.Heartbeat).where(
            heartbeat.Heartbeat.service == heartbeat.AUDIT_SEQUENCER,
            heartbeat.Heartbeat.at >= now - HALT_SHOWN,
        )
    )
    return [beat.data["halted"] for beat in beats if (beat.data or {}).get("halted")]
