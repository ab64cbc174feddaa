"""Input and output shapes of the account use cases, shared by forms and the JSON API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from accounts import domain
from accounts.domain import EnterpriseStatus, Role
from core import db
from core.errors import N_

Username = Annotated[str, AfterValidator(domain.normalise_username)]
Password = Annotated[str, AfterValidator(domain.check_password)]
Mobile = Annotated[str, AfterValidator(domain.normalise_mobile)]
CreditCode = Annotated[str, AfterValidator(domain.normalise_credit_code)]
# Sane lengths: the longest registered enterprise names are about 40 characters, people's
# names (with a minority's middle dot) about 20. The forms' maxlength follow these.
ENTERPRISE_NAME_MAX, PERSON_NAME_MAX = 50, 30
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=ENTERPRISE_NAME_MAX)
]
PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=PERSON_NAME_MAX)
]
# What the business licence prints, for the administrator vetting a sign-up: optional, so
# an integration that signs up with the four fields keeps working.
ADDRESS_MAX, SCOPE_MAX = 200, 500
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=ADDRESS_MAX)]
OptionalPersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=PERSON_NAME_MAX)
]
# A reference to a row: what an INTEGER id column holds (32 bits on PostgreSQL), so a
# larger number is a 422, not a database error.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _storable(at: datetime) -> datetime:
    if not db.storable(at):
        raise ValueError(db.RANGE_MESSAGE)
    return at


# A moment the product can store: aware, between 2000 and 2099 (beyond, converting to
# UTC can overflow).
Moment = Annotated[AwareDatetime, AfterValidator(_storable)]


class MultiLine:
    """Marks a text field that may hold line breaks (a reason, a note)."""


MULTILINE = MultiLine()
# Control characters (C0, DEL, C1) and the line and paragraph separators.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LINE_BREAK = re.compile("\r\n?|\n")


class Input(BaseModel):
    """Every input model: unknown fields refused, and text on one line without control
    characters, unless the field is marked MULTILINE (then newlines are kept)."""

    model_config = ConfigDict(extra="forbid", str_max_length=10_000)

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str) or info.field_name is None:
            return value
        field = cls.model_fields[info.field_name]
        multiline = any(isinstance(m, MultiLine) for m in field.metadata)
        rest = LINE_BREAK.sub("", value) if multiline else value
        if CONTROL.search(rest):
            if multiline:
                raise ValueError(N_("Text must not contain control characters."))
            raise ValueError(N_("Text must be on one line, without control characters."))
        return value


class EnterpriseSignup(Input):
    name: Name
    credit_code: CreditCode
    contact_name: PersonName
    contact_phone: Mobile
    admin_username: Username
    admin_password: Password
    address: Address = ""
    legal_representative: OptionalPersonName = ""
    business_scope: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=SCOPE_MAX), MULTILINE
    ] = ""


class UserCreate(Input):
    username: Username
    password: Password
    role: Role
    enterprise_id: Id | None = None
    checkpoint_ids: list[Id] = Field(default_factory=list, max_length=200)


class TokenRequest(Input):
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Annotated[str, StringConstraints(max_length=128)]


class SignUpRejection(Input):
    """Why a sign-up is not approved: the enterprise reads it on its home page and by SMS."""

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200), MULTILINE
    ]


class PasswordReset(Input):
    password: Password


class WhitelistChange(Input):
    whitelisted: bool


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EnterpriseOut(Output):
    id: int
    name: str
    credit_code: str
    contact_name: str
    contact_phone: str
    address: str
    legal_representative: str
    business_scope: str
    status: EnterpriseStatus
    status_reason: str  # why a sign-up was rejected; empty otherwise
    whitelisted: bool
    created_at: datetime


class EnterpriseCreated(Output):
    id: int
    status: EnterpriseStatus


class UserOut(Output):
    id: int
    username: str
    role: Role
    enterprise_id: int | None


class Created(Output):
    id: int


class TokenOut(BaseModel):
    token: str
    expires_at: datetime
    user: UserOut


class KeyIn(Input):
    """A machine key to make: what to call it and what it may do (accounts.domain.Scope)."""

    name: str = Field(max_length=64)
    scopes: list[str] = Field(max_length=8)


class KeyOut(Output):
    id: int
    name: str
    scopes: list[str]
    prefix: str  # the key's first characters, to tell it by
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str  # shown this once; only its SHA-256 is kept
