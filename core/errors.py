"""Errors that services raise and the web layer turns into pages or problem+json."""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks a message for translation without translating it (done at the edge)."""
    return message


class DomainError(Exception):
    """Base for errors a user can cause; never a 500."""

    status = 400
    title = N_("Bad request")
    detail: str | None = None
    code: str | None = None  # a stable code a program may act on (problem+json "code")

    def __init__(self, detail: str | None = None, **params: object):
        super().__init__(detail)
        self.detail = detail
        self.params = params  # filled into the translated detail


class ValidationFailed(DomainError):
    """Input broke a rule; `errors` maps field names to untranslated messages."""

    status = 422
    title = N_("Invalid input")

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__()
        self.errors = errors

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [message]})


class NotFound(DomainError):
    status = 404
    title = N_("Not found")


class Forbidden(DomainError):
    status = 403
    title = N_("Forbidden")


class Conflict(DomainError):
    status = 409
    title = N_("Conflict")


class OverlappingPass(Conflict):
    """The vehicle already has a waiting or approved pass for an overlapping window."""

    def __init__(self, number: str, pass_id: int):
        super().__init__(
            N_(
                "This vehicle already has pass %(number)s for an overlapping time. Check it, "
                "or tick \u201cfile anyway\u201d if a second pass is really needed."
            ),
            number=number,
        )
        self.number, self.pass_id = number, pass_id


class InvalidTransition(Conflict):
    """A status change that the object's transition table does not allow."""

    title = N_("This change is not allowed in the current state")

    def __init__(self, kind: str, current: str, target: str):
        super().__init__()
        self.kind, self.current, self.target = kind, current, target


class Throttled(DomainError):
    status = 429
    title = N_("Too many attempts")

    def __init__(self, retry_after_seconds: int, detail: str | None = None):
        super().__init__(detail)
        self.retry_after = retry_after_seconds
