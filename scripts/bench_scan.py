"""Benchmark POST /api/v1/scans under gunicorn next to a no-op JSON endpoint, same server,
same run, and next to bare_scan.py (the same statements on the bare driver, no framework):
the database's own bound. Rounds of the phases in turn; prints requests/s and p50/p99 of
each, the ratios to the no-op (each round's, and their median), p99 of scans at half the
peak rate, the audit log's sealing delay, and the invariants checked after the load.
Uses DATABASE_URL if set (e.g. PostgreSQL), else a temp SQLite.

    .venv/bin/python scripts/bench_scan.py [--clients 16] [--seconds 10] [--rounds 3]
                                           [--workers 4] [--soak SECONDS] [--json FILE]

Over 300 lines on purpose: one benchmark run: its phases, sealing delays and
invariant checks read together.
"""

from __future__ import annotations

import argparse
import bisect
import http.client
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchdata import bench_app, jurisdiction, save_json, submit_passes  # noqa: E402
from benchload import Load, free_port, workers_rss_mib  # noqa: E402


def seed(app, passes: int, bare: int = 0) -> tuple[str, int, list[str], str, int, list[int]]:
    """An officer's API token, the gate id, the QR texts of `passes` approved passes, a
    reviewer's API token (for the smallest authenticated write), the officer's id and the
    ids of `bare` more passes (for bare_scan.py, so the two servers' passes never meet)."""
    from accounts import services as accounts
    from core.db import utcnow
    from passes import context, services
    from passes.models import Pass

    j = jurisdiction(app)
    now, issuer = utcnow(), context.issuer()
    for pass_id in submit_passes(j, passes + bare, max_trips=100):
        services.approve_pass(j.session, pass_id, j.reviewer, now=now, issuer=issuer)
    found = j.session.query(Pass).order_by(Pass.id).all()
    codes, bare_ids = [p.code for p in found[:passes]], [p.id for p in found[passes:]]
    for p in found[passes:]:
        # bare_scan.py writes what a scan writes without deciding: nothing stops it at
        # the pass's limit, so its passes get one it cannot reach
        p.max_trips = 10**9
    j.session.commit()
    raw, _ = accounts.issue_api_token(j.session, j.officer, now=now, lifetime=timedelta(hours=2))
    reviewer, _ = accounts.issue_api_token(
        j.session, j.reviewer, now=now, lifetime=timedelta(hours=2)
    )
    officer = j.officer.id
    j.session.close()
    return raw, j.gate.id, codes, reviewer, officer, bare_ids


def wait_for_sealing(app, limit: float = 30.0) -> float:
    """Seconds until the servers' sequencers left nothing pending (they run in gunicorn)."""
    from trust.auditlog import has_pending

    started = time.monotonic()
    while time.monotonic() - started < limit:
        with app.extensions["read_sessions"]() as session:
            if not has_pending(session):
                return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"INVARIANT BROKEN: audit entries still pending after {limit:.0f} s")


