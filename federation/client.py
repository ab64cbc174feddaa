"""Asking a peer over HTTP (the standard library's client: small documents, a bounded
time and size, no redirects followed). `transport` is the one place bytes cross; a test
standing two installations side by side in one process routes it to their test clients."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from federation.documents import DocumentError

TIMEOUT = 10.0
MAX_DOCUMENT = 8 * 1024 * 1024  # a page of the pass feed (500 passes) is well under 1 MiB

# (method, url, headers, body, timeout) -> (status, body)
Transport = Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, bytes]]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a peer answers at its own address, or not at all


_opener = urllib.request.build_opener(_NoRedirects)


def _urllib(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    deadline = time.monotonic() + 3 * timeout  # a peer trickling bytes is cut off too
    try:
        with _opener.open(request, timeout=timeout) as answer:
            return answer.status, _read(answer, deadline)
    except urllib.error.HTTPError as exc:
        return exc.code, _read(exc, deadline)


def _read(answer: Any, deadline: float) -> bytes:
    """At most MAX_DOCUMENT + 1 bytes, read in pieces, within `deadline` as a whole (each
    piece within the socket's own timeout)."""
    pieces, size = [], 0
    while size <= MAX_DOCUMENT:
        piece = answer.read1(min(64 * 1024, MAX_DOCUMENT + 1 - size))  # what has come
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
        if time.monotonic() > deadline:
            raise TimeoutError("the peer's answer took too long")
    return b"".join(pieces)


transport: Transport = _urllib


def call(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None = None,
    *,
    timeout: float = TIMEOUT,
) -> bytes:
    """The answer's body when the peer answers 2xx; DocumentError, saying why, otherwise."""
    try:
        status, answer = transport(method, url, headers, body, timeout)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DocumentError(f"{url} cannot be reached ({reason})", "unreachable") from None
    if not 200 <= status < 300:
        raise DocumentError(f"{url} answered {status}", "unreachable", status=str(status))
    if len(answer) > MAX_DOCUMENT:
        raise DocumentError(f"{url} sent more than a document")
    return answer


def fetch_configuration(base_url: str) -> str:
    """The compact JWS a peer publishes at GET /api/v1/federation."""
    url = f"{base_url}/api/v1/federation"
    return call("GET", url, {"Accept": "application/jose"}).decode("ascii", "replace")
