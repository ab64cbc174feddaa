"""Peers witness each other's audit logs (as Certificate Transparency's witnesses do): each
sync keeps the peer's signed audit checkpoint (it comes inside the configuration its
federation key signed) and checks it extends the last one kept, by a consistency proof the
peer serves (hashes only). One that does not is a fork: the peer is marked, the fork is
audited and announced (an alert), and the checkpoint kept stays the last good one, as the
evidence, until an administrator pins the peer again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core import audit
from federation import documents, events
from federation.models import FederationPeer
from trust import merkle
from trust.audit_checkpoints import Checkpoint

# (first size, second size) -> the peer's consistency proof {first_root, second_root, consistency}
AskProof = Callable[[int, int], dict[str, Any]]


def witness(
    session: Session, peer: FederationPeer, raw: Any, *, ask: AskProof, now: datetime
) -> None:
    """Check the peer's new checkpoint `raw` against the one kept, and keep it. A peer that
    cannot be asked raises DocumentError (tried again next sync); a fork marks the peer."""
    if peer.witness_state == "forked":
        return
    if raw is None:
        if peer.witnessed is not None:  # it published one before: a log does not vanish
            _forked(
                session, peer, peer.witnessed, None, "it no longer publishes its checkpoint", now
            )
        return
    try:
        new = Checkpoint.from_json(raw)
    except ValueError:
        raise documents.DocumentError("the audit checkpoint is not one") from None
    kept = peer.witnessed
    if kept is None or peer.witness_state is None:
        peer.witnessed, peer.witness_state, peer.witness_error = new.to_json(), "ok", None
        return
    why = _fork(int(kept["size"]), str(kept["root_hash"]), new, ask)
    if why is None:
        peer.witnessed = new.to_json()
        return
    _forked(session, peer, kept, new.to_json(), why, now)


def _forked(
    session: Session,
    peer: FederationPeer,
    kept: dict[str, Any],
    shown: dict[str, Any] | None,
    why: str,
    now: datetime,
) -> None:
    peer.witness_state, peer.witness_error = "forked", why[:300]
    audit.record(
        session,
        actor_id=None,
        action=audit.Action.PEER_FORK,
        object_type="peer",
        object_id=peer.area_code,
        data={"kept": kept, "shown": shown, "why": why},
        now=now,
    )
    events.peer_forked.send(peer, session=session, now=now, why=why)


def _fork(old_size: int, old_root: str, new: Checkpoint, ask: AskProof) -> str | None:
    """Why `new` does not extend the checkpoint of `old_size` and `old_root`, or None."""
    if new.size < old_size:
        return f"its log shrank from {old_size} to {new.size} entries"
    if new.size == old_size:
        return None if new.root_hash == old_root else f"two roots at size {old_size}"
    proof = ask(old_size, new.size)
    try:
        first, second = str(proof["first_root"]), str(proof["second_root"])
        path = [bytes.fromhex(h) for h in proof["consistency"]]
        if first != old_root or second != new.root_hash:
            return f"its proof from {old_size} to {new.size} names other roots"
        merkle.verify_consistency(
            old_size, new.size, bytes.fromhex(old_root), bytes.fromhex(new.root_hash), path
        )
    except merkle.ProofError:
        return f"the tree of {new.size} entries does not extend the one of {old_size}"
    except (KeyError, TypeError, ValueError):
        raise documents.DocumentError("the consistency proof is not one") from None
    return None
