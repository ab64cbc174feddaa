"""The scanner's network module (static/js/net.js): a time limit covers the whole answer, so
a link that stalls after the headers still times out and the phone decides offline."""

import socket
import threading
import time

import pytest

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

TIMED = """
async ([url, limit]) => {
  const started = performance.now();
  try {
    await ScannerNet.getJson(url, limit);
    return { outcome: "answered", ms: performance.now() - started };
  } catch (error) {
    return { outcome: "failed", ms: performance.now() - started };
  }
}
"""


@pytest.fixture
def stalling_server():
    """Sends a 200's headers and the first byte of its body, then nothing for 6 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                listener.settimeout(0.2)
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Access-Control-Allow-Origin: *\r\nContent-Length: 100\r\n\r\n{"
            )
            time.sleep(6)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/stall"
    stop.set()
    listener.close()


def test_a_body_that_stalls_after_the_headers_times_out(browser, live_server, stalling_server):
    context = browser.new_context(viewport=PHONE, bypass_csp=True)  # the stall is elsewhere
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.add_script_tag(url="/static/js/net.js")
        result = page.evaluate(TIMED, [stalling_server, 500])
    finally:
        context.close()
    assert result["outcome"] == "failed"
    assert result["ms"] < 3000, result  # the limit, not the server's 6 s, ended it
