"""Benchmark POST /api/v1/scans under gunicorn next to a no-op JSON endpoint, same server,
same run. Prints requests/s and p50/p99 for both, the ratio scan/no-op, and p99 of scans
at half the peak rate. Uses DATABASE_URL if set (e.g. PostgreSQL), else a temp SQLite.

    .venv/bin/python scripts/bench_scan.py [--clients 16] [--seconds 10] [--workers 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchdata import bench_app, jurisdiction, save_json, submit_passes  # noqa: E402


def workers_rss_mib(master: int) -> float:
    """Resident memory of the gunicorn workers together (Linux /proc), in MiB."""
    total = 0
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(app, passes: int) -> tuple[str, int, list[str], str]:
    """An officer's API token, the gate id, the QR texts of `passes` approved passes, and a
    reviewer's API token (for the smallest authenticated write)."""
    from accounts import services as accounts
    from db import utcnow
    from passes import context, services
    from passes.models import Pass

    j = jurisdiction(app)
    now, issuer = utcnow(), context.issuer()
    for pass_id in submit_passes(j, passes, max_trips=100):
        services.approve_pass(j.session, pass_id, j.reviewer, now=now, issuer=issuer)
    codes = [p.code for p in j.session.query(Pass).order_by(Pass.id)]
    raw, _ = accounts.issue_api_token(j.session, j.officer, now=now, lifetime=timedelta(hours=2))
    reviewer, _ = accounts.issue_api_token(
        j.session, j.reviewer, now=now, lifetime=timedelta(hours=2)
    )
    j.session.close()
    return raw, j.gate.id, codes, reviewer


class Load:
    """Closed-loop clients (as fast as they can) or open-loop ones (a fixed total rate)."""

    def __init__(self, port: int, token: str, gate: int, codes: list[str], reviewer: str):
        self.port, self.token, self.gate, self.codes = port, token, gate, codes
        self.reviewer = reviewer

    def _request(self, conn: http.client.HTTPConnection, kind: str, code: str) -> float:
        started = time.perf_counter()
        if kind == "noop":
            conn.request("GET", "/api/v1/health")
        elif kind == "write":
            # The smallest authenticated write: token, JSON body, one UPDATE, a commit.
            conn.request(
                "POST",
                "/api/v1/notifications/read",
                body='{"ids": []}',
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.reviewer}",
                },
            )
        else:
            body = json.dumps(
                {"scan_id": str(uuid.uuid4()), "checkpoint_id": self.gate, "code": code}
            )
            conn.request(
                "POST",
                "/api/v1/scans",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.token}",
                },
            )
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{kind}: HTTP {response.status}")
        return time.perf_counter() - started

    def run(self, kind: str, clients: int, seconds: float, rate: float | None = None) -> dict:
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds
        interval = clients / rate if rate else 0.0

        def client(index: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            mine = self.codes[index::clients] or self.codes
            # Open loop: clients take turns, evenly spaced, instead of firing in bursts.
            n, next_at = 0, time.perf_counter() + interval * index / clients
            while time.perf_counter() < deadline:
                if interval:
                    next_at += interval
                    pause = next_at - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                try:
                    took = self._request(conn, kind, mine[n % len(mine)])
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    with lock:
                        errors.append(str(exc))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    continue
                n += 1
                with lock:
                    latencies.append(took)
            conn.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        latencies.sort()
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 100 else [0.0] * 99
        return {
            "rps": len(latencies) / elapsed,
            "p50": q[49] * 1000,
            "p99": q[98] * 1000,
            "n": len(latencies),
            "errors": len(errors),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--passes", type=int, default=200)
    parser.add_argument(
        "--soak", type=float, default=0, help="then scan at half the peak rate this many seconds"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    app, instance = bench_app()
    engine = app.extensions["engine"]
    with app.app_context():
        token, gate, codes, reviewer = seed(app, args.passes)
    engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": str(engine.url.render_as_string(hide_password=False)),
        "SECRET_KEY": "bench-secret",
        "APP_ENV": "production",
        "INSTANCE_PATH": str(instance),
    }

    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request(
                    "GET", "/api/v1/health"
                )
                break
            except OSError:
                time.sleep(0.1)
        load = Load(port, token, gate, codes, reviewer)
        load.run("noop", args.clients, 2)  # warm-up
        load.run("scan", args.clients, 2)
        noop = load.run("noop", args.clients, args.seconds)
        write = load.run("write", args.clients, args.seconds)
        scan = load.run("scan", args.clients, args.seconds)
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
    finally:
        server.terminate()
        server.wait()
    print(
        f"database: {engine.dialect.name}; gunicorn {args.workers} workers; "
        f"{args.clients} clients; {args.seconds:.0f} s per phase; {os.cpu_count()} cores"
    )
    for name, r in (
        ("no-op GET /api/v1/health", noop),
        ("smallest authenticated write (mark read)", write),
        ("POST /api/v1/scans (peak)", scan),
        ("POST /api/v1/scans at half the peak rate", half),
    ):
        print(
            f"{name:44} {r['rps']:8.0f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms"
            f"  ({r['n']} ok, {r['errors']} errors)"
        )
    print(f"ratio scan/no-op: {scan['rps'] / noop['rps']:.2f}")
    save_json(
        args.json,
        {
            "database": engine.dialect.name,
            "workers": args.workers,
            "clients": args.clients,
            "seconds": args.seconds,
            "noop": noop,
            "write": write,
            "scan": scan,
            "half": half,
            "ratio_scan": round(scan["rps"] / noop["rps"], 2),
            "ratio_write": round(write["rps"] / noop["rps"], 2),
            "soak": soak,
        },
    )
    print(f"ratio smallest authenticated write/no-op: {write['rps'] / noop['rps']:.2f}")


if __name__ == "__main__":
    main()
