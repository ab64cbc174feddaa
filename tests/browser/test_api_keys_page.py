"""The machine keys page on a 360 px phone: a key made, shown once without sideways
scroll, copied by its button, and revoked after asking."""

import pytest

from tests.browser.conftest import PHONE
from tests.browser.test_layout import sign_in

pytestmark = pytest.mark.browser


def test_a_clerk_makes_a_key_reads_it_whole_on_a_phone_and_revokes_it(live_server, screen, make):
    clerk = make.enterprise_user(make.enterprise())
    s = screen(PHONE, name="29-machine-keys")
    sign_in(s, live_server, clerk.username)
    s.page.goto(f"{live_server}/integrations/keys")
    s.page.fill("#key-name", "运输管理系统 TMS")
    s.page.check("input[value='passes:write']")
    s.page.click("#new-key button[type=submit]")
    raw = s.page.locator("#raw-key").inner_text().strip()
    assert raw.startswith("tpk_")
    s.assert_fits()  # the key wraps instead of running off the screen
    s.shot("made")
    s.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    s.page.click("[data-copy=raw-key]")
    assert s.page.evaluate("navigator.clipboard.readText()") == raw
    assert s.page.locator("[data-copy=raw-key]").inner_text() == "已复制"
    s.page.once("dialog", lambda d: d.accept())  # revoking asks first
    s.page.click("#keys button.danger")
    s.page.wait_for_load_state()
    assert "已吊销" in s.page.locator(".flashes").inner_text()
    assert raw not in s.page.content()
    s.assert_fits()
    s.shot("revoked")
