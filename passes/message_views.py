"""JSON API for a pass's SMS: the messages sent for it, and sending it again."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from accounts.domain import Role, Scope
from accounts.models import User
from accounts.scoping import get_scoped
from api.core import endpoint
from core import web
from passes import context, resends
from passes.api import READERS
from passes.models import Pass
from passes.schemas import MessageOut
from sms.models import SmsMessage


class MessageList(BaseModel):
    items: list[MessageOut]


@endpoint(
    "/passes/<int:pass_id>/messages",
    "GET",
    summary="SMS sent for this pass",
    roles=READERS,
    response=MessageList,
    tag="passes",
)
def pass_messages(user: User, pass_id: int) -> MessageList:
    p = get_scoped(web.db(), Pass, pass_id, user)
    rows = web.db().scalars(
        select(SmsMessage).where(SmsMessage.pass_id == p.id).order_by(SmsMessage.id)
    )
    return MessageList(items=[MessageOut.model_validate(m) for m in rows])


@endpoint(
    "/passes/<int:pass_id>/messages",
    "POST",
    summary="Send the pass SMS again",
    roles={Role.ENTERPRISE, Role.REVIEWER},
    status=202,
    tag="passes",
    scope=Scope.PASSES_WRITE,
)
def resend_pass_message(user: User, pass_id: int) -> dict[str, Any]:
    """202 with what remains; 429 (problem+json, Retry-After) past the limits."""
    p = get_scoped(web.db(), Pass, pass_id, user)
    limits = context.resend_limits()
    resends.resend_sms(web.db(), p, user, now=web.now(), issuer=context.issuer(), limits=limits)
    left = resends.resend_allowance(web.db(), p, now=web.now(), limits=limits)
    return {"queued": True, "left_this_hour": left.pass_left, "left_today": left.enterprise_left}
