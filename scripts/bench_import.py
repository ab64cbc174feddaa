"""Benchmark the fleet import: the largest accepted file and every spreadsheet bomb,
through the real upload view (POST /fleet/import), each in a fresh forked process so its
time and its peak memory (growth of the resident high-water mark) are its own.

.venv/bin/python scripts/bench_import.py [--rows 20000] [--json FILE]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import resource
import sys
import time
from datetime import date, timedelta
from typing import Any

from benchdata import bench_app, jurisdiction, save_json


def drivers_rows(n: int) -> list[list[str]]:
    from fleet.domain import id_check_char

    rows = []
    for i in range(n):
        day = date(1980, 1, 1) + timedelta(days=i // 1000)
        stem = f"330482{day:%Y%m%d}{i % 1000:03d}"
        rows.append([f"司机{i}", stem + id_check_char(stem), f"139{i:08d}"])
    return rows


def csv_file(rows: list[list[str]]) -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def measure(client: Any, name: str, data: bytes, out: Any) -> None:
    """In the child: one upload; sends (status, seconds, MiB of growth) back."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart(
        {"kind": "drivers", "file": FileStorage(io.BytesIO(data), name)}
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.post(
        "/fleet/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    page = response.get_data(as_text=True)
    out.send((response.status_code, seconds, (after - before) / 1024, "无法读取" in page))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    from tests.bombs import BOMBS, HEADER, workbook

    app, _ = bench_app(WTF_CSRF_ENABLED=False)
    j = jurisdiction(app)
    j.session.close()
    client = app.test_client()
    client.post("/login", data={"username": "ent", "password": "ent-pass-1"})

    rows = [HEADER, *drivers_rows(args.rows)]
    cases = {
        f"{args.rows:,} drivers, XLSX": ("drivers.xlsx", workbook(rows), True),
        f"{args.rows:,} drivers, CSV": ("drivers.csv", csv_file(rows), True),
        **{f"bomb: {name}": ("bomb.xlsx", make(), False) for name, make in BOMBS.items()},
    }
    context = multiprocessing.get_context("fork")
    results = []
    for label, (filename, data, accepted) in cases.items():
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=measure, args=(client, filename, data, send))
        child.start()
        status, seconds, growth, refused = receive.recv()
        child.join()
        ok = status == 200 if accepted else (status == 422 and refused)
        results.append(
            {
                "case": label,
                "bytes": len(data),
                "status": status,
                "seconds": round(seconds, 3),
                "memory_growth_mib": round(growth, 1),
                "as_expected": ok,
            }
        )
        print(
            f"{label:40} {len(data) / 1024:9.1f} KiB  {status}  {seconds * 1000:8.0f} ms  "
            f"+{growth:6.1f} MiB  {'ok' if ok else 'UNEXPECTED'}",
            flush=True,
        )
    save_json(args.json, {"rows": args.rows, "cases": results})
    if not all(r["as_expected"] for r in results):
        sys.exit("an accepted file was refused, or a bomb was not")


if __name__ == "__main__":
    main()
