"""The dashboard in Chromium on a tablet: both charts render, and a scan elsewhere shows up
without reloading the page."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.support import PASSWORD, api_token

pytestmark = pytest.mark.browser
TABLET = {"width": 768, "height": 1024}


def test_dashboard_draws_charts_and_updates_after_a_scan(live_server, screen, make, client):
    p = make.pass_(status="approved")
    gate = make.checkpoint("gate")
    officer = api_token(client, make.officer(gate).username)
    supervisor = make.user("supervisor")
    s = screen(TABLET)
    s.page.goto(f"{live_server}/login")
    s.page.fill("#username", supervisor.username)
    s.page.fill("#password", PASSWORD)
    s.page.click("#submit")
    s.page.wait_for_url(f"{live_server}/")
    s.page.goto(f"{live_server}/statistics")  # nothing counted yet: each chart says so
    assert s.page.locator(".chart-box").count() == s.page.locator(".chart-box.is-empty").count()
    assert s.page.locator(".chart-box.is-empty").count() >= 4
    s.page.goto(f"{live_server}/dashboard")
    for chart in ("gates-chart", "days-chart"):
        assert s.page.evaluate(f"Boolean(Chart.getChart(document.getElementById('{chart}')))")
    gates_box = s.page.locator(".chart-box:has(#gates-chart)")
    expect(gates_box).to_have_class("chart-box is-empty")
    words = "getComputedStyle(document.querySelector('.chart-box:has(#gates-chart)'), '::after')"
    assert s.page.evaluate(f"{words}.content") == '"最近 24 小时没有扫码"'
    inside = s.page.locator('[data-figure="inside_now"]')
    assert inside.inner_text() == "0"
    url = s.page.url
    response = client.post(
        "/api/v1/scans",
        headers=officer,
        json={"scan_id": str(uuid.uuid4()), "checkpoint_id": gate.id, "code": p.code},
    )
    assert response.get_json()["event"] == "entry"
    expect(inside).to_have_text("1", timeout=15_000)  # the page polls every 10 s
    assert s.page.url == url  # updated in place, not reloaded
    expect(gates_box).to_have_class("chart-box")  # counted now: the words are gone
    assert (
        s.page.evaluate(
            "Chart.getChart(document.getElementById('gates-chart')).data.datasets.length"
        )
        == 1
    )
    s.assert_fits()
    s.shot("dashboard")
