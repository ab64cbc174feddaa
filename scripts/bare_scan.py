"""The database's own bound for a scan: a WSGI app with no framework, no authentication
and no signature check, that runs the statements `POST /api/v1/scans` runs, in the same
order and transaction shape, on the bare driver. bench_scan.py serves it with gunicorn next
to the product and compares the two in the same run: what the product's scans reach below
this is the product's cost, not the database's.

    POST /bare/scans {"scan_id": "...", "pass_id": 1, "checkpoint_id": 1, "officer_id": 1}

Each pass alternates as in the load test: an entry opens a trip (counting it), the next
scan exits it without arrival (closing it, raising the anomaly, asking who subscribes).
Served with: gunicorn --pythonpath scripts bare_scan:application (DATABASE_URL set)."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkpoints import scan_store  # noqa: E402
from checkpoints.domain import Event  # noqa: E402
from core import audit  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.prepared import Prepared, _Form  # noqa: E402
from core.sqlite_lock import WriteLock  # noqa: E402
from supervision import alerts  # noqa: E402

_engine = make_engine(os.environ["DATABASE_URL"])
_database = _engine.url.database
# SQLite: the product's writers' lock file, taken the product's way (core.sqlite_lock.WriteLock)
_lock = WriteLock(f"{_database}-writelock", 10) if _engine.dialect.name == "sqlite" else None
_connection = None
_RESPONSE = {"decision": "allow", "reasons": [], "anomalies": [], "pass": {"number": "x" * 12}}
# Where the locked read's columns are, by name: the pass's, then its open trip's.
_NAMES = [c.key for c in (*scan_store._PASS_COLUMNS, *scan_store._OPEN_TRIP_COLUMNS)]
ENTERPRISE, TRIPS_USED, PLATE, DESTINATION = (
    _NAMES.index(n) for n in ("enterprise_id", "trips_used", "plate", "destination_enterprise_id")
)
TRIP = _NAMES.index("trip_id")
NO_TRIP = (None,) * len(scan_store._OPEN_TRIP_COLUMNS)


def _sql(prepared: Prepared, dialect: object, **values: object) -> tuple[str, object]:
    """A statement of the scan path as the driver gets it: its SQL and its parameters."""
    form = prepared._forms.get(dialect.name) or prepared._forms.setdefault(
        dialect.name, _Form(prepared.statement, dialect)
    )
    return form.sql, form.parameters(values)


def _scan(raw: object, dialect: object, body: dict) -> None:
    sqlite = dialect.name == "sqlite"
    now = datetime.now(UTC)
    run = raw.cursor()

    def execute(prepared: Prepared, **values: object) -> list:
        run.execute(*_sql(prepared, dialect, **values))
        return run.fetchall() if run.description else []

    # before the write transaction: the retry check, the checkpoint, the assignment
    execute(
        scan_store.BEFORE,
        user_id=body["officer_id"],
        scan_id=body["scan_id"],
        checkpoint_id=body["checkpoint_id"],
    )
    if sqlite:
        raw.commit()  # end the read
        _lock.acquire(raw)
        run.execute("BEGIN IMMEDIATE")
    else:
        raw.commit()
    pass_id = body["pass_id"]
    if sqlite:
        row = execute(scan_store.PASS_BY["id"], key=pass_id)[0]
    else:
        row = execute(scan_store.PASS_LOCKED_BY["id"], key=pass_id)[0]
        trip = execute(scan_store.OPEN_TRIP, pass_id=pass_id)
        row = (*row, *(trip[0] if trip else NO_TRIP))
    trip_id = row[TRIP]
    if trip_id is None:  # an entry: count the trip, open it
        execute(scan_store.PASS_COUNT_TRIP, pass_id=pass_id)
        trip_id = execute(
            scan_store.TRIP_INSERT[Event.ENTRY],
            pass_id=pass_id,
            enterprise_id=row[ENTERPRISE],
            destination_enterprise_id=row[DESTINATION],
            plate=row[PLATE],
            seq=row[TRIPS_USED] + 1,
            stops=0,
            state="entered",
            opened_at=now,
            entered_at=now,
            entry_checkpoint_id=body["checkpoint_id"],
        )[0][0]
    else:  # an exit without arrival: close it, raise the anomaly, ask who listens
        execute(
            scan_store.TRIP_STAMP[Event.EXIT],
            trip_id=trip_id,
            exited_at=now,
            exit_checkpoint_id=body["checkpoint_id"],
            state="exited",
        )
        added = execute(
            scan_store.ANOMALY_INSERT[dialect.name],
            trip_id=trip_id,
            pass_id=pass_id,
            enterprise_id=row[ENTERPRISE],
            kind="exit_without_arrival",
            detected_at=now,
        )
        if added:
            execute(alerts._SUBSCRIBED_KINDS)
    scan_pk = execute(
        scan_store.SCAN_INSERT,
        scan_id=body["scan_id"],
        pass_id=pass_id,
        trip_id=trip_id,
        checkpoint_id=body["checkpoint_id"],
        officer_id=body["officer_id"],
        event="entry",
        decision="allow",
        reasons=[],
        direction=None,
        scanned_at=now,
        recorded_at=now,
        offline=False,
        response=_RESPONSE,
    )[0][0]
    execute(
        audit._INSERT,
        **audit._values(body["officer_id"], "scan.allow", "scan", scan_pk, {"pass": pass_id}, now),
    )
    raw.commit()
    run.close()


def application(environ: dict, start_response: object) -> list[bytes]:
    global _connection
    if _connection is None:
        _connection = _engine.raw_connection()  # one per worker, opened after the fork
    if environ["REQUEST_METHOD"] != "POST":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"POST /bare/scans\n"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length))
    try:
        _scan(_connection.dbapi_connection, _engine.dialect, body)
    except Exception:
        _connection.dbapi_connection.rollback()
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"failed\n"]
    payload = json.dumps({"scan_id": body["scan_id"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [payload]
