"""Account forms: rendering and CSRF only; the rules live in accounts.schemas."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from accounts.domain import Role
from accounts.schemas import ADDRESS_MAX, ENTERPRISE_NAME_MAX, PERSON_NAME_MAX, SCOPE_MAX
from core.inputs import Form


class LoginForm(Form):
    username = StringField(_l("Username"), render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "current-password"})
    keep = BooleanField(
        _l("Keep me signed in on this phone for my shift"),
        description=_l("For officers and site scanners on their own phone; signing out ends it."),
    )
    submit = SubmitField(_l("Sign in"))


class SignupForm(Form):
    name = StringField(_l("Enterprise name"), render_kw={"maxlength": ENTERPRISE_NAME_MAX})
    credit_code = StringField(
        _l("Unified social credit code"),
        description=_l("18 characters, printed on the business licence"),
        render_kw={"autocapitalize": "characters", "maxlength": 24},
    )
    legal_representative = StringField(
        _l("Legal representative (optional)"),
        description=_l("As on the business licence"),
        render_kw={"maxlength": PERSON_NAME_MAX},
    )
    address = StringField(
        _l("Registered address (optional)"),
        description=_l("As on the business licence"),
        render_kw={"maxlength": ADDRESS_MAX, "autocomplete": "street-address"},
    )
    business_scope = TextAreaField(
        _l("Business scope (optional)"),
        description=_l("What the enterprise moves or makes, in a few words"),
        render_kw={"maxlength": SCOPE_MAX, "rows": 2},
    )
    contact_name = StringField(_l("Contact person"), render_kw={"maxlength": PERSON_NAME_MAX})
    contact_phone = TelField(_l("Contact mobile"), render_kw={"inputmode": "tel"})
    admin_username = StringField(
        _l("Your username"), render_kw={"autocomplete": "username", "autocapitalize": "none"}
    )
    admin_password = PasswordField(
        _l("Password"),
        description=_l("At least 8 characters with letters and digits"),
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Sign up"))


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.REVIEWER: _l("Reviewer"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.OFFICER: _l("Checkpoint officer"),
    Role.ENTERPRISE: _l("Enterprise staff"),
}


class UserForm(Form):
    username = StringField(_l("Username"), render_kw={"autocapitalize": "none"})
    password = PasswordField(_l("Initial password"), render_kw={"autocomplete": "new-password"})
    # No role is preselected: an administrator account must be a deliberate choice.
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice("", _l("Choose a role")),
            *(SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()),
        ],
    )
    enterprise_id = SelectField(_l("Enterprise (enterprise staff only)"), choices=[], coerce=str)
    submit = SubmitField(_l("Create user"))


class PasswordForm(Form):
    password = PasswordField(_l("New password"), render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Set password"))


class ActionForm(Form):
    """An empty form: a button that POSTs with a CSRF token."""
