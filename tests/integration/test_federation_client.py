"""Asking a peer over real HTTP is bounded: a peer trickling its answer a byte at a time
(each within the socket's timeout) is cut off as a whole, so one slow neighbour cannot hold
up the sync of the others; a redirect is not followed."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from federation import client
from federation.documents import DocumentError


class Trickle(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass  # the client hung up, as it should

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_peer():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_trickling_answer_is_cut_off_as_a_whole(slow_peer):
    started = time.monotonic()
    with pytest.raises(DocumentError, match="cannot be reached"):
        client.call("GET", f"{slow_peer}/api/v1/federation", {}, timeout=0.5)
    assert time.monotonic() - started < 4  # 3 timeouts and a piece, not 20 s of bytes


def test_a_redirect_is_not_followed(slow_peer):
    with pytest.raises(DocumentError, match="answered 302"):
        client.call("GET", f"{slow_peer}/moved", {}, timeout=2)