def sealing_delays(app, since: datetime, until: datetime) -> dict:
    """How long the scans' audit entries written in [since, until] waited to be sealed:
    from the entry's time to the signing time of the first checkpoint that covers it."""
    from sqlalchemy import select

    from core.audit import AuditCheckpoint, AuditEntry

    with app.extensions["read_sessions"]() as session:
        entries = session.execute(
            select(AuditEntry.seq, AuditEntry.at).where(
                AuditEntry.action.like("scan.%"), AuditEntry.at.between(since, until)
            )
        ).all()
        heads = session.execute(
            select(AuditCheckpoint.size, AuditCheckpoint.at).order_by(AuditCheckpoint.size)
        ).all()
    sizes = [h.size for h in heads]
    delays = sorted(
        (heads[bisect.bisect_left(sizes, e.seq)].at - e.at).total_seconds() for e in entries
    )
    if not delays:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    return {
        "n": len(delays),
        "p50": delays[len(delays) // 2],
        "p99": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
        "max": delays[-1],
    }


def check_invariants(app, acknowledged: int, in_flight: int) -> dict:
    """What must hold after any load, checked in the database; exits loudly if one breaks."""
    from sqlalchemy import func, select

    from checkpoints.domain import OPEN_STATES, TripState
    from checkpoints.models import Scan, Trip
    from core.audit import AuditEntry
    from passes.models import Pass
    from trust import auditlog
    from trust.context import audit_log

    broken = []
    with app.extensions["read_sessions"]() as session:
        scans = session.scalar(select(func.count()).select_from(Scan))
        # wrk stops with up to one request per connection unanswered: recorded, not counted
        if not acknowledged <= scans <= acknowledged + in_flight:
            broken.append(f"{acknowledged} scans acknowledged (+{in_flight}), {scans} recorded")
        two_open = session.scalars(
            select(Trip.pass_id)
            .where(Trip.state.in_(OPEN_STATES))
            .group_by(Trip.pass_id)
            .having(func.count() > 1)
        ).all()
        if two_open:
            broken.append(f"passes with two open trips: {two_open[:10]}")
        counted = (
            select(Trip.pass_id, func.count().label("n"))
            .where(Trip.seq.is_not(None), Trip.state != TripState.VOID)
            .group_by(Trip.pass_id)
            .subquery()
        )
        miscounted = session.scalars(
            select(Pass.id)
            .outerjoin(counted, counted.c.pass_id == Pass.id)
            .where(Pass.trips_used != func.coalesce(counted.c.n, 0))
        ).all()
        if miscounted:
            broken.append(f"passes whose trips_used is not their trips: {miscounted[:10]}")
        over = session.scalars(select(Pass.id).where(Pass.trips_used > Pass.max_trips)).all()
        if over:
            broken.append(f"passes over max_trips: {over[:10]}")
        audited = set(
            session.scalars(
                select(AuditEntry.object_id).where(
                    AuditEntry.object_type == "scan", AuditEntry.action.like("scan.%")
                )
            )
        )
        unaudited = [i for i in session.scalars(select(Scan.id)) if str(i) not in audited]
        if unaudited:
            broken.append(f"{len(unaudited)} scans without their audit entry")
        settings = audit_log(app)
        verified = auditlog.verify(session, settings.keys, settings.origin)
        if not verified.ok or verified.pending:
            broken.append(f"audit log: {verified}")
    if broken:
        raise SystemExit("INVARIANT BROKEN: " + "; ".join(broken))
    return {
        "ok": True,
        "scans": scans,
        "audit_entries": verified.entries,
        "checkpoints": verified.checkpoints,
    }


def gunicorn(workers: int, port: int, env: dict, *app: str, root: Path = ROOT) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(root / ".venv/bin/gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *app,
        ],
        cwd=root,
        env=env,
    )
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("HEAD", "/")
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"gunicorn did not start on port {port}")


