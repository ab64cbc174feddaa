"""RFC 6962 proofs over the integrated audit log: an entry's inclusion in a tree of some
size, and the consistency of a smaller tree with a larger one (hashes hex).

A proof's hashes are tree hashes of leaf ranges fixed by the sizes alone
(merkle.inclusion_ranges, merkle.consistency_ranges); each range is a few perfect
subtrees, and each of those is one stored node (`AuditNode`, every fourth level) or
at most eight nodes or leaves one stored level down. So a proof reads O(log n) rows in
two queries, whatever the log's size."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import NODE_STRIDE, AuditEntry, AuditNode, AuditTree, canonical_json
from core.errors import N_
from trust import merkle


class ProofRequestError(ValueError):
    """A proof asked for a size or entry the log does not have."""


def leaf_data(row: Any, seq: int) -> bytes:
    """What an entry's leaf commits to (hashed as RFC 6962 leaf: 0x00 || these bytes)."""
    return canonical_json(
        seq=seq,
        at=row.at,
        actor_id=row.actor_id,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        data=row.data,
    )


def tree_size(session: Session) -> int:
    return session.scalar(select(AuditTree.size).where(AuditTree.id == 1)) or 0


MISSING = N_("The log does not hold that many integrated entries.")


class _Subtrees:
    """The hashes of perfect subtrees (level, index), read from the store in one go."""

    def __init__(self, session: Session, wanted: list[tuple[int, int]]):
        self.session = session
        needs: dict[int, set[int]] = defaultdict(set)  # stored level -> indexes
        for level, index in wanted:
            base = level - level % NODE_STRIDE
            first = index << (level - base)
            needs[base].update(range(first, first + (1 << (level - base))))
        self.known: dict[tuple[int, int], bytes] = {}
        if leaves := needs.pop(0, None):
            for seq, leaf in session.execute(
                select(AuditEntry.seq, AuditEntry.leaf_hash).where(
                    AuditEntry.seq.in_([i + 1 for i in leaves])
                )
            ):
                if leaf is not None:
                    self.known[(0, seq - 1)] = bytes.fromhex(leaf)
        for base, indexes in needs.items():
            for idx, node in session.execute(
                select(AuditNode.idx, AuditNode.hash).where(
                    AuditNode.level == base, AuditNode.idx.in_(sorted(indexes))
                )
            ):
                self.known[(base, idx)] = bytes.fromhex(node)

    def hash(self, level: int, index: int) -> bytes:
        base = level - level % NODE_STRIDE
        first = index << (level - base)
        try:
            below = [self.known[(base, i)] for i in range(first, first + (1 << (level - base)))]
        except KeyError:
            raise ProofRequestError(MISSING) from None
        return merkle.perfect_root(below)


def range_hashes(session: Session, ranges: list[tuple[int, int]]) -> list[bytes]:
    """The tree hash of each leaf range [start, end) of a proof."""
    split = [merkle.pieces(start, end) for start, end in ranges]
    subtrees = _Subtrees(session, [piece for pieces in split for piece in pieces])
    return [merkle.fold([subtrees.hash(*piece) for piece in pieces]) for pieces in split]


def inclusion(session: Session, entry_id: int, size: int | None = None) -> dict[str, Any]:
    """RFC 6962 audit path of an entry in the tree of `size` leaves (default: the latest)."""
    integrated = tree_size(session)
    size = integrated if size is None else size
    seq = session.scalar(select(AuditEntry.seq).where(AuditEntry.id == entry_id))
    if seq is None:
        raise ProofRequestError(N_("No such entry, or it is not in the tree yet."))
    if not seq <= size <= integrated:
        raise ProofRequestError(N_("The size must cover the entry and not exceed the tree."))
    path = merkle.inclusion_ranges(seq - 1, size)
    leaf, root, *audit_path = range_hashes(session, [(seq - 1, seq), (0, size), *path])
    entry = session.get(AuditEntry, entry_id)
    return {
        "entry": entry_id,
        "leaf_index": seq - 1,
        "tree_size": size,
        # What the leaf commits to, as the entry reads now: sha256(0x00 || leaf_data) must
        # be leaf_hash, or the entry was changed after it was sealed.
        "leaf_data": leaf_data(entry, seq).decode(),
        "leaf_hash": leaf.hex(),
        "root_hash": root.hex(),
        "audit_path": [h.hex() for h in audit_path],
    }


def consistency(session: Session, first: int, second: int) -> dict[str, Any]:
    """RFC 6962 consistency proof that the tree of `first` leaves is a prefix of `second`."""
    if not 0 < first <= second <= tree_size(session):
        raise ProofRequestError(N_("Sizes must satisfy 0 < from ≤ to ≤ the tree's size."))
    proof = merkle.consistency_ranges(first, second)
    first_root, second_root, *hashes = range_hashes(session, [(0, first), (0, second), *proof])
    return {
        "first": first,
        "second": second,
        "first_root": first_root.hex(),
        "second_root": second_root.hex(),
        "consistency": [h.hex() for h in hashes],
    }
