"""Benchmark: trip history search, the dashboard, the statistics and their timer as
history grows.

Generates TRIPS trips (default 1,000,000) at a steady rate with four scans each
(scripts/bench_history_data.py: more trips are a longer history), then times in process,
through Flask and the real views, the searches, the dashboard and the statistics, and the
timer's recount after five busy minutes; prints p50/p95 and the first (cold) request.
Uses DATABASE_URL if set (e.g. PostgreSQL), else a temp SQLite.

    .venv/bin/python scripts/bench_history.py [--trips 1000000] [--repeat 20] [--per-day N]
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bench_history_data import RATE, busy_minutes, generate
from benchdata import bench_app, save_json


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
    parser.add_argument("--per-day", type=float, default=RATE, help="trips a day")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--export", action="store_true", help="also stream all trips as CSV")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file to look into")
    args = parser.parse_args()
    app, instance = bench_app(AUDIT_SEQUENCER="off")  # it would write into what is removed
    plates, generated = generate(app, args.trips, per_day=args.per_day)
    with app.app_context():
        from sqlalchemy import select

        from accounts import services as accounts
        from accounts.models import User
        from accounts.schemas import UserCreate
        from checkpoints.models import Checkpoint

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
        consignee = session.scalars(select(User).where(User.username == "ent")).one()
        receiving, _ = accounts.issue_api_token(
            session, consignee, now=datetime.now(UTC), lifetime=timedelta(hours=2)
        )
        gate = session.scalar(select(Checkpoint.id).where(Checkpoint.code == "G-BENCH"))
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
    print(f"daily figures counted: {counted.output.strip().splitlines()[-1]} ({refresh_seconds} s)")
    busy = busy_minutes(app, 5, per_day=args.per_day)
    started = time.perf_counter()
    counted = app.test_cli_runner().invoke(args=["statistics", "refresh"])
    assert counted.exit_code == 0, counted.output
    settling_seconds = round(time.perf_counter() - started, 1)
    print(
        f"the settling days recounted (the timer's run): {settling_seconds} s "
        f"(after five busy minutes: {busy} trucks in, {busy} out)"
    )
    year = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    today = datetime.now(ZoneInfo(app.config["TIMEZONE"])).date().isoformat()
    for label, url in (
        ("trips by plate prefix", f"/api/v1/trips?plate={plates[0][:5]}"),
        ("trips by plate without its province", f"/api/v1/trips?plate={plates[0][1:5].lower()}"),
        ("trips by full plate", f"/api/v1/trips?plate={plates[1]}"),
        ("trips by pass number", "/api/v1/trips?number=330483000123"),
        ("dashboard", "/api/v1/dashboard"),
        ("statistics, last 30 days", "/api/v1/statistics"),
        ("statistics, a year", f"/api/v1/statistics?from={year}"),
        ("the consignee's board", "/api/v1/arrivals"),
        ("the gate's day", f"/api/v1/checkpoints/{gate}/bookings?date={today}"),
    ):
        who = {"Authorization": f"Bearer {receiving}"} if "consignee" in label else headers
        p50, p95, first = timed(client, url, who, args.repeat)
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
            "trips_per_day": round(args.per_day),
            "generated_seconds": round(generated),
            "repeat": args.repeat,
            "queries": figures,
            "export": exported,
            "statistics_refresh_all_seconds": refresh_seconds,
            "statistics_refresh_seconds": settling_seconds,
        },
    )
    app.extensions["engine"].dispose()
    if args.keep:
        print(f"kept in {instance}")
    else:
        shutil.rmtree(instance, ignore_errors=True)  # ten million trips fill gigabytes


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