def middle(runs: list[dict]) -> dict:
    """The round with the median rate: its own p50 and p99 go with it."""
    return sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--rounds", type=int, default=3, help="no-op, write, scan and bare phases, in turn"
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--passes",
        type=int,
        default=400,
        help="scanned in turn, an entry then an exit: enough that none reaches its 100 trips"
        " (a used-up pass is refused, which is cheaper than a scan that records)",
    )
    parser.add_argument(
        "--soak", type=float, default=0, help="then scan at half the peak rate this many seconds"
    )
    parser.add_argument(
        "--sequencer",
        choices=("process", "thread"),
        default="thread",
        help="the audit log's sequencer in its own process (`flask audit sequencer`, as"
        " docs/deploy.md runs it), or a thread in each server process",
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="a checkout of another commit (with its .venv): its app is served beside this"
        " one on the same database, and its scans are a phase of every round",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    app, instance = bench_app()
    engine = app.extensions["engine"]
    with app.app_context():
        token, gate, codes, reviewer, officer, bare_ids = seed(app, args.passes, args.passes)
    engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": str(engine.url.render_as_string(hide_password=False)),
        "SECRET_KEY": secrets.token_hex(32),
        "APP_ENV": "production",
        "INSTANCE_PATH": str(instance),
        "AUDIT_SEQUENCER": "off" if args.sequencer == "process" else "thread",
        # Every scan looks for the one it would repeat, as in production; the load reads
        # random codes, so a one-second window rarely finds one and the scans still write.
        "REPEAT_SCAN_SECONDS": "1",
    }

    port, bare_port = free_port(), free_port()
    server = gunicorn(args.workers, port, env, "app:create_app()")
    bare_app = ("--pythonpath", "scripts", "bare_scan:application")
    bare = gunicorn(args.workers, bare_port, env, *bare_app)
    processes = [server, bare]
    if args.against:
        against_port = free_port()
        processes.append(
            gunicorn(args.workers, against_port, env, "app:create_app()", root=args.against)
        )
    if args.sequencer == "process":
        flask = [str(ROOT / ".venv/bin/flask"), "--app", "app", "audit", "sequencer"]
        processes.append(subprocess.Popen(flask, cwd=ROOT, env=env, stdout=subprocess.DEVNULL))
    try:
        load = Load(port, token, gate, codes, reviewer)
        load.serve_bare(bare_port, officer, bare_ids)
        if args.against:
            load.against = against_port
        kinds = ("noop", "write", "scan", "bare", *(("against",) if args.against else ()))
        for kind in ("noop", "scan", "bare", *kinds[4:]):  # warm-up
            load.run(kind, args.clients, 2)
        # Each round measures every kind once, in turn, so a slow spell of the machine
        # falls on all of them; the ratios are each round's, their median reported.
        rounds: dict[str, list[dict]] = {kind: [] for kind in kinds}
        peak_from = datetime.now(UTC)
        for n in range(args.rounds):
            order = list(rounds)
            if args.against:
                # The phase after the bare scan meets its audit entries still to seal: the
                # write goes there, and the two trees' scans take turns at being first.
                trees = ["against", "scan"] if n % 2 else ["scan", "against"]
                order = ["noop", "bare", "write", *trees]
            for kind in order:
                rounds[kind].append(load.run(kind, args.clients, args.seconds))
        peak_until = datetime.now(UTC)
        scan = middle(rounds["scan"])
        half = load.run("scan", args.clients, args.seconds, rate=scan["rps"] / 2)
        soak = []
        started = time.monotonic()
        while time.monotonic() - started < args.soak:
            minute = load.run("scan", args.clients, min(60, args.soak), rate=scan["rps"] / 2)
            minute["workers_rss_mib"] = workers_rss_mib(server.pid)
            soak.append(minute)
            print(
                f"soak minute {len(soak):2}: {minute['rps']:5.0f} scans/s  p99 "
                f"{minute['p99']:6.1f} ms  {minute['errors']} errors  "
                f"workers {minute['workers_rss_mib']:.0f} MiB",
                flush=True,
            )
        drained = wait_for_sealing(app)
    finally:
        for process in processes:
            process.terminate()
            process.wait()
    delays = sealing_delays(app, peak_from, peak_until)
    invariants = check_invariants(app, load.scans, load.scan_runs * args.clients)

    def ratios(kind: str) -> list[float]:
        pairs = zip(rounds[kind], rounds["noop"], strict=True)
        return [round(r["rps"] / n["rps"], 3) for r, n in pairs]

    def ratio(kind: str) -> float:
        return round(sorted(ratios(kind))[args.rounds // 2], 2)

    noop, write, bare_scan = (middle(rounds[k]) for k in ("noop", "write", "bare"))
    print(
        f"database: {engine.dialect.name}; gunicorn {args.workers} workers; "
        f"{args.clients} clients; {args.rounds} rounds of {args.seconds:.0f} s phases; "
        f"{os.cpu_count()} cores"
    )
    for name, r in (
        ("no-op GET /api/v1/health", noop),
        ("smallest authenticated write (mark read)", write),
        ("POST /api/v1/scans (peak)", scan),
        ("bare DBAPI scan (bare_scan.py)", bare_scan),
        ("POST /api/v1/scans at half the peak rate", half),
    ):
        print(
            f"{name:44} {r['rps']:8.0f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms"
            f"  ({r['n']} ok, {r['errors']} errors)"
        )
    compared = ("scan", "bare", "write", *kinds[4:])
    if args.against:
        against = middle(rounds["against"])
        print(
            f"{'POST /api/v1/scans, --against ' + args.against.name:44} {against['rps']:8.0f} req/s"
            f"  p50 {against['p50']:6.1f} ms  p99 {against['p99']:6.1f} ms"
            f"  ({against['n']} ok, {against['errors']} errors)"
        )
    for kind in compared:
        per_round = ", ".join(f"{x:.2f}" for x in ratios(kind))
        print(f"ratio {kind}/no-op: {ratio(kind):.2f} (rounds: {per_round})")
    print(
        f"audit sealing delay at peak: p50 {delays['p50']:.2f} s  p99 {delays['p99']:.2f} s  "
        f"max {delays['max']:.2f} s ({delays['n']} entries); nothing pending "
        f"{drained:.1f} s after the load"
    )
    print(
        f"invariants hold: {invariants['scans']} scans, each audited; no pass with two open "
        f"trips, trips_used = trips, none over max_trips; log verifies "
        f"({invariants['audit_entries']} entries, {invariants['checkpoints']} checkpoints)"
    )
    save_json(
        args.json,
        {
            "database": engine.dialect.name,
            "workers": args.workers,
            "clients": args.clients,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "sequencer": args.sequencer,
            "noop": noop,
            "write": write,
            "scan": scan,
            "bare": bare_scan,
            "half": half,
            "ratio_scan": ratio("scan"),
            "ratio_bare": ratio("bare"),
            "ratio_write": ratio("write"),
            "ratios": {k: ratios(k) for k in compared},
            **(
                {"against": {"tree": str(args.against), **middle(rounds["against"])}}
                if args.against
                else {}
            ),
            "soak": soak,
            "sealing": delays,
            "invariants": invariants,
        },
    )


if __name__ == "__main__":
    main()
