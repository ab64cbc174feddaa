"""The history benchmark as history grows: `history-<database>-<trips>.json` of one
`make bench` run (scripts/bench_history.py at each size), as a table per database with
each figure's growth from the smallest size to the largest."""

from __future__ import annotations

import json
from pathlib import Path

ROWS = (
    "dashboard",
    "statistics, last 30 days",
    "statistics, a year",
    "the consignee's board",
    "the gate's day",
    "trips by plate prefix",
    "trips by pass number",
)


def _runs(folder: Path, database: str) -> dict[int, dict]:
    runs = {}
    for path in folder.glob(f"history-{database}-*.json"):
        figures = json.loads(path.read_text())
        runs[figures["trips"]] = figures
    return dict(sorted(runs.items()))


def _growth(first: float, last: float) -> str:
    return f"{last / first:.2f}x" if first else "—"


def section(folder: Path, databases: tuple[str, ...]) -> list[str]:
    found = {d: _runs(folder, d) for d in databases}
    if not any(found.values()):
        return []
    lines = [
        "",
        "## The supervisors' queries as history grows",
        "",
        "`scripts/bench_history.py --trips N` at a steady rate (a million trips over 60 days,"
        " so ten million are 600 days of history), one size after the other: p95 over 20"
        " requests, the first (cold) request in brackets, and the growth from the smallest"
        " size to the largest. The timer's run is `flask statistics refresh` after five busy"
        " minutes at that rate.",
    ]
    for database, runs in found.items():
        if not runs:
            continue
        sizes = list(runs)
        first, last = runs[sizes[0]], runs[sizes[-1]]
        lines += [
            "",
            f"### {database}",
            "",
            "| | " + " | ".join(f"{n:,} trips" for n in sizes) + " | growth (p95, cold) |",
            "|---|" + "---|" * (len(sizes) + 1),
        ]
        for query in ROWS:
            if not all(query in r["queries"] for r in runs.values()):
                continue
            cells = [
                f"{r['queries'][query]['p95']} ms ({r['queries'][query]['first']} ms)"
                for r in runs.values()
            ]
            a, b = first["queries"][query], last["queries"][query]
            growth = f"{_growth(a['p95'], b['p95'])}, {_growth(a['first'], b['first'])}"
            lines.append(f"| {query} | " + " | ".join(cells) + f" | {growth} |")
        for label, key in (
            ("the timer's run (5 busy minutes)", "statistics_refresh_seconds"),
            ("every day counted (`--all`)", "statistics_refresh_all_seconds"),
            ("generating the data", "generated_seconds"),
        ):
            if all(key in r for r in runs.values()):
                cells = [f"{r[key]} s" for r in runs.values()]
                lines.append(
                    f"| {label} | " + " | ".join(cells) + f" | {_growth(first[key], last[key])} |"
                )
    return lines
