"""Forms of the fleet pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.form_choices import as_choices

MODES = [("all", _l("All authorized mini-programs")), ("tenants", _l("The mini-programs of some tenants")),
         ("version", _l("Mini-programs on a released version")), ("list", _l("A hand-picked list"))]


class FleetForm(FlaskForm):
    template_id = SelectField(_l("Template"), coerce=int, validators=[DataRequired()])
    user_version = StringField(_l("Version"), validators=[DataRequired(), Length(max=64), Regexp(
        r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$", message=_l("Use 1-64 letters, digits, “.”, “-” or “_”, e.g. 1.2.0."))])
    user_desc = StringField(_l("Description"), validators=[Optional(), Length(max=255)])
    mode = SelectField(_l("Targets"), choices=as_choices(MODES))
    tenant_ids = SelectMultipleField(_l("Tenants"), coerce=int, validate_choice=False)
    released_version = StringField(_l("Released version"), validators=[Optional(), Length(max=64)])
    miniprogram_ids = TextAreaField(_l("Mini-program ids or AppIDs, one a line"), validators=[Optional()])
    canary_count = IntegerField(_l("Canary: first N mini-programs"), default=0, validators=[Optional(), NumberRange(0)])
    canary_percent = IntegerField(_l("Canary: or the first N percent"), default=0, validators=[Optional(), NumberRange(0, 100)])
    auto_submit = BooleanField(_l("Submit for audit after the upload"), default=True)
    auto_release = BooleanField(_l("Release when approved"), default=True)
    gray_percentage = IntegerField(_l("Gray release to this percentage of users (0 = everyone)"), default=0,
                                   validators=[Optional(), NumberRange(0, 100)])
    max_failure_rate = IntegerField(_l("Stop when more than this percentage fail"), default=20,
                                    validators=[Optional(), NumberRange(0, 100)])
    max_concurrency = IntegerField(_l("Mini-programs worked on at once"), default=10,
                                   validators=[DataRequired(), NumberRange(1, 500)])
    privacy_api_not_use = BooleanField(
        _l("The code does not call the location APIs WeChat found undeclared (privacy_api_not_use)"))
    version_desc = TextAreaField(_l("Note for the reviewers (test account etc.)"), validators=[Optional(), Length(max=500)])


class ControlForm(FlaskForm):
    pass
