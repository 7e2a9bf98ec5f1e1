"""Forms of the tenants blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from portal.form_choices import as_choices


class TenantForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=100)])
    contact_email = EmailField(_l("Contact email"), validators=[Optional(), Email(), Length(max=254)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class MerchantUserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])
    mode = RadioField(
        _l("How the user gets in"),
        choices=as_choices([("invite", _l("Send an invitation link")), ("password", _l("Set an initial password"))]),
        default="invite",
    )
    password = PasswordField(_l("Initial password"), validators=[Optional(), Length(max=200)])

    def validate_password(self, field):
        if self.mode.data == "password" and len(field.data or "") < 10:
            raise ValidationError(_l("Password must be at least 10 characters."))


class ActionForm(FlaskForm):
    """A button that posts (suspend, reactivate, disable…): only the CSRF token."""
