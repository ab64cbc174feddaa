"""Turn the JSON figures of one `make bench` run into docs/benchmarks.md.

.venv/bin/python scripts/bench_report.py RESULTS_DIR > docs/benchmarks.md

Over 300 lines on purpose: one report: every benchmark's table, written from one run's
figures.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import bench_report_growth

DATABASES = ("sqlite", "postgresql")
QUERIES = (
    "trips by plate prefix",
    "trips by plate without its province",
    "trips by full plate",
    "trips by pass number",
    "dashboard",
    "statistics, last 30 days, counted live",
    "statistics, last 30 days",
    "statistics, a year",
    "the consignee's board",
    "the gate's day",
)


def load(folder: Path, kind: str) -> dict[str, dict]:
    found = {}
    for database in DATABASES:
        path = folder / f"{kind}-{database}.json"
        if path.exists():
            found[database] = json.loads(path.read_text())
    return found


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory = next(
        int(line.split()[1]) // 1024 // 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; {memory} GiB memory",
        f"- {platform.system()} {platform.release()}; Python {platform.python_version()}",
    ]


def cells(figures: dict[str, dict], row) -> str:
    return " | ".join(row(figures[d]) if d in figures else "—" for d in DATABASES)


def rate(r: dict) -> str:
    return f"{r['rps']:.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms"


def ratio(run: dict, kind: str) -> str:
    """The median of the rounds' ratios, each round's in brackets."""
    each = run.get("ratios", {}).get(kind)
    middle = str(run[f"ratio_{kind}"])
    return f"{middle} ({', '.join(f'{x:.2f}' for x in each)})" if each else middle


def sealing(d: dict | None) -> str:
    if not d:
        return "—"
    return f"p50 {d['p50']:.2f} s, p99 {d['p99']:.2f} s, max {d['max']:.2f} s ({d['n']:,} entries)"


def invariants(d: dict | None) -> str:
    if not d:
        return "—"
    return (
        f"hold: {d['scans']:,} scans each audited, one open trip per pass at most, trips_used"
        f" = trips, log verifies ({d['audit_entries']:,} entries, nothing pending)"
    )


def cluster(c: dict) -> list[str]:
    """`make cluster`'s rehearsal: what ran, what was killed, what survived."""
    scans, sms, cross = c.get("scans", {}), c.get("sms", {}), c.get("cross_node", {})
    lines = [
        "",
        "## Cluster rehearsal",
        "",
        f"`scripts/cluster.sh` ({c.get('database', '?')}): {c['nodes']} gunicorn nodes of"
        f" {c['workers_per_node']} workers behind nginx (round robin; a node that refuses the"
        f" connection is skipped), {c['sms_workers']} SMS workers sending to a Twilio stand-in,"
        " the audit sequencer and the sweep timer, all on this machine. The journey runs through"
        f" the balancer: sign-ups, fleet, {c['passes']} passes filed and approved, every trip of"
        f" {c['max_trips']} scanned by {c['clients']} phones at once, revocations after the"
        " kill. A phone that gets no answer sends the scan again with the same scan_id.",
        "",
        "| | |",
        "|---|---|",
    ]
    if "journey_seconds" in c:
        lines.append(
            f"| journey, sign-up to revocations | {c['journey_seconds']} s (filing"
            f" {c['build_seconds']} s, approving {c['approve_seconds']} s) |"
        )
    if scans:
        lines += [
            f"| scans through the balancer | {scans['acknowledged']:,} in {scans['seconds']} s:"
            f" {scans['per_second']:.0f}/s, p50 {scans['p50_ms']} ms, p99 {scans['p99_ms']} ms |",
            "| scans answered, by node | "
            + ", ".join(f"{n} {k:,}" for n, k in scans["by_node"].items())
            + " |",
            f"| scans sent again with the same scan_id | {scans['retries']} sends for"
            f" {scans['retried_scans']} scans, {scans.get('retried_recorded_by_dead_node', 0)}"
            " of them recorded by the killed node before it died (answered from that record) |",
        ]
    for kill in c.get("killed", []):
        if kill:
            after = kill.get("scans_answered_before")
            lines.append(
                f"| killed (SIGKILL) at {kill['at_seconds']} s | {kill['what']}"
                + (f", after {after:,} scans" if after is not None else "")
                + (", inside a send" if kill.get("in_flight_messages") else "")
                + " |"
            )
    if sms:
        cut = ", ".join(
            f"{m['status']} after {m['attempts']} attempt(s)"
            for m in sms.get("in_flight_at_kill") or []
        )
        lines.append(
            f"| SMS | {sms['queued']} queued, {sms['sent']} sent, {sms['received_by_stub']}"
            f" received by the stand-in ({sms['received_twice']} twice); the message cut off by"
            f" the kill: {cut or '—'}, {sms['stub_lookups']} look-up(s) at the provider |"
        )
    if cross:
        logout, limit = cross["token_logout"], cross["status_page_limit"]
        lines += [
            "| session made on node A, used on node B | "
            + ("works" if cross["session"]["ok"] else "**fails**")
            + " |",
            f"| token signed out on node A, scan path of node B | worked"
            f" {logout['scan_path_worked_until_seconds']} s more (cache"
            f" {logout['ttl_seconds']:g} s) |",
            f"| status page, {limit['sent']} views of one page (limit {limit['limit']}/min) |"
            f" {limit['allowed']} served, {limit['refused']} refused |",
        ]
    lines += ["", "Checks:", ""]
    lines += [
        f"- {'ok' if check['ok'] else '**FAILED**'}: {check['name']} ({check['detail']})"
        for check in c.get("checks", [])
    ]
    return lines


