"""Pass forms: rendering and CSRF; rules live in passes.schemas."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

from core.inputs import Form, choices
from core.words import WORDS
from passes.domain import Category
from passes.schemas import PLACE_MAX

# The form's choices in the words of words.py, the one mapping of stored codes.
CATEGORIES = {Category(code): _l(text) for code, text in WORDS["category"].items()}


class PassForm(Form):
    vehicle_id = SelectField(_l("Vehicle"), choices=[])
    driver_id = SelectField(_l("Driver"), choices=[])
    co_driver_id = SelectField(_l("Co-driver (optional)"), choices=[])
    destination_enterprise_id = SelectField(_l("Destination enterprise"), choices=[])
    origin = StringField(
        _l("Origin"), description=_l("Where the trip starts"), render_kw={"maxlength": PLACE_MAX}
    )
    cargo = StringField(_l("Cargo"), render_kw={"maxlength": PLACE_MAX})
    # No category is preselected: the green channel jumps the review queue, so it must be
    # a deliberate choice.
    category = SelectField(
        _l("Category"), choices=choices(CATEGORIES.items(), blank=_l("Choose a category"))
    )
    valid_from = DateTimeLocalField(_l("Valid from"), format="%Y-%m-%dT%H:%M")
    valid_until = DateTimeLocalField(_l("Valid until"), format="%Y-%m-%dT%H:%M")
    max_trips = IntegerField(_l("Number of trips"), default=1, render_kw={"min": 1, "max": 100})
    file_anyway = BooleanField(_l("File anyway, although this vehicle has a pass for that time"))
    submit = SubmitField(_l("Submit application"))

    def payload(self) -> dict[str, Any]:
        """Form values, with the local date-times made aware in the jurisdiction's zone."""
        data = super().payload()
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        for name in ("valid_from", "valid_until"):
            # Left as typed when unparseable: validation then reports it as not a date.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                data[name] = datetime.fromisoformat(data[name]).replace(tzinfo=zone)
        return data


class ReasonForm(Form):
    reason = TextAreaField(_l("Reason"), render_kw={"rows": 2, "maxlength": 500})
    submit = SubmitField(_l("Confirm"))
