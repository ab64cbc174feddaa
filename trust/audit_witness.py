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
from trust.audit_checkpoints import Checkpoint, CheckpointKeys
from trust.audit_proofs import ProofRequestError, range_hashes

TAIL = 64 * 1024  # of the witness file read for its latest checkpoint


class ForkRefused(RuntimeError):
    """The tree the sequencer would sign does not extend one it signed before."""


class WitnessUnwritable(ForkRefused):
    """A checkpoint was signed and stored but could not be appended to the witness file:
    nothing more is signed until it is (the file is what a rewrite is checked against)."""

    def __init__(self, problem: str, checkpoint: Checkpoint):
        super().__init__(problem)
        self.checkpoint = checkpoint


def latest(path: Path | None, keys: CheckpointKeys, origin: str) -> Checkpoint | None:
    """The largest checkpoint of `origin` with a good signature among the witness file's
    last lines (processes of one node append in about the order they signed), reading
    further back while a stretch holds none. A file with content but no such checkpoint
    (junk, another log's lines) raises ForkRefused: the check fails closed."""
    if path is None or not path.is_file() or path.stat().st_size == 0:
        return None
    public = keys.public_keys()
    with path.open("rb") as raw:
        end, carry = raw.seek(0, 2), b""
        while end > 0:
            start = max(0, end - TAIL)
            raw.seek(start)
            lines = (raw.read(end - start) + carry).split(b"\n")
            carry = lines.pop(0) if start > 0 else b""  # maybe cut: read with what precedes
            found = None
            for line in lines:
                checkpoint = _checkpoint(line)
                if (
                    checkpoint is not None
                    and checkpoint.origin == origin
                    and (found is None or checkpoint.size > found.size)
                    and keys.check(checkpoint, public)
                ):
                    found = checkpoint
            if found is not None:
                return found
            end = start
    raise ForkRefused(f"the witness file {path} holds no checkpoint signed by this log's keys")


def _checkpoint(line: bytes) -> Checkpoint | None:
    if not line.strip():
        return None
    try:
        return Checkpoint.from_json(json.loads(line))
    except (ValueError, UnicodeDecodeError):
        return None  # a line a crash left half-written, or not a checkpoint at all


def append(path: Path, checkpoint: Checkpoint) -> None:
    """Add `checkpoint` as a line, after a newline if a crash left the last line unended.
    Raises WitnessUnwritable (a full disk, a read-only file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab+") as out:
            ended = out.seek(0, 2) == 0 or (out.seek(-1, 2) >= 0 and out.read(1) == b"\n")
            line = json.dumps(checkpoint.to_json()).encode() + b"\n"
            out.write(line if ended else b"\n" + line)
    except OSError as exc:
        raise WitnessUnwritable(
            f"the checkpoint of {checkpoint.size} entries is stored but the witness file "
            f"{path} cannot be written ({exc.strerror or exc})",
            checkpoint,
        ) from exc


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