def report(folder: Path) -> str:
    approve, scan, history = load(folder, "approve"), load(folder, "scan"), load(folder, "history")
    audit_log = load(folder, "audit")
    lines = [
        "# Benchmarks",
        "",
        f"Written on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from the last `make bench` run (the"
        " soak section from the last `make soak`); each section's figures come from one run."
        " The scans' load generator, wrk (in C), shares the two cores with the server.",
        "",
        *machine(),
    ]
    versions = {d: h.get("server_version", "") for d, h in history.items()}
    if versions:
        lines.append("- Databases: " + ", ".join(f"{d} {v}" for d, v in versions.items() if v))
    lines += ["", "## Scans under gunicorn", ""]
    if scan:
        any_run = next(iter(scan.values()))
        two = load(folder, "scan2")
        lines += [
            f"`scripts/bench_scan.py`: gunicorn {any_run['workers']} workers, "
            f"{any_run['clients']} connections from wrk; {any_run.get('rounds', 1)} rounds of"
            f" {any_run['seconds']:.0f} s phases (no-op, smallest write, scan, bare scan in"
            " turn), rates from the median round, ratios the median of the rounds' own (each"
            " round's in brackets); the half rate paced by a delay between each connection's"
            " requests. The bare scan is `scripts/bare_scan.py`: the scan's statements on the"
            " bare driver, no framework, no authentication, no signature, served by gunicorn"
            " with as many workers beside the app: the database's own bound.",
            "",
            "| | SQLite | PostgreSQL |",
            "|---|---|---|",
            f"| no-op `GET /api/v1/health` | {cells(scan, lambda s: rate(s['noop']))} |",
            "| smallest authenticated write (`POST /api/v1/notifications/read`) | "
            f"{cells(scan, lambda s: rate(s['write']))} |",
            f"| `POST /api/v1/scans`, peak | {cells(scan, lambda s: rate(s['scan']))} |",
            f"| bare scan (`bare_scan.py`), peak | {cells(scan, lambda s: rate(s['bare']))} |",
            f"| scans at half the peak rate | {cells(scan, lambda s: rate(s['half']))} |",
            f"| **ratio scan / no-op** | {cells(scan, lambda s: ratio(s, 'scan'))} |",
            f"| ratio bare scan / no-op | {cells(scan, lambda s: ratio(s, 'bare'))} |",
            f"| ratio smallest write / no-op | {cells(scan, lambda s: ratio(s, 'write'))} |",
            "| audit sealing delay of the peak's scans | "
            + cells(scan, lambda s: sealing(s.get("sealing")))
            + " |",
            "| invariants after the run | "
            + cells(scan, lambda s: invariants(s.get("invariants")))
            + " |",
        ]
        if two:
            lines += [
                "| **gunicorn 2 workers**: no-op | " + cells(two, lambda s: rate(s["noop"])) + " |",
                f"| 2 workers: scans, peak | {cells(two, lambda s: rate(s['scan']))} |",
                f"| 2 workers: bare scan, peak | {cells(two, lambda s: rate(s['bare']))} |",
                f"| **2 workers: ratio scan / no-op** | {cells(two, lambda s: ratio(s, 'scan'))} |",
                "| 2 workers: ratio bare scan / no-op | "
                + cells(two, lambda s: ratio(s, "bare"))
                + " |",
                f"| 2 workers: scans at half the peak | {cells(two, lambda s: rate(s['half']))} |",
            ]
    if approve:
        lines += [
            "",
            "## Approving passes",
            "",
            "| | SQLite | PostgreSQL |",
            "|---|---|---|",
            "| approve passes one by one (sign, QR text, SMS row, audit) | "
            + cells(
                approve,
                lambda a: (
                    f"{a['approved']} in {a['approve_seconds']} s ({a['approve_per_second']}/s)"
                ),
            )
            + " |",
            "| approve passes in bulk (batches committed together) | "
            + cells(
                approve,
                lambda a: (
                    f"{a['bulk_approved']} in {a['bulk_seconds']} s" if "bulk_seconds" in a else "-"
                ),
            )
            + " |",
            f"| render one QR PNG | {cells(approve, lambda a: str(a['png_ms']) + ' ms')} |",
        ]
    if audit_log:
        lines += [
            "",
            "## The audit log",
            "",
            "| | SQLite | PostgreSQL |",
            "|---|---|---|",
            "| seal entries into the Merkle tree (sign a checkpoint per batch) | "
            + cells(audit_log, lambda a: f"{a['entries']} in {a['seal_seconds']} s")
            + " |",
            "| verify the whole log (recompute the tree, check every checkpoint) | "
            + cells(audit_log, lambda a: f"{a['entries']} in {a['verify_seconds']} s")
            + " |",
            "| an inclusion proof from stored nodes (p50 of 25; rows read at most) | "
            + cells(
                audit_log, lambda a: f"{a.get('inclusion_ms', '-')} ms ({a.get('rows', '-')} rows)"
            )
            + " |",
            "| a consistency proof from stored nodes (p50 of 25) | "
            + cells(audit_log, lambda a: f"{a.get('consistency_ms', '-')} ms")
            + " |",
            "| the same inclusion proof from every leaf, as before (one run) | "
            + cells(audit_log, lambda a: f"{a.get('from_leaves_ms', '-')} ms")
            + " |",
        ]
    if history:
        trips = next(iter(history.values()))["trips"]
        lines += [
            "",
            f"## Queries on {trips:,} trips and {trips * 4:,} scans",
            "",
            "`scripts/bench_history.py`: p95 over "
            f"{next(iter(history.values()))['repeat']} requests through the real views "
            "(the first, cold request in brackets).",
            "",
            "| p95 | SQLite | PostgreSQL |",
            "|---|---|---|",
        ]
        for query in QUERIES:
            lines.append(
                f"| {query} | "
                + cells(
                    history,
                    lambda h, q=query: (
                        f"{h['queries'][q]['p95']} ms ({h['queries'][q]['first']} ms)"
                        if q in h["queries"]
                        else "—"
                    ),
                )
                + " |"
            )
        lines.append(
            "| daily figures for the statistics: every day counted / the settling days "
            "recounted (the timer's run) | "
            + cells(
                history,
                lambda h: (
                    f"{h['statistics_refresh_all_seconds']} s / {h['statistics_refresh_seconds']} s"
                    if "statistics_refresh_seconds" in h
                    else "—"
                ),
            )
            + " |"
        )
        lines.append(
            "| CSV export of every trip | "
            + cells(
                history,
                lambda h: (
                    f"{h['export']['rows']:,} rows in {h['export']['seconds']} s, "
                    f"memory +{h['export']['memory_growth_mib']} MiB"
                    if h.get("export")
                    else "—"
                ),
            )
            + " |"
        )
    lines += bench_report_growth.section(folder, DATABASES)
    imports = folder / "import.json"
    if imports.exists():
        figures = json.loads(imports.read_text())
        lines += [
            "",
            "## Fleet import and spreadsheet bombs",
            "",
            "`scripts/bench_import.py`: one upload through `POST /fleet/import` (parse, check"
            " every row, render the preview) in a fresh process each; memory is the growth of"
            " that process's resident high-water mark. Bombs must be refused in under a second"
            " with under 50 MiB extra.",
            "",
            "| file | size | answer | time | memory |",
            "|---|---|---|---|---|",
        ]
        for case in figures["cases"]:
            lines.append(
                f"| {case['case']} | {case['bytes'] / 1024:,.1f} KiB | {case['status']} | "
                f"{case['seconds'] * 1000:,.0f} ms | +{case['memory_growth_mib']} MiB |"
            )
    # `make soak` writes soak-*.json; a `make bench SOAK=...` run keeps it in scan-*.json.
    soaks = {d: s["soak"] for d, s in {**scan, **load(folder, "soak")}.items() if s.get("soak")}
    if soaks:
        lines += [
            "",
            "## Soak at half the peak rate",
            "",
            "`scripts/bench_scan.py --soak 600`: after measuring the peak, scans at half of it,"
            " minute by minute.",
            "",
        ]
        for database, minutes in soaks.items():
            rss = [m["workers_rss_mib"] for m in minutes]
            lines += [
                f"{database}: {len(minutes)} minutes, "
                f"{sum(m['n'] for m in minutes):,} scans, "
                f"{sum(m['errors'] for m in minutes)} errors, worst minute p99 "
                f"{max(m['p99'] for m in minutes):.1f} ms, workers' memory "
                f"{rss[0]:.0f} MiB after the first minute and {rss[-1]:.0f} MiB after the last.",
                "",
            ]
    rehearsal = folder / "cluster.json"
    if rehearsal.exists():
        lines += cluster(json.loads(rehearsal.read_text()))
    return "\n".join(lines) + "\n"


