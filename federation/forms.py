"""The peers page's form: rendering and CSRF only; the rules live in federation.services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField

from core.inputs import Form


class PeerForm(Form):
    url = StringField(
        _l("The peer's address"),
        description=_l("Where its system answers, e.g. https://pass.jinshan.example.cn"),
        render_kw={"inputmode": "url", "autocapitalize": "off", "maxlength": 200},
    )
    fingerprint = StringField(
        _l("Its key's fingerprint"),
        description=_l(
            "64 hexadecimal digits, from its administrators by phone or letter, "
            "never from the address"
        ),
        render_kw={"autocapitalize": "off", "spellcheck": "false", "maxlength": 100},
    )
    submit = SubmitField(_l("Check and pin"))
