"""The history benchmark's data: passes, trips and scans at a steady rate, so more trips
mean a longer history, not a busier day.

RATE trips a day (a million over 60 days); each pass carries five trips of four scans
(entry, a refusal, arrival, exit), 20 hours apart, and one pass in ten a booked hour. Only
trips opened in the last day may still be open (a truck inside for months would be an
anomaly resolved long ago), so the trucks inside are as many at 1M trips as at 10M. Rows
go straight to the database: one executemany per batch on SQLite, COPY on PostgreSQL, the
big tables' indexes dropped while they fill and built after, which is what makes ten
million trips affordable.

`busy_minutes` then writes what five busy minutes add at the same rate (passes filed and
approved, trucks entering, trucks leaving from trips opened days ago): the timer's recount
after them is the benchmark's "the settling days recounted".

Over 300 lines on purpose: one data set, its bulk loader and its five busy minutes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from benchdata import jurisdiction, submit_passes
from sqlalchemy import Index, select, text

PROVINCES = "沪苏皖赣闽鲁豫鄂湘粤"  # not 浙: the seeded pass uses 浙F plates
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
RATE = 1_000_000 / 60  # trips a day
SHIPPERS = 300  # enterprises the passes and trips belong to
TRIPS_PER_PASS = 5
BATCH = 50_000
LAST_TRIP = timedelta(hours=20 * TRIPS_PER_PASS)  # from filing to the last trip's entry


def plate(i: int) -> str:
    """Unique plates: province and letter from the number's high part, five digits."""
    return f"{PROVINCES[i % len(PROVINCES)]}{LETTERS[i // 100_000 % len(LETTERS)]}{i % 100_000:05d}"


def number(i: int) -> str:
    """Unique 12-digit pass numbers: a million serials an area code, as the product's."""
    return f"{330483 + i // 1_000_000}{i % 1_000_000:06d}"


class Loader:
    """Bulk rows into tables whose secondary indexes are dropped until `finish`."""

    def __init__(self, engine: Any, tables: Sequence[Any]):
        self.engine, self.tables = engine, tables
        self.sqlite = engine.dialect.name == "sqlite"
        self.raw = engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.dropped: list[Index] = []
        cursor = self.conn.cursor()
        if not self.sqlite:
            # Rows made here are consistent by construction: no foreign-key triggers per row
            # (superuser only; the throw-away cluster's user is one).
            cursor.execute("SET session_replication_role = replica")
        if self.sqlite:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1000000")  # 1 GB of pages
            cursor.execute("PRAGMA wal_autocheckpoint=10000")  # the app checkpoints itself
        for table in tables:
            for index in table.indexes:
                if not index.unique:
                    cursor.execute(f"DROP INDEX {index.name}")
                    self.dropped.append(index)
        self.conn.commit()

    def put(self, table: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        """Write `rows` (values in `columns`' order; datetimes aware UTC); returns how many."""
        names = ", ".join(f'"{c}"' for c in columns)
        count = 0
        cursor = self.conn.cursor()
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'  # noqa: S608
            for batch in _batches(rows, BATCH):
                # The app's connections leave transactions to SQLAlchemy: one per batch here.
                cursor.execute("BEGIN")
                cursor.executemany(sql, [tuple(map(_sqlite, row)) for row in batch])
                cursor.execute("COMMIT")
                count += len(batch)
        else:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        self.conn.commit()
        return count

    def finish(self) -> None:
        """Build the dropped indexes again, bring PostgreSQL's id sequences past the ids
        given, and let the planners count what is there."""
        cursor = self.conn.cursor()
        for index in self.dropped:
            index.create(self.engine)
        if not self.sqlite:
            for table in self.tables:
                name = table.name  # the model's own
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "  # noqa: S608
                    f'(SELECT max(id) FROM "{name}"))'
                )
        self.conn.commit()
        cursor.execute("ANALYZE")
        self.conn.commit()
        if self.sqlite:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.raw.close()


def _sqlite(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (naive UTC text, 0/1)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, bool):
        return int(value)
    return value


