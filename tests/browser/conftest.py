"""A live server on a free port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A camera that exists: a test pattern unless a test supplies a video file.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def camera_browser(playwright: Any, tmp_path: Path) -> Iterator[Any]:
    """Launch Chromium whose camera films a given QR text: camera_browser(text)."""
    from tests.browser.camera import qr_video

    launched: list[Any] = []

    def launch(text: str) -> Any:
        video = qr_video(text, tmp_path / f"camera-{len(launched)}.y4m")
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
        )
        launched.append(browser)
        return browser

    yield launch
    for browser in launched:
        browser.close()


def _buffered(app: Any) -> Any:
    """Read every response whole and close it before the server writes a byte.

    A browser that navigates away drops its pending requests; the development
    server then abandons the half-sent body without closing it, and an open
    static file surfaces later as an unraisable ResourceWarning in some
    unrelated test. Responses here are small, so buffering costs nothing.
    """

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


class Screen:
    """A page plus the checks every screen must pass: no console errors, no sideways scroll."""

    def __init__(self, page: Any, name: str):
        self.page = page
        self.name = name
        self.console_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def _on_console(self, message: Any) -> None:
        # A form answered with 422 is the page itself, not a broken resource on it.
        if message.type == "error" and message.location.get("url") != self.page.url:
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def shot(self, step: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_fits(self) -> None:
        self.page.wait_for_load_state()
        width = self.page.evaluate("document.documentElement.scrollWidth")
        viewport = self.page.viewport_size["width"]
        if width > viewport:
            wide = self.page.evaluate(
                """w => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > w)
                .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)""",
                viewport,
            )
            raise AssertionError(
                f"{self.page.url} scrolls sideways: {width}px > {viewport}px; widest: {wide}"
            )
        assert self.console_errors == [], self.console_errors


@pytest.fixture
def screen(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    def open_screen(viewport: dict[str, int] = PHONE, name: str | None = None) -> Screen:
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        contexts.append(context)
        label = name or request.node.name.replace("[", "-").replace("]", "")
        return Screen(context.new_page(), label)

    contexts: list[Any] = []
    yield open_screen
    for context in contexts:
        context.close()
