"""The charts of the statistics page and the dashboard in Chromium on a 360 px phone: each
one drawn by charts.js with the vendored Chart.js, short, and nothing scrolls sideways."""

import tempfile
from pathlib import Path

import pytest
from sqlalchemy import update

from accounts.models import User
from tests.support import PASSWORD
from tests.web.test_statistics_charts import scans_world

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
STATISTICS = ("st-scans-chart", "st-refusals-chart", "st-loops-chart", "st-review-chart")
STATISTICS += ("st-bookings-chart",)
SHOTS = Path(tempfile.gettempdir())  # /tmp/charts-zh.png, /tmp/charts-en.png to look at


def drawn(page, chart):
    return page.evaluate(f"Boolean(Chart.getChart(document.getElementById('{chart}')))")


def sign_in(s, live_server, username):
    s.page.goto(f"{live_server}/login")
    s.page.fill("#username", username)
    s.page.fill("#password", PASSWORD)
    s.page.click("#submit")
    s.page.wait_for_url(f"{live_server}/")


def test_statistics_and_dashboard_charts_are_compact_on_a_phone(
    live_server, screen, make, client, app
):
    scans_world(app, client, make)
    supervisor = make.user("supervisor")
    s = screen(PHONE)
    sign_in(s, live_server, supervisor.username)

    s.page.goto(f"{live_server}/statistics")
    for chart in STATISTICS:
        assert drawn(s.page, chart), chart
        box = s.page.locator(f"#{chart}").bounding_box()
        assert box["width"] <= 360, (chart, box)
        assert 150 <= box["height"] <= 200, (chart, box)
        assert s.page.get_attribute(f"#{chart}", "role") == "img"
        assert s.page.get_attribute(f"#{chart}", "aria-label")
    # the refusals' list stays for screen readers once the chart shows them
    assert s.page.locator("#st-refusals.charted .chart-fallback li").count() == 2
    assert s.page.evaluate("document.documentElement.scrollWidth") <= 360
    s.assert_fits()
    s.page.screenshot(path=str(SHOTS / "charts-zh.png"), full_page=True)

    with make.session() as session:
        session.execute(update(User).where(User.id == supervisor.id).values(locale="en"))
        session.commit()
    s.page.goto(f"{live_server}/statistics")
    assert s.page.evaluate("document.documentElement.lang") == "en"
    labels = s.page.evaluate(
        "Chart.getChart(document.getElementById('st-scans-chart')).data.datasets.map(d => d.label)"
    )
    assert labels == ["Scans", "Entries", "Exits", "Refused scans"]
    s.assert_fits()
    s.page.screenshot(path=str(SHOTS / "charts-en.png"), full_page=True)

    s.page.goto(f"{live_server}/dashboard")
    for chart in ("gates-chart", "days-chart"):
        assert drawn(s.page, chart), chart
        assert s.page.locator(f"#{chart}").bounding_box()["height"] <= 200
    trips = s.page.evaluate(
        "Chart.getChart(document.getElementById('days-chart')).data.datasets[0].data"
    )
    assert sum(trips) == 4  # the figures the dashboard polled, drawn on the same component
    assert s.page.evaluate("document.documentElement.scrollWidth") <= 360
    s.assert_fits()
