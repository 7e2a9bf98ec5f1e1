"""Forms of the push-forwarding pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

ANY_TENANT = 0


class RuleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    url = StringField(_l("Target URL"), validators=[DataRequired(), Length(max=500)])
    tenant_id = SelectField(_l("Tenant"), coerce=int, default=ANY_TENANT)
    appid = StringField(_l("AppID (empty: every mini-program and official account)"), validators=[Optional(), Length(max=45)])
    kinds = StringField(_l("Push types"), default="*", validators=[Optional(), Length(max=255)])


class ActionForm(FlaskForm):
    """The buttons (enable, disable, test push, new secret, send again): CSRF only."""

    enabled = HiddenField()
