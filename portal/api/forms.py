"""Forms of the API key staff pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length


class ApiKeyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    all_tenants = BooleanField(_l("All tenants, and the component token"))
    tenant_ids = SelectMultipleField(_l("Or only these tenants"), coerce=int)


class RevokeForm(FlaskForm):
    """The revoke button: only the CSRF token."""
