"""RFC 6962 proofs over the integrated audit log: an entry's inclusion in a tree of some
size, and the consistency of a smaller tree with a larger one (hashes hex)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEntry
from core.errors import N_
from trust import merkle
from trust.auditlog import tree_size


class ProofRequestError(ValueError):
    """A proof asked for a size or entry the log does not have."""


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
