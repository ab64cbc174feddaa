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
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)

from core.errors import ValidationFailed
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
    # Or a consignee in another jurisdiction (or not listed), by its national credit code.
    elsewhere_credit_code = StringField(
        _l("Its unified social credit code"), render_kw={"maxlength": 18, "autocomplete": "off"}
    )
    elsewhere_name = StringField(_l("Its name"), render_kw={"maxlength": 200})
    elsewhere_area_code = StringField(
        _l("The county it is in (6-digit area code)"),
        description=_l("e.g. 310116 for Jinshan, Shanghai"),
        render_kw={"maxlength": 6, "inputmode": "numeric"},
    )
    origin = StringField(
        _l("Origin"), description=_l("Where the trip starts"), render_kw={"maxlength": PLACE_MAX}
    )
    origin_area_code = StringField(
        _l("County of origin (6-digit area code)"),
        description=_l("Leave empty when the trip starts in this jurisdiction"),
        render_kw={"maxlength": 6, "inputmode": "numeric"},
    )
    cargo = StringField(_l("Cargo"), render_kw={"maxlength": PLACE_MAX})
    # No category is preselected: the green channel jumps the review queue, so it must be
    # a deliberate choice.
    category = SelectField(
        _l("Category"), choices=choices(CATEGORIES.items(), blank=_l("Choose a category"))
    )
    valid_from = DateTimeLocalField(_l("Valid from"), format="%Y-%m-%dT%H:%M")
    valid_until = DateTimeLocalField(_l("Valid until"), format="%Y-%m-%dT%H:%M")
    # The crew's designated stations (三点往返); none chosen: any station will do.
    station_ids = SelectMultipleField(
        _l("The crew's stations"),
        choices=[],
        description=_l("Where the crew may stop on the way; none chosen: any station"),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=False,
    )
    max_trips = IntegerField(_l("Number of trips"), default=1, render_kw={"min": 1, "max": 100})
    file_anyway = BooleanField(_l("File anyway, although this vehicle has a pass for that time"))
    submit = SubmitField(_l("Submit application"))

    ELSEWHERE = {
        "credit_code": "elsewhere_credit_code",
        "name": "elsewhere_name",
        "area_code": "elsewhere_area_code",
    }

    def payload(self) -> dict[str, Any]:
        """Form values, with the local date-times made aware in the jurisdiction's zone,
        and a consignee named by code as the API's `destination`."""
        data = super().payload()
        data.pop("station_ids", None)
        if self.station_ids.raw_data:
            data["station_ids"] = list(self.station_ids.raw_data)
        named = {key: data.pop(name, "") for key, name in self.ELSEWHERE.items()}
        if any(named.values()):
            data["destination"] = named
            data.pop("destination_enterprise_id", None)
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        for name in ("valid_from", "valid_until"):
            # Left as typed when unparseable: validation then reports it as not a date.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                data[name] = datetime.fromisoformat(data[name]).replace(tzinfo=zone)
        return data

    def show(self, exc: ValidationFailed) -> None:
        """Errors of `destination` (and its parts) beside the fields they came from."""
        errors = {}
        for name, messages in exc.errors.items():
            head, _, part = name.partition(".")
            if head == "destination":
                name = self.ELSEWHERE.get(part, "elsewhere_credit_code")
            errors[name] = messages
        super().show(ValidationFailed(errors))


class ReasonForm(Form):
    reason = TextAreaField(_l("Reason"), render_kw={"rows": 2, "maxlength": 500})
    submit = SubmitField(_l("Confirm"))
