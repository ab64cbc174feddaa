"""Signed federation documents: compact JWS (ES256, joserfc) whose payload is JSON.

A peer's configuration is verified against the fingerprint pinned for it: the payload's
`federation_key` must have that fingerprint, and the JWS must verify with it. A new key is
accepted only with a `key_change` statement signed by the pinned (old) key naming the new
key's fingerprint; otherwise an administrator re-pins."""

from __future__ import annotations

import json
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from federation.keys import JWK_FIELDS, fingerprint_of_jwk

ALG = "ES256"
CONFIG_TYPE = "trafficpass-federation+jws"
FEED_TYPE = "trafficpass-pass-feed+jws"
EVENTS_TYPE = "trafficpass-events+jws"


class DocumentError(ValueError):
    """A document that is not what it claims; the message says what, for an operator, and
    `kind` which case it is (for the words a page shows): malformed, no_key, signature,
    fingerprint, unreachable."""

    def __init__(self, message: str, kind: str = "malformed", **facts: str):
        super().__init__(message)
        self.kind, self.facts = kind, facts


def sign(payload: dict[str, Any], key: ECKey, kid: str, typ: str = CONFIG_TYPE) -> str:
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return jws.serialize_compact({"alg": ALG, "kid": kid, "typ": typ}, body.encode(), key)


def _unverified(token: str) -> dict[str, Any]:
    try:
        payload = json.loads(jws.extract_compact(token.strip().encode()).payload)
    except (JoseError, ValueError, TypeError, RecursionError) as exc:
        raise DocumentError(f"not a signed document ({type(exc).__name__})") from None
    if not isinstance(payload, dict):
        raise DocumentError("the document's payload is not a JSON object")
    return payload


def claimed(token: str) -> dict[str, Any]:
    """The payload as it claims to be, before anything is verified (to find the signer)."""
    return _unverified(token)


def verify_with(token: str, jwk: dict[str, Any], typ: str | None = None) -> dict[str, Any]:
    """The payload of a document that verifies with `jwk` (and is of type `typ`)."""
    return _verify(token, jwk, typ)


def _verify(token: str, jwk: dict[str, Any], typ: str | None = None) -> dict[str, Any]:
    try:
        key = ECKey.import_key({k: jwk[k] for k in JWK_FIELDS})
        found = jws.deserialize_compact(token.strip(), key, algorithms=[ALG])
        payload = json.loads(found.payload)
    except (JoseError, ValueError, KeyError, TypeError, RecursionError):
        raise DocumentError(
            "the signature does not verify with the federation key", "signature"
        ) from None
    if typ is not None and found.headers().get("typ") != typ:
        raise DocumentError(f"the document is not a {typ}")
    if not isinstance(payload, dict):
        raise DocumentError("the document's payload is not a JSON object")
    return payload


def verify_config(token: str, pinned: str) -> tuple[dict[str, Any], str]:
    """The configuration's payload and the fingerprint now to pin (the same, or the new
    key's when the old key signed the change). DocumentError otherwise."""
    claimed = _unverified(token)
    jwk = claimed.get("federation_key")
    if not isinstance(jwk, dict):
        raise DocumentError("the configuration names no federation key", "no_key")
    try:
        found = fingerprint_of_jwk(jwk)
    except (ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"the federation key is not usable ({exc})", "no_key") from None
    payload = _verify(token, jwk)
    if found == pinned.lower():
        return payload, found
    change = payload.get("key_change")
    if isinstance(change, dict) and isinstance(change.get("statement"), str):
        old = change.get("old_key")
        if isinstance(old, dict) and fingerprint_of_jwk(old) == pinned.lower():
            said = _verify(change["statement"], old)
            if said.get("new_fingerprint") == found and said.get("area_code") == payload.get(
                "area_code"
            ):
                return payload, found
    raise DocumentError(
        f"the peer's federation key has fingerprint {found}, not the pinned {pinned.lower()}, "
        "and no change signed by the pinned key: check the fingerprint with the peer's "
        "administrators and pin it again",
        "fingerprint",
        found=found,
    )


def key_change_statement(old: ECKey, old_kid: str, area_code: str, new_fingerprint: str) -> str:
    """What a jurisdiction publishes, signed by its old key, when its federation key changes."""
    return sign(
        {"area_code": area_code, "new_fingerprint": new_fingerprint},
        old,
        old_kid,
        typ="trafficpass-key-change+jws",
    )
