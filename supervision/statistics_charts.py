"""What the statistics page's charts draw (static/js/charts.js reads each as JSON) and
the columns of its export: the figures by day, in the words of the reader's language.

`say` translates an English msgid (gettext at the edge); `reason` names a refusal reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from core.errors import N_

Say = Callable[[str], str]

# One row a day, then the totals: the columns a province's report asks for.
EXPORT_HEADER = [
    N_("Day"),
    N_("Applications"),
    N_("Approvals"),
    N_("Rejections"),
    N_("Trips opened"),
    N_("Trips closed"),
    N_("Closed loops"),
    N_("Closed-loop rate (percent)"),
    N_("Scans"),
    N_("Entries"),
    N_("Exits"),
    N_("Refused scans"),
    N_("Median minutes to approval"),
    N_("Bookings kept"),
    N_("Bookings outside the hour"),
    N_("Bookings missed"),
    N_("Anomalies"),
]
TOTAL = N_("Total")


def _percent(rate: float | None) -> float | None:
    return round(rate * 100, 1) if rate is not None else None


def _minutes(seconds: int | None) -> float | None:
    return round(seconds / 60, 1) if seconds is not None else None


def export_rows(s: dict[str, Any], say: Say) -> list[list[Any]]:
    """The export's rows: each day of the range (a date), then the range's totals (its
    rates and median from all of the range's passes and trips, not added up by day)."""

    def line(first: Any, d: dict[str, Any], rate: Any, median: Any) -> list[Any]:
        return [
            first,
            d["applications"],
            d["approvals"],
            d["rejections"],
            d["trips"],
            d["trips_closed"],
            d["loops"],
            rate,
            d["scans"],
            d["entries"],
            d["exits"],
            d["denials"],
            median,
            d["bookings_kept"],
            d["bookings_off_hour"],
            d["bookings_missed"],
            d["anomalies"],
        ]

    rows = [
        line(
            date.fromisoformat(d["day"]),
            d,
            _percent(d["closed_loop_rate"]),
            d["median_approval_minutes"],
        )
        for d in s["by_day"]
    ]
    totals = {
        **s,
        "approvals": sum(d["approvals"] for d in s["by_day"]),  # given in the range
        "trips": s["trips_opened"],
        "loops": sum(d["loops"] for d in s["by_day"]),
        "anomalies": sum(s["anomalies"].values()),
    }
    rows.append(
        line(
            say(TOTAL),
            totals,
            _percent(s["closed_loop_rate"]),
            _minutes(s["median_approval_seconds"]),
        )
    )
    return rows


def charts(s: dict[str, Any], say: Say, reason: Say) -> dict[str, dict[str, Any]]:
    """Each chart of the statistics page by its canvas's id: a type, day labels (MM-DD)
    and datasets; `percent` and `stacked` say how charts.js draws its axes."""
    days = [d["day"][5:] for d in s["by_day"]]

    def series(name: str, key: str) -> dict[str, Any]:
        return {"label": say(name), "data": [d[key] for d in s["by_day"]]}

    return {
        "st-scans-chart": {
            "type": "line",
            "labels": days,
            "datasets": [
                series(N_("Scans"), "scans"),
                series(N_("Entries"), "entries"),
                series(N_("Exits"), "exits"),
                series(N_("Refused scans"), "denials"),
            ],
        },
        "st-refusals-chart": {
            "type": "bar",
            "horizontal": True,
            "legend": False,
            "labels": [reason(code) for code in s["denials_by_reason"]],
            "datasets": [
                {"label": say(N_("Refused scans")), "data": list(s["denials_by_reason"].values())}
            ],
        },
        "st-loops-chart": {
            "type": "line",
            "percent": True,
            "legend": False,
            "labels": days,
            "datasets": [
                {
                    "label": say(N_("Closed-loop rate (percent)")),
                    "data": [_percent(d["closed_loop_rate"]) for d in s["by_day"]],
                }
            ],
        },
        "st-review-chart": {
            "type": "bar",
            "legend": False,
            "labels": days,
            "datasets": [series(N_("Median minutes to approval"), "median_approval_minutes")],
        },
        "st-bookings-chart": {
            "type": "bar",
            "stacked": True,
            "labels": days,
            "datasets": [
                series(N_("Bookings kept"), "bookings_kept"),
                series(N_("Bookings outside the hour"), "bookings_off_hour"),
                series(N_("Bookings missed"), "bookings_missed"),
            ],
        },
    }
