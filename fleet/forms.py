"""Fleet forms: rendering and CSRF; rules live in fleet.schemas."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import FileField, IntegerField, SelectField, StringField, SubmitField, TelField

from core.inputs import Form, choices
from fleet.domain import VehicleType

VEHICLE_TYPES = {
    VehicleType.HEAVY_TRUCK: _l("Heavy truck"),
    VehicleType.MEDIUM_TRUCK: _l("Medium truck"),
    VehicleType.LIGHT_TRUCK: _l("Light truck"),
    VehicleType.VAN: _l("Van"),
    VehicleType.TRACTOR: _l("Tractor unit"),
    VehicleType.TRAILER: _l("Trailer"),
    VehicleType.TANKER: _l("Tanker"),
    VehicleType.REFRIGERATED: _l("Refrigerated truck"),
    VehicleType.OTHER: _l("Other"),
}


class VehicleForm(Form):
    plate = StringField(
        _l("Plate"),
        description=_l("e.g. 浙F12345, 浙FD12345, 浙F1234挂"),
        render_kw={"autocapitalize": "characters", "maxlength": 12},
    )
    vehicle_type = SelectField(_l("Vehicle type"), choices=choices(VEHICLE_TYPES.items()))
    capacity_kg = IntegerField(_l("Capacity (kg)"), render_kw={"inputmode": "numeric"})
    submit = SubmitField(_l("Save vehicle"))


class DriverForm(Form):
    name = StringField(_l("Full name"))
    id_number = StringField(
        _l("Resident ID number"), render_kw={"maxlength": 18, "autocapitalize": "characters"}
    )
    phone = TelField(_l("Mobile"), render_kw={"inputmode": "tel"})
    submit = SubmitField(_l("Save driver"))


class ImportForm(Form):
    file = FileField(_l("CSV or Excel file"), render_kw={"accept": ".csv,.xlsx"})
    submit = SubmitField(_l("Check file"))
