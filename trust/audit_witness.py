"""What the sequencer keeps outside the database, and the check it makes with it before
signing: the witness file (every checkpoint it signed, one JSON line each) and the last
checkpoint this process signed. A tree is signed only if it extends the latest of them,
shown by a consistency proof; so a database administrator who rewrites an entry, resets
the tree's row and deletes the stored checkpoints gets no signature on the new history:
the sequencer stops, says why, and readiness fails until the history is put back.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from trust import merkle
from trust.audit_checkpoints import Checkpoint
from trust.audit_proofs import ProofRequestError, range_hashes

TAIL = 64 * 1024  # of the witness file read for its latest checkpoint


class ForkRefused(RuntimeError):
    """The tree the sequencer would sign does not extend one it signed before."""


def latest(path: Path | None, origin: str) -> Checkpoint | None:
    """The largest checkpoint of `origin` among the witness file's last lines (processes
    of one node append to it in about the order they signed; it only grows)."""
    if path is None or not path.is_file():
        return None
    with path.open("rb") as raw:
        raw.seek(max(0, raw.seek(0, 2) - TAIL))
        lines = raw.read().splitlines()
    found = None
    for line in lines:
        try:
            checkpoint = Checkpoint.from_json(json.loads(line))
        except (ValueError, UnicodeDecodeError):
            continue  # the cut first line of the tail, or a line a crash left half-written
        if checkpoint.origin == origin and (found is None or checkpoint.size > found.size):
            found = checkpoint
    return found


def newest(*checkpoints: Checkpoint | None) -> Checkpoint | None:
    known = [c for c in checkpoints if c is not None and c.size > 0]
    return max(known, key=lambda c: c.size) if known else None


def check_extends(session: Session, trusted: Checkpoint, size: int, root: bytes) -> None:
    """That the database's tree of `size` leaves and `root` extends `trusted` (when it is
    at least as large; a smaller tree is checked as the sequencer extends it)."""
    if trusted.size > size:
        return
    signed = trusted.time.isoformat(timespec="seconds")
    if trusted.size == size:
        if root.hex() != trusted.root_hash:
            raise ForkRefused(
                f"the tree of {size} entries in the database differs from the one signed {signed}"
            )
        return
    try:
        proof = range_hashes(session, merkle.consistency_ranges(trusted.size, size))
        merkle.verify_consistency(trusted.size, size, bytes.fromhex(trusted.root_hash), root, proof)
    except (merkle.ProofError, ProofRequestError):
        raise ForkRefused(
            f"the tree of {size} entries in the database does not extend the "
            f"{trusted.size} signed {signed}"
        ) from None


def check_reached(trusted: Checkpoint, size: int, root: bytes) -> None:
    """While extending: the tree at `trusted`'s size must be the one signed then."""
    if size == trusted.size and root.hex() != trusted.root_hash:
        signed = trusted.time.isoformat(timespec="seconds")
        raise ForkRefused(
            f"rebuilt, the first {size} entries differ from the checkpoint signed {signed}"
        )


def check_final(trusted: Checkpoint, size: int) -> None:
    if size < trusted.size:
        raise ForkRefused(
            f"the tree would have {size} entries, fewer than the {trusted.size} signed "
            f"{trusted.time.isoformat(timespec='seconds')}"
        )
