"""What one scan costs in process, next to the no-op and the smallest authenticated write.

No server and no other clients: one thread, the Flask test client, a fresh database
(DATABASE_URL, or a temporary SQLite). Prints the median and p90 cost per request, the SQL
statements each kind runs, and with --profile the functions a scan spends its time in.

    .venv/bin/python scripts/profile_scan.py [--requests 400] [--profile [--sort tottime]]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
import uuid

from bench_scan import seed
from benchdata import bench_app
from sqlalchemy import event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="cProfile the writes and scans")
    parser.add_argument("--sort", default="cumulative", help="pstats order, e.g. tottime")
    args = parser.parse_args()

    app, _ = bench_app()
    with app.app_context():
        token, gate, codes, reviewer, *_ = seed(app, args.requests + args.warmup)
    client = app.test_client()
    statements = [0]
    event.listen(
        app.extensions["engine"],
        "before_cursor_execute",
        lambda *_: statements.__setitem__(0, statements[0] + 1),
    )

    def noop(_: int) -> object:
        return client.get("/api/v1/health")

    def write(_: int) -> object:
        return client.post(
            "/api/v1/notifications/read",
            json={"ids": []},
            headers={"Authorization": f"Bearer {reviewer}"},
        )

    def scan(i: int) -> object:
        # The load test's mix: each pass scanned twice in turn, an entry then an exit
        # (leaving without arrival raises an anomaly), as bench_scan.py sends them.
        body = {"scan_id": str(uuid.uuid4()), "checkpoint_id": gate, "code": codes[i // 2]}
        return client.post("/api/v1/scans", json=body, headers={"Authorization": f"Bearer {token}"})

    print(f"{app.extensions['engine'].dialect.name}: {args.requests} requests of each kind")
    for name, call in (("no-op", noop), ("smallest write", write), ("scan", scan)):
        for i in range(args.warmup):
            call(i)
        statements[0], costs = 0, []
        profiler = cProfile.Profile() if args.profile and name != "no-op" else None
        for i in range(args.warmup, args.warmup + args.requests):
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            response = call(i)
            if profiler:
                profiler.disable()
            costs.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 204), (name, response.status_code)
        p90 = statistics.quantiles(costs, n=10)[8]
        print(
            f"  {name:15} median {statistics.median(costs):6.2f} ms  p90 {p90:6.2f} ms  "
            f"{statements[0] / args.requests:4.1f} SQL statements"
        )
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(40)
            print(out.getvalue())


if __name__ == "__main__":
    main()
