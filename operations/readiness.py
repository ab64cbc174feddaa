"""Whether this node should get traffic: the database answers, its schema is at the
migrations' head, the pass-signing key is here, no audit sequencer has stopped signing
(a history that does not extend its last checkpoint), and (with a real SMS provider) an
outbox worker beat recently; and, shown but not failed on, whether every peer synced
within five sync intervals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from core import heartbeat
from federation.models import FederationPeer
from trust import auditlog, keys
from trust.models import SigningKey

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@cache
def migration_heads() -> frozenset[str]:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        # A neighbour's outage does not take our gates out of the balancer: peers' sync
        # age is shown ("stale") and alerted on through the metrics, not failed on.
        return all(
            value in ("ok", "not_required", "none_yet")
            for name, value in self.checks.items()
            if name != "federation"
        )


def check(
    engine: Engine,
    key_dir: Path,
    now: datetime,
    *,
    worker_needed: bool,
    worker_within: timedelta,
    peers_within: timedelta = timedelta(minutes=5),
) -> Readiness:
    result = Readiness()
    try:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))
            result.checks["database"] = "ok"
            versions = set(session.scalars(text("SELECT version_num FROM alembic_version")))
            result.checks["migrations"] = "ok" if versions == migration_heads() else "behind"
            result.checks["signing_key"] = _signing_key(session, key_dir)
            result.checks["audit_log"] = "halted" if auditlog.halted(session, now) else "ok"
            if worker_needed:
                beat = heartbeat.latest(session, heartbeat.SMS_WORKER)
                fresh = beat is not None and now - beat.at <= worker_within
                result.checks["sms_worker"] = "ok" if fresh else "silent"
            else:
                result.checks["sms_worker"] = "not_required"
            result.checks["federation"] = _peers(session, now, peers_within)
    except Exception:  # any failure to reach or read the database: not ready, say which
        result.checks.setdefault("database", "unavailable")
        for name in ("migrations", "signing_key", "audit_log", "sms_worker", "federation"):
            result.checks.setdefault(name, "unknown")
    return result


def _peers(session: Session, now: datetime, within: timedelta) -> str:
    """ "ok" when every active peer synced within `within`, "stale" otherwise."""
    synced = session.scalars(
        select(FederationPeer.last_sync_at).where(FederationPeer.status == "active")
    ).all()
    if not synced:
        return "not_required"
    return "ok" if all(at is not None and now - at <= within for at in synced) else "stale"


def _signing_key(session: Session, key_dir: Path) -> str:
    """The newest active key must be loadable here: a node without the shared key folder
    would otherwise make its own key at its first approval."""
    kid = session.scalar(
        select(SigningKey.kid)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.kid.desc())
        .limit(1)
    )
    if kid is None:
        return "none_yet"  # the first approval creates it
    try:
        keys.load_signer(key_dir, kid)
    except (OSError, ValueError, RuntimeError):
        return "missing"
    return "ok"
