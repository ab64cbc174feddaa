"""The browser tests' own server: a request the client abandons leaves nothing open behind.

Without this, a page that navigates away mid-download leaks a static file, and the
ResourceWarning fails whichever later test the garbage collector happens to run in."""

import gc
import socket
import struct
import sys
import time
import warnings
from urllib.parse import urlsplit
from urllib.request import urlopen

BIG_STATIC = "/static/vendor/zxing-wasm-3.1.4/zxing_reader.wasm"  # larger than a socket buffer


def test_abandoned_downloads_close_their_files(live_server, monkeypatch):
    leaked: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: leaked.append(repr(u.exc_value)))
    address = urlsplit(live_server)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        for _ in range(30):
            client = socket.create_connection((address.hostname, address.port))
            client.sendall(f"GET {BIG_STATIC} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
            time.sleep(0.01)  # the server is now blocked writing a full socket buffer
            assert client.recv(1024).startswith(b"HTTP/1.1 200")
            # Hang up with a reset, as a browser tab does when it navigates away.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
        time.sleep(0.5)
        gc.collect()
    assert leaked == []
    with urlopen(f"{live_server}/api/v1/health") as response:
        assert response.status == 200  # and the server goes on serving