def _batches(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


PASS_COLUMNS = (
    "id", "number", "enterprise_id", "vehicle_id", "driver_id", "destination_enterprise_id",
    "origin", "cargo", "category", "priority", "valid_from", "valid_until", "max_trips",
    "trips_used", "route_checkpoint_ids", "status", "auto_approved", "created_at", "reviewed_at",
)  # fmt: skip
TRIP_COLUMNS = (
    "id", "pass_id", "enterprise_id", "plate", "seq", "state", "entered_at",
    "entry_checkpoint_id", "arrived_at", "arrival_checkpoint_id", "opened_at", "exited_at",
    "exit_checkpoint_id", "destination_enterprise_id",
)  # fmt: skip
SCAN_COLUMNS = (
    "id", "scan_id", "pass_id", "trip_id", "checkpoint_id", "officer_id", "event", "decision",
    "reasons", "scanned_at", "recorded_at", "response",
)  # fmt: skip
BOOKING_COLUMNS = (
    "pass_id", "enterprise_id", "checkpoint_id", "slot_start", "status", "arrived_at", "trip_id",
    "created_by_id", "created_at",
)  # fmt: skip
EVENTS = (("entry", "allow"), ("none", "deny"), ("arrival", "allow"), ("exit", "allow"))
REFUSED = '["plate_mismatch"]'


def generate(app: Any, trips: int, *, per_day: float = RATE) -> tuple[list[str], float]:
    """The data set; returns some plates to search for and the seconds it took."""
    from accounts.models import Enterprise
    from checkpoints.models import Booking, Scan, Trip
    from fleet.models import Vehicle
    from passes.models import Pass

    with app.app_context():
        j = jurisdiction(app)
        base = j.session.get(Pass, submit_passes(j, 1)[0])  # a driver and a consignee
        gate, officer, driver = j.gate.id, j.officer.id, base.driver_id
        consignee = base.destination_enterprise_id
        j.session.commit()  # release SQLite's write lock before the bulk inserts
        j.session.close()
    engine = app.extensions["engine"]
    rng = random.Random(11)
    now = datetime.now(UTC)
    n_passes = max(1, trips // TRIPS_PER_PASS)
    span = timedelta(days=trips / per_day)
    # Filed in order over the span; the last trip of the newest pass enters 5 hours ago.
    newest = now - LAST_TRIP - timedelta(hours=5)
    step = span / n_passes
    started = time.perf_counter()
    tables = [Enterprise.__table__, Vehicle.__table__, Pass.__table__, Trip.__table__]
    loader = Loader(engine, [*tables, Scan.__table__, Booking.__table__])
    with engine.connect() as conn:
        first_enterprise = (conn.scalar(select(text("max(id)")).select_from(tables[0])) or 0) + 1
        vehicle_0 = (conn.scalar(select(text("max(id)")).select_from(tables[1])) or 0) + 1
        pass_0 = (conn.scalar(select(text("max(id)")).select_from(tables[2])) or 0) + 1
        trip_0 = (conn.scalar(select(text("max(id)")).select_from(tables[3])) or 0) + 1
        scan_0 = (conn.scalar(select(text("max(id)")).select_from(Scan.__table__)) or 0) + 1
    shippers = [first_enterprise + k for k in range(SHIPPERS)]
    loader.put(
        tables[0],
        ("id", "name", "credit_code", "contact_name", "contact_phone", "status", "whitelisted",
         "created_at"),
        (
            (e, f"货运企业{k:03d}", f"BENCH{k:013d}", "联系人", "+8613800000000", "approved",
             False, now - span)
            for k, e in enumerate(shippers)
        ),
    )  # fmt: skip
    loader.put(
        tables[1],
        ("id", "enterprise_id", "plate", "vehicle_type", "archived", "created_at"),
        (
            (vehicle_0 + i, shippers[i % SHIPPERS], plate(i), "van", False, now - span)
            for i in range(n_passes)
        ),
    )

    def filed(i: int) -> datetime:
        return newest - step * (n_passes - 1 - i) - timedelta(minutes=rng.randrange(60))

    created = [filed(i) for i in range(n_passes)]
    loader.put(
        tables[2],
        PASS_COLUMNS,
        (
            (
                pass_0 + i, number(i), shippers[i % SHIPPERS], vehicle_0 + i, driver,
                consignee, "平湖", "货物", "products", 1, c, c + timedelta(days=7),
                TRIPS_PER_PASS, TRIPS_PER_PASS, "[]", "approved", False, c,
                c + timedelta(minutes=rng.randrange(5, 240)),
            )
            for i, c in enumerate(created)
        ),
    )  # fmt: skip
    open_after = now - timedelta(days=1)
    inside_ids: set[int] = set()

    def trip_rows() -> Iterator[tuple[Any, ...]]:
        for i, c in enumerate(created):
            for seq in range(1, TRIPS_PER_PASS + 1):
                opened = c + timedelta(hours=seq * 20)
                inside = seq == TRIPS_PER_PASS and opened > open_after and rng.random() < 0.15
                trip_id = trip_0 + i * TRIPS_PER_PASS + seq - 1
                if inside:
                    inside_ids.add(trip_id)
                yield (
                    trip_id, pass_0 + i, shippers[i % SHIPPERS],
                    plate(i), seq, "entered" if inside else "exited", opened, gate,
                    None if inside else opened + timedelta(hours=2), None if inside else gate,
                    opened, None if inside else opened + timedelta(hours=5),
                    None if inside else gate, consignee,
                )  # fmt: skip

    def scan_rows() -> Iterator[tuple[Any, ...]]:
        scan_id = scan_0
        for i, c in enumerate(created):
            for seq in range(1, TRIPS_PER_PASS + 1):
                trip_id = trip_0 + i * TRIPS_PER_PASS + seq - 1
                opened = c + timedelta(hours=seq * 20)
                for k, (event, decision) in enumerate(EVENTS):
                    if trip_id in inside_ids and event in ("arrival", "exit"):
                        continue
                    at = opened + timedelta(minutes=k)
                    yield (
                        scan_id, f"{trip_id:010d}-{k}", pass_0 + i, trip_id, gate, officer,
                        event, decision, REFUSED if decision == "deny" else "[]", at, at, "{}",
                    )  # fmt: skip
                    scan_id += 1

    n_trips = loader.put(tables[3], TRIP_COLUMNS, trip_rows())
    n_scans = loader.put(Scan.__table__, SCAN_COLUMNS, scan_rows())
    # A pass in ten booked its first trip's hour at the gate, and came in it.
    loader.put(
        Booking.__table__,
        BOOKING_COLUMNS,
        (
            (pass_0 + i, shippers[i % SHIPPERS], gate, hour, "arrived",
             hour + timedelta(minutes=20), trip_0 + i * TRIPS_PER_PASS, officer, c)
            for i, c in enumerate(created)
            if i % 10 == 0
            for hour in [(c + timedelta(hours=20)).replace(minute=0, second=0, microsecond=0)]
        ),
    )  # fmt: skip
    loader.finish()
    took = time.perf_counter() - started
    print(f"generated {n_passes} passes, {n_trips} trips, {n_scans} scans in {took:.0f} s")
    return [plate(i) for i in rng.sample(range(n_passes), 20)], took


def busy_minutes(app: Any, minutes: int = 5, *, per_day: float = RATE) -> int:
    """What `minutes` busy minutes write at `per_day` trips a day, stamped now: as many
    passes filed, approved and entered as trucks leaving (their trips closed) and codes
    refused. Returns that number."""
    from checkpoints.models import Scan, Trip
    from fleet.models import Vehicle
    from passes.models import Pass

    n = max(1, round(per_day * minutes / 1440))
    engine = app.extensions["engine"]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        base = conn.execute(select(Pass).order_by(Pass.id.desc()).limit(1)).one()
        gate = conn.scalar(select(Scan.checkpoint_id).limit(1))
        officer = conn.scalar(select(Scan.officer_id).limit(1))
        leaving = conn.execute(
            select(Trip.id, Trip.pass_id).where(Trip.state == "entered").limit(n)
        ).all()
        last = conn.scalar(select(text("max(id)")).select_from(Pass.__table__)) or 0
        for k in range(n):
            at = now - timedelta(seconds=(n - k) * minutes * 60 / n)
            plate_k = f"浙B{(last + k) % 100_000:05d}"
            vehicle = conn.execute(
                Vehicle.__table__.insert().values(
                    enterprise_id=base.enterprise_id, plate=plate_k,
                    vehicle_type="van", archived=False, created_at=at,
                )
            ).inserted_primary_key[0]  # fmt: skip
            pass_id = conn.execute(
                Pass.__table__.insert().values(
                    number=f"330484{last + k:06d}"[-12:], enterprise_id=base.enterprise_id,
                    vehicle_id=vehicle, driver_id=base.driver_id,
                    destination_enterprise_id=base.destination_enterprise_id, origin="平湖",
                    cargo="货物", category="products", priority=1, valid_from=at,
                    valid_until=at + timedelta(days=7), max_trips=1, trips_used=1,
                    route_checkpoint_ids=[], status="approved", auto_approved=False,
                    created_at=at, reviewed_at=at,
                )
            ).inserted_primary_key[0]  # fmt: skip
            trip = conn.execute(
                Trip.__table__.insert().values(
                    pass_id=pass_id, enterprise_id=base.enterprise_id, plate=plate_k, seq=1,
                    state="entered", entered_at=at, entry_checkpoint_id=gate, opened_at=at,
                    destination_enterprise_id=base.destination_enterprise_id,
                )
            ).inserted_primary_key[0]  # fmt: skip
            scan = {"checkpoint_id": gate, "officer_id": officer, "response": {}}
            conn.execute(
                Scan.__table__.insert(),
                [
                    {**scan, "scan_id": f"busy-{k}-entry", "pass_id": pass_id, "trip_id": trip,
                     "event": "entry", "decision": "allow", "reasons": [], "scanned_at": at,
                     "recorded_at": at},
                    {**scan, "scan_id": f"busy-{k}-forged", "pass_id": None, "trip_id": None,
                     "event": "none", "decision": "deny",
                     "reasons": ["bad_signature"], "scanned_at": at, "recorded_at": at},
                ],
            )  # fmt: skip
            if k < len(leaving):
                trip_id, leaving_pass = leaving[k]
                conn.execute(
                    Trip.__table__.update()
                    .where(Trip.id == trip_id)
                    .values(state="exited", arrived_at=at, arrival_checkpoint_id=gate,
                            exited_at=at, exit_checkpoint_id=gate)
                )  # fmt: skip
                conn.execute(
                    Scan.__table__.insert().values(
                        **scan, scan_id=f"busy-{k}-exit", pass_id=leaving_pass, trip_id=trip_id,
                        event="exit", decision="allow", reasons=[], scanned_at=at, recorded_at=at,
                    )
                )  # fmt: skip
    return n