def against(folder: Path) -> list[str]:
    """`bench_scan.py --against TREE` runs (layout-*.json): this tree's scans and another
    commit's, served side by side on one database, phase by phase in each round."""
    runs = load(folder, "layout")
    if not runs:
        return []

    def ratio_cell(run: dict, kind: str) -> str:
        each = run.get("ratios", {}).get(kind)
        if not each:
            return "—"
        return f"{sorted(each)[len(each) // 2]:.2f} ({', '.join(f'{x:.2f}' for x in each)})"

    def paired(run: dict) -> str:
        pairs = zip(run["ratios"]["scan"], run["ratios"]["against"], strict=True)
        each = [round(a / b, 2) for a, b in pairs]
        # The mean: each order (this tree first, the other first) counts equally.
        return f"{sum(each) / len(each):.2f} ({', '.join(f'{x:.2f}' for x in each)})"

    run = next(iter(runs.values()))
    return [
        "",
        "## Scans before and after a change, side by side",
        "",
        f"`scripts/bench_scan.py --against {Path(run['against']['tree']).name} --passes 800"
        f" --rounds {run['rounds']}`: this tree's app and the other commit's, both under"
        f" gunicorn with {run['workers']} workers on one database, each round measuring the"
        " no-op, the bare scan, the smallest write (which meets the bare scan's audit entries"
        " still to seal), then both trees' scans, this tree first in even rounds and the other"
        " first in odd ones.",
        "",
        "| | " + " | ".join(d for d in DATABASES if d in runs) + " |",
        "|---|" + "---|" * len(runs),
        "| no-op | " + " | ".join(rate(runs[d]["noop"]) for d in DATABASES if d in runs) + " |",
        "| scans, this tree | "
        + " | ".join(rate(runs[d]["scan"]) for d in DATABASES if d in runs)
        + " |",
        "| scans, the other tree | "
        + " | ".join(rate(runs[d]["against"]) for d in DATABASES if d in runs)
        + " |",
        "| ratio scan / no-op, this tree | "
        + " | ".join(ratio_cell(runs[d], "scan") for d in DATABASES if d in runs)
        + " |",
        "| ratio scan / no-op, the other tree | "
        + " | ".join(ratio_cell(runs[d], "against") for d in DATABASES if d in runs)
        + " |",
        "| **this tree / the other**: the rounds' mean (each round) | "
        + " | ".join(paired(runs[d]) for d in DATABASES if d in runs)
        + " |",
        "| invariants after the run | "
        + " | ".join(invariants(runs[d].get("invariants")) for d in DATABASES if d in runs)
        + " |",
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--against"]:  # only the side-by-side section
        sys.stdout.write("\n".join(against(Path(sys.argv[2]))) + "\n")
    elif sys.argv[1:2] == ["--growth"]:  # only the history's growth
        sys.stdout.write("\n".join(bench_report_growth.section(Path(sys.argv[2]), DATABASES)))
    else:
        sys.stdout.write(report(Path(sys.argv[1])))
