"""Forms of the template-library pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.form_choices import as_choices


class AddDraftForm(FlaskForm):
    draft_id = IntegerField(_l("Draft"), validators=[DataRequired(), NumberRange(min=0)])
    template_type = SelectField(_l("Template type"), coerce=int,
                                choices=as_choices([(0, _l("Normal template")), (1, _l("Standard template"))]))


class NotesForm(FlaskForm):
    changelog = TextAreaField(_l("Changelog"), validators=[Optional(), Length(max=20000)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    ext_schema = TextAreaField(_l("ext keys the template expects"), validators=[Optional(), Length(max=20000)])


class ConfirmForm(FlaskForm):
    confirm = HiddenField(default="1")

