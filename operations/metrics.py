"""What /metrics reports beyond the processes' own counters: figures read from the
database at scrape time, so every node answers the same (the outbox, failed SMS by code,
the audit log's sealing lag and halted sequencers, the pass numbers left, the sweep's last
run, the SMS workers' heartbeat, each peer's sync age, events owed and witness state)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import heartbeat
from core.audit import AuditEntry
from federation.models import FederationEvent, FederationPeer
from passes.domain import serials_left
from passes.models import PassSerial
from sms.domain import SmsStatus
from sms.models import SmsMessage
from trust import auditlog

QUEUED = (SmsStatus.PENDING, SmsStatus.SENDING)


class DatabaseFigures(Collector):
    def __init__(self, session: Session, now: datetime):
        self.session, self.now = session, now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        session, now = self.session, self.now
        depth, oldest = session.execute(
            select(func.count(), func.min(SmsMessage.created_at)).where(
                SmsMessage.status.in_(QUEUED)
            )
        ).one()
        yield GaugeMetricFamily(
            "trafficpass_sms_outbox_depth", "SMS waiting in the outbox (pending or sending)", depth
        )
        yield GaugeMetricFamily(
            "trafficpass_sms_oldest_queued_seconds",
            "Age of the oldest SMS still waiting (0 when none)",
            _age(now, oldest),
        )
        failed = GaugeMetricFamily(
            "trafficpass_sms_failures",
            "SMS whose last attempt failed, by the provider's error code",
            labels=["code"],
        )
        for code, count in session.execute(
            select(SmsMessage.error_code, func.count())
            .where(SmsMessage.error_code.is_not(None))
            .group_by(SmsMessage.error_code)
        ):
            failed.add_metric([code], count)
        yield failed
        pending, first = session.execute(
            select(func.count(), func.min(AuditEntry.at)).where(AuditEntry.seq.is_(None))
        ).one()
        yield GaugeMetricFamily(
            "trafficpass_audit_pending_entries", "Audit entries not yet in the Merkle tree", pending
        )
        yield GaugeMetricFamily(
            "trafficpass_audit_sealing_lag_seconds",
            "Age of the oldest audit entry not yet in a signed checkpoint (0 when none)",
            _age(now, first),
        )
        yield GaugeMetricFamily(
            "trafficpass_audit_sequencer_halted",
            "Audit sequencers that stopped signing: the tree does not extend their last "
            "checkpoint (0 when all is well)",
            len(auditlog.halted(session, now)),
        )
        left = GaugeMetricFamily(
            "trafficpass_pass_serials_left",
            "Pass numbers still free, by area code (999,999 each; alert long before 0)",
            labels=["area_code"],
        )
        for area_code, last in session.execute(select(PassSerial.area_code, PassSerial.last)):
            left.add_metric([area_code], serials_left(last))
        yield left
        sweep = heartbeat.latest(session, heartbeat.SWEEP)
        yield GaugeMetricFamily(
            "trafficpass_sweep_last_run_timestamp_seconds",
            "When the loop sweep last finished (Unix time; 0 if never)",
            sweep.at.timestamp() if sweep else 0,
        )
        yield GaugeMetricFamily(
            "trafficpass_sweep_anomalies_raised",
            "Anomalies the last sweep raised",
            (sweep.data or {}).get("anomalies", 0) if sweep else 0,
        )
        worker = heartbeat.latest(session, heartbeat.SMS_WORKER)
        yield GaugeMetricFamily(
            "trafficpass_sms_worker_heartbeat_age_seconds",
            "Seconds since any SMS worker last beat (-1 if none ever did)",
            _age(now, worker.at) if worker else -1,
        )
        yield from _federation(session, now)


def _federation(session: Session, now: datetime) -> Iterator[GaugeMetricFamily]:
    labels = ["area_code"]
    age = GaugeMetricFamily(
        "trafficpass_federation_sync_age_seconds",
        "Seconds since a peer's keys and passes were last read whole (-1 if never)",
        labels=labels,
    )
    forked = GaugeMetricFamily(
        "trafficpass_federation_peer_forked",
        "1 when a peer's audit log did not extend the checkpoint we witnessed",
        labels=labels,
    )
    witnessed = GaugeMetricFamily(
        "trafficpass_federation_witnessed_size",
        "Size of the peer's audit log we last showed consistent (0 if none yet)",
        labels=labels,
    )
    for peer in session.scalars(select(FederationPeer)):
        code = [peer.area_code]
        age.add_metric(code, _age(now, peer.last_sync_at) if peer.last_sync_at else -1)
        forked.add_metric(code, 1 if peer.witness_state == "forked" else 0)
        witnessed.add_metric(code, (peer.witnessed or {}).get("size", 0))
    events = GaugeMetricFamily(
        "trafficpass_federation_events",
        "Events owed to peers about their passes, by peer and state (pending, refused)",
        labels=["area_code", "state"],
    )
    for code, state, count in session.execute(
        select(FederationEvent.peer_area_code, FederationEvent.status, func.count())
        .where(FederationEvent.status != "sent")
        .group_by(FederationEvent.peer_area_code, FederationEvent.status)
    ):
        events.add_metric([code, state], count)
    yield from (age, forked, witnessed, events)


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def exposition(session: Session, now: datetime) -> bytes:
    """The text format: every process's counters (under gunicorn, from the shared
    PROMETHEUS_MULTIPROC_DIR), then the database's figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    figures = CollectorRegistry(auto_describe=False)
    figures.register(DatabaseFigures(session, now))
    return generate_latest(processes) + generate_latest(figures)
