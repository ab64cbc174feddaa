"""The audit log for oversight: verification of the hash chain."""

from __future__ import annotations

from pydantic import BaseModel

import audit
import web
from accounts.domain import Role
from api.core import endpoint


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    first_bad_id: int | None


@endpoint(
    "/audit/verify",
    "GET",
    summary="Verify the audit hash chain",
    roles={Role.ADMIN, Role.SUPERVISOR},
    response=AuditVerification,
    tag="audit",
)
def verify_audit(_user: object) -> AuditVerification:
    result = audit.verify(web.db())
    return AuditVerification(ok=result.ok, entries=result.entries, first_bad_id=result.first_bad_id)
