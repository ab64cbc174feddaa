"""JSON API for machine keys (accounts/keys.py): an enterprise (or an administrator, for
the jurisdiction) makes, lists and revokes the keys its systems call the API with."""

from __future__ import annotations

from typing import Any

from accounts import keys
from accounts.domain import Role
from accounts.models import User
from accounts.schemas import KeyCreated, KeyIn, KeyOut
from api.core import endpoint
from core import web

KEY_OWNERS = frozenset({Role.ENTERPRISE, Role.ADMIN})


@endpoint(
    "/api-keys",
    "POST",
    summary="Make a machine key: named, scoped, shown once",
    roles=KEY_OWNERS,
    body=KeyIn,
    response=KeyCreated,
    status=201,
    tag="integrations",
)
def create_key(user: User, body: KeyIn) -> dict[str, Any]:
    raw, key = keys.create_key(web.db(), user, body.name, body.scopes, now=web.now())
    return {**KeyOut.model_validate(key).model_dump(mode="json"), "key": raw}


@endpoint(
    "/api-keys",
    "GET",
    summary="My enterprise's machine keys (the jurisdiction's, for an administrator)",
    roles=KEY_OWNERS,
    tag="integrations",
)
def list_keys(user: User) -> dict[str, Any]:
    found = keys.keys_of(web.db(), user)
    return {"items": [KeyOut.model_validate(k).model_dump(mode="json") for k in found]}


@endpoint(
    "/api-keys/<int:key_id>",
    "DELETE",
    summary="Revoke a machine key: it stops at once here, within seconds everywhere",
    roles=KEY_OWNERS,
    response=KeyOut,
    tag="integrations",
)
def revoke_key(user: User, key_id: int) -> Any:
    return keys.revoke_key(web.db(), user, key_id, now=web.now())
