"""Jinshan's officer scans Pinghu's passes in Chromium at 360x740 with a fake camera:
online, the verdict names the issuer; with the server not answering scans, the phone
decides a Pinghu code with the keys and revocations of Pinghu it keeps (synced by Jinshan,
listed by its trust list), and a code of a jurisdiction Jinshan does not federate with is
unknown_issuer there too."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.serving import make_server

from passes import services as pass_services
from tests.browser.conftest import PHONE, Screen
from tests.browser.test_offline_scanner import scans_fail, wait_status
from tests.browser.test_scanner import open_scanner
from tests.federation_world import jinshan as _jinshan
from tests.federation_world import network as _network
from tests.federation_world import pin, sync
from tests.integration.test_backup_retention import fresh_database as _fresh_database
from tests.support import Factory, now
from trust import tokens

pytestmark = pytest.mark.browser

fresh_database, jinshan, network = _fresh_database, _jinshan, _network  # the fixtures


@pytest.fixture
def jinshan_server(jinshan):
    server = make_server("127.0.0.1", 0, jinshan, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def at_jinshan(app, make, jinshan, network):
    pin(app, jinshan)
    pin(jinshan, app)
    theirs = Factory(jinshan)
    gate = theirs.checkpoint("gate")
    return {"gate": gate, "officer": theirs.officer(gate)}


def scanner(camera_browser, base, officer, code, name, *, offline):
    context = camera_browser(code).new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    if offline:
        page.route("**/api/v1/scans*", scans_fail)
    s = Screen(page, name)
    open_scanner(s, base, officer)
    wait_status(s, True, "名单")
    return context, s


def test_online_the_verdict_on_a_pinghu_pass_names_its_issuer(
    camera_browser, jinshan_server, at_jinshan, make, jinshan
):
    p = make.pass_(status="approved")
    sync(jinshan)
    context, s = scanner(
        camera_browser,
        jinshan_server,
        at_jinshan["officer"],
        p.code,
        "jinshan-online",
        offline=False,
    )
    s.page.wait_for_selector("#result.result-allow", timeout=20_000)
    assert s.page.locator("#event").inner_text() == "进入"
    assert s.page.locator("#r-issuer").inner_text() == "平湖市"
    s.shot("verdict")
    s.assert_fits()
    assert s.console_errors == []
    context.close()


def test_offline_the_phone_at_jinshan_decides_pinghu_passes_with_the_keys_it_keeps(
    camera_browser, jinshan_server, at_jinshan, make, jinshan
):
    good = make.pass_(status="approved")
    revoked = make.pass_(status="approved")
    with make.session() as session:
        pass_services.revoke_pass(session, revoked.id, make.user("reviewer"), "测试", now=now())
    sync(jinshan)
    officer = at_jinshan["officer"]
    context, s = scanner(
        camera_browser, jinshan_server, officer, good.code, "jinshan-offline", offline=True
    )
    s.page.wait_for_selector("#result.result-allow", timeout=20_000)
    assert s.page.locator("#offline-band").is_visible()
    assert s.page.locator("#plate").inner_text() == good.vehicle.plate
    assert s.page.locator("#event").inner_text() == "进入"
    assert s.page.locator("#r-issuer").inner_text() == "平湖市"
    s.shot("verdict")
    context.close()

    context, s = scanner(
        camera_browser,
        jinshan_server,
        officer,
        revoked.code,
        "jinshan-offline-revoked",
        offline=True,
    )
    s.page.wait_for_selector("#result.result-deny", timeout=20_000)
    assert "吊销" in s.page.locator("#reasons").inner_text()
    context.close()

    stranger = ec.generate_private_key(ec.SECP256R1())
    start = now()
    third = tokens.qr_text(
        "http://suzhou.example",
        tokens.sign(
            tokens.Claims(1, 77, start, start + timedelta(days=1), "苏E12345", "320500"),
            stranger,
        ),
    )
    context, s = scanner(
        camera_browser, jinshan_server, officer, third, "jinshan-offline-unknown", offline=True
    )
    s.page.wait_for_selector("#result.result-deny", timeout=20_000)
    assert "互认" in s.page.locator("#reasons").inner_text()
    context.close()


def test_pinghu_sees_the_journey_and_both_see_their_peers(
    screen, live_server, jinshan_server, at_jinshan, make, jinshan, app
):
    from tests.browser.test_scanner import open_scanner as sign_in
    from tests.federation_world import scan

    p = make.pass_(status="approved")
    sync(jinshan)
    officer, gate = at_jinshan["officer"], at_jinshan["gate"]
    assert scan(jinshan, officer, gate, code=p.code)["event"] == "entry"
    assert scan(jinshan, officer, gate, code=p.code)["event"] == "exit"
    sync(jinshan)
    supervisor = make.user("supervisor")
    s = screen(PHONE, "pinghu-journey")
    sign_in(s, live_server, supervisor)
    s.page.goto(f"{live_server}/passes/{p.id}")
    journey = s.page.locator("#journey")
    assert "金山区" in journey.inner_text()
    assert "进入" in journey.inner_text()
    assert "离开" in journey.inner_text()
    journey.scroll_into_view_if_needed()
    s.assert_fits()
    s.shot("pass")
    s.page.goto(f"{live_server}/admin/federation")
    peers = s.page.locator("#peer-310116").inner_text()
    assert "金山区" in peers
    s.assert_fits()
    s.shot("peers")
    theirs = Factory(jinshan).user("admin")
    t = screen(PHONE, "jinshan-peers")
    sign_in(t, jinshan_server, theirs)
    t.page.goto(f"{jinshan_server}/admin/federation")
    assert "平湖市" in t.page.locator("#peer-330482").inner_text()
    t.shot("peers")
