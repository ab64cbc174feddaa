"""Tenant scoping: the one place that decides which enterprise rows a user may see.

Every query over enterprise-owned data goes through `scoped` (lists) or `get_scoped`
(one object). A model names its owning-enterprise attribute in `__tenant_key__`, and may
name in `__tenant_also__` a second enterprise that reads the row too (a trip's consignee).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from accounts.domain import OVERSIGHT_ROLES, Role
from core.errors import NotFound

T = TypeVar("T")


def scoped(stmt: Select[Any], model: type, user: Any, *, shared: bool = True) -> Select[Any]:
    """Restrict `stmt` over `model` to the rows `user` may read.

    Oversight roles read everything; enterprise users read their own enterprise's rows
    (and, unless `shared` is False, the rows `__tenant_also__` lets them read); everyone
    else (officers) reads nothing: a scanner learns what it needs from the scan.
    """
    if user.role in OVERSIGHT_ROLES:
        return stmt
    if user.role == Role.ENTERPRISE and user.enterprise_id is not None:
        owner = getattr(model, model.__tenant_key__) == user.enterprise_id
        if shared and (also := getattr(model, "__tenant_also__", None)):
            return stmt.where(owner | (getattr(model, also) == user.enterprise_id))
        return stmt.where(owner)
    return stmt.where(false())


def bound_for(stmt: Select[Any], model: type, user: Any) -> Select[Any]:
    """Restrict `stmt` over `model` (a pass) to the rows bound for the caller's own
    enterprise: what a consignee expects. Nobody else's, and nothing for other roles."""
    if user.role == Role.ENTERPRISE and user.enterprise_id is not None:
        return stmt.where(model.destination_enterprise_id == user.enterprise_id)  # type: ignore[attr-defined]
    return stmt.where(false())


def get_scoped(
    session: Session,
    model: type[T],
    object_id: int,
    user: Any,
) -> T:
    """One object by id, or NotFound when it does not exist or belongs to someone else."""
    pk = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    stmt = scoped(select(model).where(pk == object_id), model, user)
    obj = session.scalars(stmt).one_or_none()
    if obj is None:
        raise NotFound()
    return obj
