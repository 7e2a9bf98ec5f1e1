"""Forms of fast registration: what WeChat's fastregisterweapp / fastregisterpersonalweapp need, checked
here first so a typo never costs a call (WeChat's own refusals still come back in words)."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from portal.form_choices import as_choices

# The doc's code types: 「1:统一社会信用代码(18 位) 2:组织机构代码(9 位 xxxxxxxx-x) 3:营业执照注册号(15 位)」.
CODE_TYPES = [("1", _l("Unified social credit code (18 characters)")),
              ("2", _l("Organization code (9 characters, xxxxxxxx-x)")),
              ("3", _l("Business licence number (15 digits)"))]
# GB 32100-2015: 18 characters from digits and capital letters without I, O, S, V, Z.
CODE_SHAPES = {"1": re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}"), "2": re.compile(r"[0-9A-Z]{8}-[0-9X]"),
               "3": re.compile(r"[0-9]{15}")}
WECHAT_ID = Regexp(r"^[A-Za-z][-_A-Za-z0-9]{5,19}$", message=_l("A WeChat ID has 6 to 20 letters, digits, - or _, "
                                                                 "and starts with a letter."))
PHONE = Regexp(r"^[0-9+\- ]{5,20}$", message=_l("Enter a phone number (digits, +, - and spaces)."))


class _TenantChoice:
    """Staff pick the tenant the new mini-program is for; merchants register for their own."""

    tenant_id = SelectField(_l("Tenant"), coerce=int, validators=[Optional()])


class EnterpriseForm(_TenantChoice, FlaskForm):
    name = StringField(_l("Company name (as registered)"), validators=[DataRequired(), Length(max=100)])
    code_type = RadioField(_l("Code type"), choices=as_choices(CODE_TYPES), default="1")
    code = StringField(_l("Company code"), validators=[DataRequired(), Length(max=18)],
                       filters=[lambda v: (v or "").strip().upper()])
    legal_persona_name = StringField(_l("Legal representative's name"), validators=[DataRequired(), Length(max=50)])
    legal_persona_wechat = StringField(_l("Legal representative's WeChat ID"), validators=[DataRequired(), WECHAT_ID])
    component_phone = StringField(_l("Platform contact phone"), validators=[Optional(), PHONE])

    def validate_code(self, field):
        shape = CODE_SHAPES.get(self.code_type.data)
        if shape is not None and not shape.fullmatch(field.data or ""):
            raise ValidationError(_l("This code does not have the form of the chosen code type."))


class PersonalForm(_TenantChoice, FlaskForm):
    idname = StringField(_l("Person's name (as on their bank card in WeChat)"),
                         validators=[DataRequired(), Length(max=50)])
    wxuser = StringField(_l("Person's WeChat ID"), validators=[DataRequired(), WECHAT_ID])
    component_phone = StringField(_l("Platform contact phone"), validators=[Optional(), PHONE])


class ActionForm(FlaskForm):
    """A button that posts: only the CSRF token."""
