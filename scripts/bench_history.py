"""Benchmark: trip history search and the dashboard on a large data set.

Generates TRIPS trips (default 1,000,000) and four scans each with bulk inserts, then times
(in-process, through Flask and the real views) a plate-prefix search, a pass-number search,
the dashboard figures and the statistics for the last 30 days, and prints p50/p95.
Uses DATABASE_URL if set (e.g. PostgreSQL), else a temp SQLite.

    .venv/bin/python scripts/bench_history.py [--trips 1000000] [--repeat 20]

Over 300 lines on purpose: one benchmark: a million trips built, queried and exported.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchdata import bench_app, jurisdiction, save_json, submit_passes
from sqlalchemy import insert, select, text

PROVINCES = "沪苏皖赣闽鲁豫鄂湘粤"  # not 浙: the seeded pass uses 浙F plates
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
BATCH = 20_000
SHIPPERS = 300  # enterprises the passes and trips belong to


def generate(app, trips: int) -> list[str]:
    """Passes (one per 5 trips), trips and scans; returns some plates to search for."""
    from accounts.models import Enterprise
    from checkpoints.models import Scan, Trip
    from fleet.models import Vehicle
    from passes.models import Pass

    with app.app_context():
        j = jurisdiction(app)
        seed = submit_passes(j, 1)  # a vehicle, a driver and a pass to copy
        base = j.session.get(Pass, seed[0])
        gate, officer_id = j.gate.id, j.officer.id
        j.session.commit()  # release SQLite's write lock before the bulk inserts
        engine = app.extensions["engine"]
        rng = random.Random(11)
        now = datetime.now(UTC)
        n_passes = max(1, trips // 5)
        started = time.perf_counter()
        # Unique plates: province and letter from the number's high part, five digits.
        plates = [
            f"{PROVINCES[i % len(PROVINCES)]}{LETTERS[i // 100_000 % len(LETTERS)]}"
            f"{i % 100_000:05d}"
            for i in range(n_passes)
        ]
        with engine.begin() as conn:
            # Shippers: the statistics add up one row per enterprise and day.
            conn.execute(
                insert(Enterprise),
                [
                    {
                        "name": f"货运企业{k:03d}",
                        "credit_code": f"BENCH{k:013d}",
                        "contact_name": "联系人",
                        "contact_phone": "+8613800000000",
                        "status": "approved",
                        "whitelisted": False,
                        "created_at": now,
                    }
                    for k in range(SHIPPERS)
                ],
            )
            shippers = [
                e
                for (e,) in conn.execute(
                    select(Enterprise.id).where(Enterprise.credit_code.like("BENCH%"))
                )
            ]
            vehicle_ids = []
            for lo in range(0, n_passes, BATCH):
                rows = [
                    {
                        "enterprise_id": base.enterprise_id,
                        "plate": p,
                        "vehicle_type": "van",
                        "archived": False,
                        "created_at": now,
                    }
                    for p in plates[lo : lo + BATCH]
                ]
                conn.execute(insert(Vehicle), rows)
            vehicle_ids = [
                v
                for (v,) in conn.execute(
                    select(Vehicle.id).where(Vehicle.id != base.vehicle_id).order_by(Vehicle.id)
                )
            ]
            pass_rows = []
            for i, vehicle_id in enumerate(vehicle_ids):
                created = now - timedelta(minutes=rng.randrange(60 * 24 * 60))
                pass_rows.append(
                    {
                        "number": f"330483{i:06d}",
                        "enterprise_id": shippers[i % SHIPPERS],
                        "vehicle_id": vehicle_id,
                        "driver_id": base.driver_id,
                        "destination_enterprise_id": base.destination_enterprise_id,
                        "origin": "平湖",
                        "cargo": "货物",
                        "category": "products",
                        "priority": 1,
                        "valid_from": created,
                        "valid_until": created + timedelta(days=7),
                        "max_trips": 5,
                        "trips_used": 5,
                        "route_checkpoint_ids": [],
                        "status": "approved",
                        "auto_approved": False,
                        "created_at": created,
                        "reviewed_at": created,
                    }
                )
            for lo in range(0, len(pass_rows), BATCH):
                conn.execute(insert(Pass), pass_rows[lo : lo + BATCH])
            pass_ids = [
                (p, v, c, e)
                for p, v, c, e in conn.execute(
                    select(Pass.id, Pass.vehicle_id, Pass.created_at, Pass.enterprise_id).where(
                        Pass.id != base.id
                    )
                )
            ]
        plate_of = dict(zip(vehicle_ids, plates, strict=False))
        trip_id = 0
        with engine.begin() as conn:
            trip_rows, scan_rows = [], []
            for pass_id, vehicle_id, created, shipper in pass_ids:
                for seq in range(1, 6):
                    trip_id += 1
                    opened = created + timedelta(hours=seq * 20)
                    # Only the last trip of a pass may still be open (one open trip per pass).
                    state = "entered" if seq == 5 and rng.random() < 0.15 else "exited"
                    trip_rows.append(
                        {
                            "id": trip_id,
                            "pass_id": pass_id,
                            "enterprise_id": shipper,
                            "plate": plate_of[vehicle_id],
                            "seq": seq,
                            "state": state,
                            "entered_at": opened,
                            "entry_checkpoint_id": gate,
                            "opened_at": opened,
                            "exited_at": opened + timedelta(hours=5) if state == "exited" else None,
                            "exit_checkpoint_id": gate if state == "exited" else None,
                        }
                    )
                    for k, event in enumerate(("entry", "none", "arrival", "exit")):
                        scan_rows.append(
                            {
                                "scan_id": f"{trip_id}-{k}",
                                "pass_id": pass_id,
                                "trip_id": trip_id,
                                "checkpoint_id": gate,
                                "officer_id": officer_id,
                                "event": event,
                                "decision": "allow" if event != "none" else "deny",
                                "reasons": [],
                                "scanned_at": opened,
                                "recorded_at": opened + timedelta(minutes=k),
                                "response": {},
                            }
                        )
                if len(trip_rows) >= BATCH:
                    conn.execute(insert(Trip), trip_rows)
                    conn.execute(insert(Scan), scan_rows)
                    trip_rows, scan_rows = [], []
            if trip_rows:
                conn.execute(insert(Trip), trip_rows)
                conn.execute(insert(Scan), scan_rows)
            if engine.dialect.name == "postgresql":
                conn.execute(text("ANALYZE"))
        j.session.close()
        print(
            f"generated {n_passes} passes, {trip_id} trips, {trip_id * 4} scans "
            f"in {time.perf_counter() - started:.0f} s"
        )
        return [plates[i] for i in rng.sample(range(n_passes), 20)]


def timed(client, url: str, headers: dict[str, str], repeat: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        times.append((time.perf_counter() - started) * 1000)
    first = times[0]
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trips", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--export", action="store_true", help="also stream all trips as CSV")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    app, _ = bench_app()
    plates = generate(app, args.trips)
    with app.app_context():
        from accounts import services as accounts
        from accounts.schemas import UserCreate

        session = app.extensions["sessions"]()
        supervisor = accounts.create_user(
            session,
            UserCreate(username="sup", password="sup-pass-1", role="supervisor"),
            actor=None,
            now=datetime.now(UTC),
            password_method="pbkdf2:sha256:1000",
        )
        raw, _ = accounts.issue_api_token(
            session, supervisor, now=datetime.now(UTC), lifetime=timedelta(hours=2)
        )
        session.close()
    headers = {"Authorization": f"Bearer {raw}"}
    client = app.test_client()
    print(f"database: {app.extensions['engine'].dialect.name}; {args.repeat} requests each")
    figures: dict[str, dict[str, float]] = {}
    # The statistics counted from the trips themselves (no daily figures kept yet), then
    # the daily figures counted once, as `flask statistics refresh --all` does.
    p50, p95, first = timed(client, "/api/v1/statistics", headers, 3)
    print(f"{'statistics, counted live':28} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  (3 requests)")
    figures["statistics, last 30 days, counted live"] = {
        "p50": round(p50, 1),
        "p95": round(p95, 1),
        "first": round(first, 1),
    }
    started = time.perf_counter()
    counted = app.test_cli_runner().invoke(args=["statistics", "refresh", "--all"])
    assert counted.exit_code == 0, counted.output
    refresh_seconds = round(time.perf_counter() - started, 1)
    print(f"daily figures counted: {counted.output.strip()} ({refresh_seconds} s)")
    started = time.perf_counter()
    app.test_cli_runner().invoke(args=["statistics", "refresh"])
    settling_seconds = round(time.perf_counter() - started, 1)
    print(f"the settling days recounted (the timer's run): {settling_seconds} s")
    year = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    for label, url in (
        ("trips by plate prefix", f"/api/v1/trips?plate={plates[0][:5]}"),
        ("trips by plate without its province", f"/api/v1/trips?plate={plates[0][1:5].lower()}"),
        ("trips by full plate", f"/api/v1/trips?plate={plates[1]}"),
        ("trips by pass number", "/api/v1/trips?number=330483000123"),
        ("dashboard", "/api/v1/dashboard"),
        ("statistics, last 30 days", "/api/v1/statistics"),
        ("statistics, a year", f"/api/v1/statistics?from={year}"),
    ):
        p50, p95, first = timed(client, url, headers, args.repeat)
        print(f"{label:28} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  first {first:8.1f} ms")
        figures[label] = {"p50": round(p50, 1), "p95": round(p95, 1), "first": round(first, 1)}
    exported = export_all(client) if args.export else None
    save_json(
        args.json,
        {
            "database": app.extensions["engine"].dialect.name,
            "server_version": ".".join(
                map(str, app.extensions["engine"].dialect.server_version_info or ())
            ),
            "trips": args.trips,
            "repeat": args.repeat,
            "queries": figures,
            "export": exported,
            "statistics_refresh_all_seconds": refresh_seconds,
            "statistics_refresh_seconds": settling_seconds,
        },
    )


def rss_mib() -> float:
    """The process's resident memory now (Linux), in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def export_all(client) -> dict[str, float]:
    """Stream every trip as CSV; report rows, time and how much the process grew."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    signed_in = client.post(
        "/login", data={"username": "sup", "password": "sup-pass-1", "csrf_token": token[1]}
    )
    assert signed_in.status_code == 302, signed_in.status_code
    before = rss_mib()
    peak = before
    started = time.perf_counter()
    response = client.get("/exports/trips.csv", buffered=False)
    assert response.status_code == 200, response.status_code
    rows = -1  # the header
    for i, chunk in enumerate(response.response):
        rows += chunk.count(b"\n")
        if i % 1000 == 0:
            peak = max(peak, rss_mib())
    response.close()
    grown, took = peak - before, time.perf_counter() - started
    print(
        f"CSV export of all trips: {rows} rows in {took:.0f} s, "
        f"resident memory grew at most {grown:.0f} MiB"
    )
    return {"rows": rows, "seconds": round(took), "memory_growth_mib": round(grown)}


if __name__ == "__main__":
    main()
