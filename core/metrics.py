"""The counters and histograms that serving processes add to (Prometheus).

Under gunicorn, set PROMETHEUS_MULTIPROC_DIR to an empty folder before the server starts:
each worker then writes its values to files there, and /metrics (operations/views.py)
adds them up. Figures that live in the database (the outbox, the audit log's sealing
lag, the workers' and timers' heartbeats) are read when /metrics is asked instead, so
every node answers the same."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram

SCANS = Counter(
    "trafficpass_scans", "Scans decided, by decision and first reason", ["decision", "reason"]
)
SCAN_SECONDS = Histogram(
    "trafficpass_scan_seconds",
    "Time to answer POST /api/v1/scans",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
OFFLINE_SCANS = Counter(
    "trafficpass_offline_scans_synced", "Offline scans uploaded, by outcome", ["status"]
)
ANOMALIES = Counter("trafficpass_anomalies_raised", "Anomalies raised by scans", ["code"])
APPROVALS = Counter("trafficpass_approvals", "Passes approved")
LOGIN_FAILURES = Counter("trafficpass_login_failures", "Failed sign-ins")


def scanned(
    decision: str, reasons: Iterable[str], anomalies: Iterable[str], repeat: bool = False
) -> None:
    """One decided scan (not a replayed answer); a repeat counts as reason "repeat", and
    its anomalies were counted with the scan it repeats."""
    if repeat:
        SCANS.labels(decision, "repeat").inc()
        return
    SCANS.labels(decision, next(iter(reasons), "none")).inc()
    for code in anomalies:
        ANOMALIES.labels(code).inc()
