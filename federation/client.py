"""Asking a peer over HTTP (the standard library's client: one GET of a small document)."""

from __future__ import annotations

import urllib.error
import urllib.request

from federation.documents import DocumentError

TIMEOUT = 10.0
MAX_DOCUMENT = 1024 * 1024


def fetch_configuration(base_url: str, timeout: float = TIMEOUT) -> str:
    """The compact JWS a peer publishes at GET /api/v1/federation; DocumentError, saying
    why, when it cannot be had."""
    url = f"{base_url}/api/v1/federation"
    request = urllib.request.Request(url, headers={"Accept": "application/jose"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            body = answer.read(MAX_DOCUMENT + 1)
    except urllib.error.HTTPError as exc:
        raise DocumentError(f"{url} answered {exc.code}", "unreachable") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DocumentError(f"{url} cannot be reached ({reason})", "unreachable") from None
    if len(body) > MAX_DOCUMENT:
        raise DocumentError(f"{url} sent more than a configuration")
    return body.decode("ascii", "replace")
