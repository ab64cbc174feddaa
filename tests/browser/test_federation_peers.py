"""The peers page on a phone, in Chinese and English: the fingerprint to give neighbours,
a pinned peer, and a wrong fingerprint refused in words."""

import pytest

from federation import client as federation_client
from tests.browser.conftest import PHONE
from tests.browser.test_layout import sign_in
from tests.web.test_federation_pinning import fresh_database, identity, jinshan  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_peers_page_at_phone_width(live_server, screen, make, jinshan, monkeypatch):  # noqa: F811
    peer_client = jinshan.test_client()
    monkeypatch.setattr(
        federation_client,
        "fetch_configuration",
        lambda _url: peer_client.get("/api/v1/federation").get_data(as_text=True),
    )
    theirs = identity(jinshan)
    admin = make.user("admin")
    s = screen(PHONE)
    sign_in(s, live_server, admin.username)
    s.page.goto(f"{live_server}/admin/federation")
    assert "还没有互认辖区" in s.page.locator(".empty").inner_text()
    s.page.fill("#url", "http://jinshan.example")
    s.page.fill("#fingerprint", "ab" * 32)
    s.page.click("#pin")
    assert "不是您输入的指纹" in s.page.locator(".form-error").first.inner_text()
    s.assert_fits()
    s.shot("wrong-fingerprint")
    s.page.fill("#fingerprint", theirs["fingerprint"])
    s.page.click("#pin")
    s.page.wait_for_selector("#peer-310116")
    assert "金山区" in s.page.locator("#peer-310116").inner_text()
    s.assert_fits()
    s.shot("pinned")
    s.page.click("text=English")
    s.page.wait_for_selector("#peer-310116")
    assert "Federation peers" in s.page.locator("h1").inner_text()
    s.assert_fits()
    s.shot("pinned-en")
