"""Input checks shared by forms and the JSON API: parsing into pydantic models with
translated field messages, control characters refused, ids, and the WTForms base form."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask_babel import gettext
from flask_wtf import FlaskForm
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.routing import IntegerConverter
from wtforms.fields.choices import SelectChoice

from core import tabular
from core.errors import N_, ValidationFailed

M = TypeVar("M", bound=BaseModel)

T = TypeVar("T")


def error_message(error: Mapping[str, Any]) -> str:
    """One pydantic error in the user's language."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return gettext("This field is required.")
    if kind == "value_error" and "error" in ctx:
        return gettext(str(ctx["error"]))
    if kind == "string_too_short":
        return gettext("Enter at least %(n)d characters.", n=ctx.get("min_length", 1))
    if kind == "string_too_long":
        return gettext("Enter at most %(n)d characters.", n=ctx.get("max_length", 0))
    if kind == "too_long":
        return gettext("Too many items.")
    if kind == "extra_forbidden":
        return gettext("Unknown field.")
    if kind == "enum":
        return gettext("Choose one of the listed values.")
    if kind.startswith(("int_", "float_")):
        return gettext("Enter a whole number.")
    if kind.startswith("bool"):
        return gettext("Enter true or false.")
    if kind.startswith(("datetime", "timezone")):
        return gettext("Enter a date and time with its time zone offset.")
    return gettext("This value is not valid.")


MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL


def is_id(raw: str) -> bool:
    """A form or query value that can name a row."""
    return raw.isdigit() and 1 <= int(raw) <= MAX_ID


# C0 and C1 control characters (tabular.CONTROL): never text anyone typed. Tab and line
# breaks pass here; the input models refuse them too except in fields that hold lines.
CONTROL_MESSAGE = N_("Text must not contain control characters.")


def _control_fields(data: Any, path: str = "") -> list[str]:
    if isinstance(data, str):
        return [path or "body"] if tabular.CONTROL.search(data) else []
    if isinstance(data, Mapping):
        items: Any = data.items()
    elif isinstance(data, list | tuple):
        items = enumerate(data)
    else:
        return []
    found = []
    for key, value in items:
        found += _control_fields(value, f"{path}.{key}" if path else str(key))
    return found


def reject_control(data: Any) -> None:
    """Control characters in a body, a query or a form: a 422 naming each field, before
    anything reads them (PostgreSQL cannot store NUL; spreadsheets cannot hold the rest)."""
    if fields := _control_fields(data):
        raise ValidationFailed({field: [gettext(CONTROL_MESSAGE)] for field in fields})


def validate(model: type[M], data: Any) -> M:
    """Parse input into `model`, or raise ValidationFailed with translated field messages."""
    if not isinstance(data, Mapping):
        raise ValidationFailed.one("body", gettext("Send a JSON object."))
    reject_control(data)
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "body"
            errors.setdefault(field, []).append(error_message(error))
        raise ValidationFailed(errors) from None


class Form(FlaskForm):
    """A WTForms form whose rules live in a pydantic model: the form renders and carries
    CSRF; `payload()` feeds `validate`, and `show(exc)` puts field errors back on it."""

    NOT_DATA = frozenset({"csrf_token", "submit"})

    def payload(self) -> dict[str, Any]:
        """What the user typed, as strings: the pydantic model parses and judges it."""
        data: dict[str, Any] = {}
        for name, field in self._fields.items():
            if name in self.NOT_DATA:
                continue
            value = field.raw_data[0] if field.raw_data else field.data
            if isinstance(value, str):
                value = value.strip()
            if value not in ("", None):
                data[name] = value
        return data

    def show(self, exc: ValidationFailed) -> None:
        for name, messages in exc.errors.items():
            field = self._fields.get(name.split(".")[0])
            translated = [gettext(m) for m in messages]
            if field is None:
                self.form_errors.extend(translated)
            else:
                field.errors = [*field.errors, *translated]


class IdConverter(IntegerConverter):
    """`<int:...>` in a URL: a database id (an INTEGER column, at most MAX_ID); any other
    number is a 404 for that object (not a search for another route, and never an
    overflow in the database)."""

    def to_python(self, value: str) -> int:
        if not is_id(value):
            raise HTTPNotFound()
        return int(value)


def choices(pairs: Any, blank: str | None = None) -> list[SelectChoice]:
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(value), label) for value, label in pairs]


def field_errors(exc: ValidationFailed) -> dict[str, list[str]]:
    """A validation failure's messages, translated, by field (for a page)."""
    return {k: [gettext(m) for m in v] for k, v in exc.errors.items()}


def filtered(
    build: Callable[[Mapping[str, Any]], T], args: Mapping[str, Any]
) -> tuple[T, dict[str, list[str]]]:
    """`build(args)` for a page's filters; with bad filters, `build({})` and their messages,
    so the page still shows everything and says what was wrong."""
    try:
        return build(args), {}
    except ValidationFailed as exc:
        return build({}), field_errors(exc)
